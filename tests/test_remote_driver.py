"""The robot driver across a process boundary: `pahf-robot serve-driver` in a subprocess on 127.0.0.1,
reached through RemoteDriver and through raw sockets that misbehave."""

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from envs import wire
from envs.driver import yaw_of
from envs.layout import HAND_OVER, WORKSPACE_HIGH, WORKSPACE_LOW
from envs.remote import RemoteDriver
from envs.safety import SafetyLimits
from envs.tabletop import TabletopEnv
from pahf_robot.act.controller import GraspController
from pahf_robot.bench.scenarios import load_benchmark
from pahf_robot.cli import _config_file_options
from pahf_robot.core.types import Target
from pahf_robot.run.config import RunConfig

ROOT = Path(__file__).resolve().parents[1]
PAHF_ROBOT = str(Path(sys.executable).with_name("pahf-robot"))
IDLE_TIMEOUT = 1.5
SCENE = {"objects": ["mug", "apple", "a book about birds"], "places": ["top shelf", "recycling bin"]}
EPISODES = [  # (seed, target, controller step budget): two successes and a timeout failure
    (3, Target("mug", "top shelf"), 1500),
    (8, Target("apple", HAND_OVER), 1500),
    (5, Target("a book about birds", "recycling bin"), 5),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One driver server for the module, on a free port; yields (port, path of its log)."""
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [PAHF_ROBOT, "serve-driver", "--backend", "pybullet", "--port", "0", "--idle-timeout", str(IDLE_TIMEOUT)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    port = None
    for line in proc.stdout:
        if "serving the pybullet driver on" in line:
            port = int(line.split(":")[-1].split()[0])
            break
    assert port is not None, log_path.read_text()
    yield port, log_path
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0, log_path.read_text()


def connect(port: int, attempts: int = 50) -> RemoteDriver:
    """A client, retrying while the server is still letting go of the previous one."""
    for _ in range(attempts):
        try:
            return RemoteDriver("127.0.0.1", port)
        except ConnectionError as exc:
            if "busy" not in str(exc):
                raise
            time.sleep(0.05)
    raise AssertionError("the server stayed busy")


def run_episodes(env) -> list[tuple]:
    """Camera-perception episodes (the env's default): the scene view and its instance mask cross the link."""
    assert env.perception == "camera"
    results = []
    for seed, target, budget in EPISODES:
        obs, _ = env.reset(seed=seed, options={"scene": SCENE})
        assert obs["object_mask"].sum() == len(SCENE["objects"]), "every object seen through the link"
        outcome = GraspController(max_env_steps=budget).execute(env, target)
        poses = env.driver.body_poses([body for _, _, body in env._objects])
        results.append((outcome.success, outcome.failure, outcome.steps, np.array([p for p, _ in poses])))
    return results


def test_same_seeded_episodes_in_process_and_over_the_wire(server):
    local_env = TabletopEnv()
    local = run_episodes(local_env)
    local_env.close()
    remote_env = TabletopEnv(driver=connect(server[0]))
    remote = run_episodes(remote_env)
    remote_env.close()
    assert [r[:3] for r in local] == [r[:3] for r in remote]
    assert [r[:2] for r in local] == [(True, None), (True, None), (False, "timeout")]
    for (*_, mine), (*_, theirs) in zip(local, remote, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-6)


class RawClient:
    """A socket speaking the wire protocol by hand, so it can also break it."""

    def __init__(self, port: int, greet: bool = True) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = wire.LineBuffer()
        self.lines: list[bytes] = []
        if greet:
            self.send(wire.encode(wire.hello()))
            assert self.receive()["hello"] == wire.MAGIC

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self) -> dict | None:
        """The next frame, or None once the server has closed the connection."""
        while not self.lines:
            data = self.sock.recv(1 << 16)
            if not data:
                return None
            self.lines.extend(self.buffer.feed(data))
        return wire.decode(self.lines.pop(0))

    def ask(self, frame: dict | bytes) -> dict:
        self.send(frame if isinstance(frame, bytes) else json.dumps(frame).encode() + b"\n")
        return self.receive()

    def close(self) -> None:
        self.sock.close()


def error_code(frame: dict) -> str:
    return frame["error"]["code"]


def test_malformed_frames_and_unknown_methods_get_errors_on_a_live_connection(server):
    client = RawClient(server[0])
    assert error_code(client.ask(b"\x00\xffnot json at all\n")) == "parse_error"
    assert error_code(client.ask(b"[1, 2]\n")) == "parse_error"
    assert error_code(client.ask({"method": 42})) == "invalid_request"
    reply = client.ask({"id": 5, "method": 42})
    assert (reply["id"], error_code(reply)) == (5, "invalid_request")
    reply = client.ask({"id": 6, "method": "fly_to_the_moon"})
    assert (reply["id"], error_code(reply)) == (6, "unknown_method")
    assert error_code(client.ask({"id": 7, "method": "step", "params": {"n": 1, "warp": 9}})) == "invalid_params"
    assert error_code(client.ask({"id": 8, "method": "step", "params": {"n": "ten"}})) == "invalid_params"
    assert error_code(client.ask({"id": 9, "method": "remove_body", "params": {"handle": 1}})) == "invalid_params"
    assert error_code(client.ask({"id": 10, "method": "close", "params": []})) == "invalid_request"
    assert client.ask({"id": 11, "method": "ping"}) == {"id": 11, "result": "pong"}
    client.close()


def test_handshake_is_required_and_checked(server):
    client = RawClient(server[0], greet=False)
    assert error_code(client.ask({"id": 1, "method": "ping"})) == "handshake"
    assert client.receive() is None
    client = RawClient(server[0], greet=False)
    assert "version" in client.ask({"hello": wire.MAGIC, "version": 99})["error"]["message"]
    assert client.receive() is None
    client = RawClient(server[0])
    client.send(b"x" * (wire.MAX_FRAME_BYTES + 10))
    assert error_code(client.receive()) == "frame_too_large"
    assert client.receive() is None


def test_unsafe_commands_are_refused_and_the_arm_does_not_move(server):
    driver = connect(server[0])
    assert driver.limits["max_step"] == SafetyLimits().max_step
    driver.reset_robot()
    driver.step(10)
    joints = driver.joint_positions()
    (x, y, z), orientation = driver.ee_pose()
    yaw = yaw_of(orientation)
    bodies = driver.body_count()
    unsafe = [
        ([2.0, y, z], yaw, 0.08),  # outside the workspace
        ([math.nan, y, z], yaw, 0.08),
        ([x, math.inf, z], yaw, 0.08),
        ([x, y, 0.05], yaw, 0.08),  # inside the workspace but 20 cm from the hand
        ([x, y, z], yaw + 2.5, 0.08),  # a yaw jump
        ([x, y, z], math.nan, 0.08),
        ([x, y, z], yaw, 0.2),  # wider than the gripper opens
        ([x, y, z], yaw, -0.01),
    ]
    for position, yaw, width in unsafe:
        with pytest.raises(wire.DriverError) as refused:
            driver.apply_action(position, yaw, width)
        assert refused.value.code == "unsafe_command", (position, yaw, width)
    for ticks in (10**6, -1):
        with pytest.raises(wire.DriverError, match="unsafe_command"):
            driver.step(ticks)
    with pytest.raises(wire.DriverError, match="unsafe_command"):
        driver.spawn_object("mug", [0.4, 0.0, math.nan], 0.0, [1, 0, 0, 1], "mug")
    driver.step(20)
    np.testing.assert_allclose(driver.joint_positions(), joints, atol=1e-3)
    assert driver.body_count() == bodies
    driver.apply_action([x + 0.03, y, z], yaw, 0.08)  # a small step is fine
    driver.step(40)
    assert driver.ee_pose()[0][0] > x + 0.02
    images = driver.camera_image(32, 24, [1.0, 0.0, 0.6], [0.4, 0.0, 0.0], segmentation=True)
    assert images["rgb"].shape == (24, 32, 3) and images["rgb"].dtype == np.uint8
    assert images["depth"].dtype == np.float32 and images["segmentation"].dtype == np.int32
    driver.close()


KILLED_CLIENT = """
import sys
from envs.driver import yaw_of
from envs.remote import RemoteDriver
driver = RemoteDriver("127.0.0.1", int(sys.argv[1]))
driver.reset_robot()
driver.spawn_object("mug", [0.5, 0.3, 0.05], 0.0, [1, 0, 0, 1], "mug")
(x, y, z), orientation = driver.ee_pose()
yaw, goal = yaw_of(orientation), -0.45
for i in range(10**6):  # sweep left and right, always commanding 6 cm ahead of the hand
    (_, hand_y, _), _ = driver.ee_pose()
    if abs(goal - hand_y) < 0.01:
        goal = -goal
    driver.apply_action([x, hand_y + max(-0.06, min(0.06, goal - hand_y)), z], yaw, 0.08)
    driver.step(4)
    if i == 10:
        print("moving", flush=True)
"""


def test_client_killed_mid_motion_stops_the_arm_and_the_next_client_is_served(server):
    port, log_path = server
    probe = connect(port)
    empty_world = probe.body_count()
    probe.close()
    client = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, str(port)], stdout=subprocess.PIPE, text=True)
    assert client.stdout.readline().strip() == "moving"
    time.sleep(0.2)
    client.send_signal(signal.SIGKILL)
    client.wait(timeout=5)

    driver = connect(port)
    assert driver.body_count() == empty_world  # the dead client's mug is gone
    held, _ = driver.ee_pose()
    driver.step(240)
    assert math.dist(driver.ee_pose()[0], held) < 0.005  # commanded 6 cm ahead, yet it stayed
    env = TabletopEnv(driver=driver)
    env.reset(seed=3, options={"scene": SCENE})
    assert GraspController().execute(env, Target("mug", "top shelf")).success
    env.close()
    assert "robot stopped, holding its pose" in log_path.read_text()


def test_silent_client_is_dropped_and_the_next_one_served(server):
    client = RawClient(server[0])
    (x, y, z), orientation = client.ask({"id": 1, "method": "ee_pose"})["result"]
    params = {"position": [x, y, z - 0.02], "yaw": yaw_of(orientation), "gripper_width": 0.08}
    assert "result" in client.ask({"id": 2, "method": "apply_action", "params": params})
    started = time.monotonic()
    assert client.receive() is None  # no heartbeat: the server hangs up
    assert IDLE_TIMEOUT - 0.1 < time.monotonic() - started < IDLE_TIMEOUT + 2
    connect(server[0]).close()


def test_heartbeat_keeps_an_idle_remote_driver_connected(server):
    driver = connect(server[0])
    time.sleep(2 * IDLE_TIMEOUT)  # a planner thinking between episodes
    assert len(driver.joint_positions()) == 7
    driver.close()


def test_one_client_at_a_time(server):
    first = connect(server[0])
    with pytest.raises(ConnectionError, match="busy"):
        RemoteDriver("127.0.0.1", server[0])
    assert first.joint_positions()
    first.close()


def test_no_server_is_a_one_line_error_before_any_episode(tmp_path):
    port = free_port()
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}"):
        RemoteDriver("127.0.0.1", port)
    done = subprocess.run(
        [PAHF_ROBOT, "run", "--config", "launch/remote.yaml", "--driver-port", str(port), "--out", str(tmp_path)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("pahf-robot:")]
    assert done.returncode == 1 and len(errors) == 1 and f"127.0.0.1:{port}" in errors[0], done.stderr
    assert not (tmp_path / "episodes.jsonl").exists() or not (tmp_path / "episodes.jsonl").read_text()


def test_run_over_the_remote_driver_completes(server, tmp_path):
    done = subprocess.run(
        [
            PAHF_ROBOT,
            "run",
            "--config",
            "launch/remote.yaml",
            "--sim",
            "pybullet",
            "--personas",
            "alex",
            "--phases",
            "1",
            "--learning-iter",
            "1",
            "--driver-port",
            str(server[0]),
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["driver"] == "remote" and results["config"]["workers"] == 1
    records = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert len(records) == results["episodes"] > 0
    assert sum(r["execution_success"] for r in records) >= 0.8 * len(records)


def test_remote_driver_needs_one_worker():
    from pahf_robot.cli import main

    assert main(["run", "--config", "launch/remote.yaml", "--workers", "2", "--out", "/nonexistent/x"]) == 1


@pytest.mark.parametrize("name", ["headless", "gui", "remote"])
def test_launch_files_are_valid_run_configs(name, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")  # gui.yaml is checked here, not opened
    options = _config_file_options(str(ROOT / "launch" / f"{name}.yaml"))
    options.pop("out")
    config = RunConfig(**options)
    config.check_usable(load_benchmark(None))
    if name == "remote":
        assert (config.driver, config.driver_host, config.driver_port) == ("remote", "127.0.0.1", 8765)
    if name == "gui":
        assert config.gui and config.modes == ["pahf"] and config.phases == [1] and config.learning_iter == 1


def test_safety_defaults_are_the_env_action_box():
    limits = SafetyLimits()
    assert (limits.workspace_low, limits.workspace_high) == (WORKSPACE_LOW, WORKSPACE_HIGH)
    with pytest.raises(ValueError):
        SafetyLimits(max_step=0)


def test_wire_round_trips_floats_and_arrays_exactly():
    frame = {
        "id": 1,
        "result": {
            "pose": [[0.1 + 0.2, -1e-300, 1 / 3], [0.0, 0.0, 0.0, 1.0]],
            "rgb": np.arange(24, dtype=np.uint8).reshape(2, 4, 3),
            "segmentation": np.array([[-1, 7]], dtype=np.int32),
        },
    }
    buffer = wire.LineBuffer()
    data = wire.encode(frame)
    lines = buffer.feed(data[:10]) + buffer.feed(data[10:])
    back = wire.decode(lines[0])["result"]
    assert back["pose"] == frame["result"]["pose"]
    for key in ("rgb", "segmentation"):
        assert back[key].dtype == frame["result"][key].dtype
        np.testing.assert_array_equal(back[key], frame["result"][key])
    with pytest.raises(wire.ProtocolError, match="JSON object"):
        wire.decode(b"3")


def test_driver_doc_example_implements_the_whole_interface():
    import ast
    import inspect

    from envs.driver import RobotDriver

    text = (ROOT / "docs" / "driver.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    tree = ast.parse(example)
    (cls,) = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    defined = {node.name: node for node in cls.body if isinstance(node, ast.FunctionDef)}
    for name in RobotDriver.__abstractmethods__:
        assert name in defined, name
        wanted = list(inspect.signature(getattr(RobotDriver, name)).parameters)
        assert [a.arg for a in defined[name].args.args] == wanted, name
