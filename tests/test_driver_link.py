"""The driver link locked and hardened: a shared token (HMAC challenge) beyond loopback, per-client caps, a
`step` that a stop or its deadline cuts short, a reset refused with an object in hand, shape memory given
back, and the edge cases the fuzz found. Real servers on real sockets."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from envs import driver_server, wire
from envs.bullet_driver import PyBulletDriver
from envs.driver import yaw_of
from envs.driver_server import MAX_BODIES, DriverServer
from envs.remote import RemoteDriver
from tests.conftest import small_benchmark
from tests.test_remote_driver import PAHF_ROBOT, ROOT, RawClient, connect, error_code

TOKEN = "correct horse battery staple"


def start_server(*extra: str, env: dict | None = None) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [PAHF_ROBOT, "serve-driver", "--port", "0", "--idle-timeout", "1.5", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    for line in proc.stdout:
        if "serving the pybullet driver on" in line:
            return proc, int(line.split(" on ")[1].split(":")[1].split(";")[0].split()[0])
    raise AssertionError(proc.stderr.read())


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0


@pytest.fixture(scope="module")
def locked(tmp_path_factory):
    """A server that holds a token (from a file), so even loopback clients must answer its challenge."""
    token_file = tmp_path_factory.mktemp("token") / "token"
    token_file.write_text(TOKEN + "\n")
    proc, port = start_server("--token-file", str(token_file))
    yield port
    stop(proc)


@pytest.fixture(scope="module")
def open_server():
    proc, port = start_server("--max-ticks", str(10**7))
    yield proc, port
    if proc.poll() is None:
        stop(proc)


@contextmanager
def serving(driver_factory=PyBulletDriver, **options) -> Iterator[DriverServer]:
    """A DriverServer on a free loopback port, served from a thread, so a test can look inside it."""
    server = DriverServer(driver_factory, port=0, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join()
        server.close()


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PAHF_ROBOT, *args], capture_output=True, text=True, check=False, env=env, timeout=120)


# --- the token ---
def test_serving_beyond_loopback_without_a_token_is_refused_in_one_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAHF_DRIVER_TOKEN")}
    result = cli("serve-driver", "--host", "0.0.0.0", "--port", "0", env=env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr
    assert "0.0.0.0" in lines[0] and "PAHF_DRIVER_TOKEN" in lines[0]
    short = cli("serve-driver", "--host", "0.0.0.0", "--port", "0", env={**env, "PAHF_DRIVER_TOKEN": "short"})
    assert short.returncode == 1 and "at least 16" in short.stderr.strip()
    with pytest.raises(ValueError, match="token"):
        DriverServer(PyBulletDriver, host="0.0.0.0", port=0)


def test_a_client_with_the_token_is_served(locked):
    driver = RemoteDriver("127.0.0.1", locked, token=TOKEN)
    assert len(driver.joint_positions()) == 7 and driver.limits
    driver.close()


def test_a_client_without_the_right_token_gets_one_error_line_and_is_dropped(locked, monkeypatch):
    monkeypatch.delenv(wire.TOKEN_ENV, raising=False)
    monkeypatch.delenv(wire.TOKEN_FILE_ENV, raising=False)
    with pytest.raises(ConnectionError, match="needs a token"):
        RemoteDriver("127.0.0.1", locked)
    with pytest.raises(ConnectionError, match="unauthorized: wrong token"):
        RemoteDriver("127.0.0.1", locked, token="x" * 20)
    monkeypatch.setenv(wire.TOKEN_ENV, TOKEN)  # the environment is where a client finds it by default
    RemoteDriver("127.0.0.1", locked).close()

    for answer in ({"id": 1, "method": "reset_robot"}, {"auth": wire.sign("y" * 20, "whatever")}):
        client = RawClient(locked, greet=False)
        challenge = client.ask(wire.hello())
        assert challenge["auth"] == wire.AUTH_SCHEME and "physics_dt" not in challenge
        reply = client.ask(answer)
        assert error_code(reply) == wire.UNAUTHORIZED
        assert client.receive() is None  # exactly one line, then hung up
    RemoteDriver("127.0.0.1", locked, token=TOKEN).close()  # and the slot is free again


# --- edge cases of the fuzz ---
def test_huge_integers_and_oversized_frames_are_invalid_params_not_internal_errors(open_server):
    client = RawClient(open_server[1])
    huge = b'{"id": 1, "method": "apply_action", "params": {"position": [1' + b"0" * 400
    huge += b', 0, 0.2], "yaw": 0, "gripper_width": 0.08}}\n'
    assert error_code(client.ask(huge)) == "invalid_params"
    frame = {
        "id": 2,
        "method": "camera_image",
        "params": {"width": 2048, "height": 2048, "eye": [1, 0, 1], "target": [0, 0, 0]},
    }
    reply = client.ask(frame)
    assert error_code(reply) == "invalid_params" and "MB" in reply["error"]["message"]
    assert client.ask({"id": 3, "method": "ping"})["result"] == "pong"
    client.close()


def test_bodies_per_client_are_capped(open_server):
    driver = RemoteDriver("127.0.0.1", open_server[1])
    for i in range(MAX_BODIES):
        driver.spawn_object("mug", [0.4 + 0.002 * i, 0.0, 0.05 + 0.1 * i], 0.0, [1, 0, 0, 1], f"mug{i}")
    with pytest.raises(wire.DriverError, match="invalid_params.*the most allowed"):
        driver.spawn_object("mug", [0.4, 0.2, 0.05], 0.0, [1, 0, 0, 1], "one too many")
    driver.close()
    fresh = RemoteDriver("127.0.0.1", open_server[1])  # the next client finds the world empty again
    fresh.spawn_object("mug", [0.4, 0.2, 0.05], 0.0, [1, 0, 0, 1], "mug")
    fresh.close()


def test_a_byte_now_and_then_does_not_hold_the_only_slot(open_server):
    client = RawClient(open_server[1])
    hung_up = threading.Event()

    def trickle():
        for _ in range(400):  # one byte of a never-ending frame every 0.25 s, until the server hangs up
            try:
                client.send(b" ")
            except OSError:
                break
            if hung_up.wait(0.25):
                break

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    assert client.receive() is None  # dropped as silent: partial frames are not heard
    hung_up.set()
    sender.join()
    RemoteDriver("127.0.0.1", open_server[1]).close()


def test_a_reset_with_an_object_in_hand_is_refused_and_nothing_moves(open_server):
    """A reset opens the hand and swings the arm home: with a can held it would drop or drag it."""
    driver = RemoteDriver("127.0.0.1", open_server[1])
    (x, y, z), orientation = driver.ee_pose()
    yaw = yaw_of(orientation)
    top = z - 0.09  # the driver has no table: a pedestal holds the can between the open fingers
    driver.spawn_fixture([{"half_extents": [0.05, 0.05, 0.02], "offset": [0, 0, 0]}], [x, y, top - 0.02], [1] * 4, "p")
    can = driver.spawn_object("can", [x, y, top + 0.058], 0.0, [1, 0, 0, 1], "can")
    driver.step(60)
    driver.apply_action([x, y, z], yaw, 0.0)
    driver.step(180)
    assert driver.touches_robot(can)
    joints, width, (held, _) = driver.joint_positions(), driver.gripper_width(), driver.body_poses([can])[0]
    with pytest.raises(wire.DriverError, match=f"unsafe_command: reset_robot: the robot touches object {can};"):
        driver.reset_robot()
    driver.step(60)
    np.testing.assert_allclose(driver.joint_positions(), joints, atol=1e-3)
    assert abs(driver.gripper_width() - width) < 1e-3 and np.allclose(driver.body_poses([can])[0][0], held, atol=1e-3)
    driver.apply_action([x, y, z], yaw, 0.08)  # let go, and lift the hand clear of the can
    driver.step(120)
    driver.apply_action([x, y, min(z + 0.04, 0.449)], yaw, 0.08)
    driver.step(120)
    assert not driver.touches_robot(can)
    driver.reset_robot()
    driver.close()


def cpu_ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_sigterm_stops_the_server_inside_a_long_step(open_server):
    """Last of the module's open-server tests: it ends that server."""
    proc, port = open_server
    client = RawClient(port)
    idle = cpu_ticks(proc.pid)
    client.send(wire.encode(wire.request(1, "step", {"n": 10**7})))  # about 15 minutes of physics
    while cpu_ticks(proc.pid) < idle + 30:  # state, not time: the server is busy stepping
        threading.Event().wait(0.05)
    proc.send_signal(signal.SIGTERM)
    reply = client.receive()
    assert reply["id"] == 1 and error_code(reply) == "driver_error" and "stopping" in reply["error"]["message"]
    assert proc.wait(timeout=60) == 0


def die(driver: RemoteDriver) -> None:
    """The client process vanishes mid-session: no goodbye, the socket just closes."""
    driver._stop.set()
    driver._sock.close()


def test_a_failed_hold_is_reported_as_failed(caplog):
    with serving() as server:
        driver = RemoteDriver(*server.address)
        (x, y, z), _ = driver.ee_pose()
        driver.apply_action([x, y, z - 0.01], 0.0, 0.08)
        server.driver.driver.close()  # the robot goes away under the server: the hold must fail
        with caplog.at_level(logging.INFO, logger="envs.driver_server"):
            die(driver)
            for _ in range(2000):
                if "hold command failed" in caplog.text or "holding its pose" in caplog.text:
                    break
                threading.Event().wait(0.05)
        assert "hold command failed" in caplog.text and "holding its pose" not in caplog.text


def test_fixture_shapes_of_clients_that_left_are_freed(monkeypatch):
    """Each client builds 40 fixture shapes no one built before (a colour is not a new shape). PyBullet keeps
    a shape as long as its world, so past the budget (here 80) the server rebuilds the driver as the client
    leaves, and the count of cached shapes drops back to the fresh driver's. Some clients say goodbye, some
    die."""
    shapes = 40
    monkeypatch.setattr(driver_server, "MAX_CACHED_SHAPES", 2 * shapes)
    with serving() as server:
        baseline = len(server.driver.driver._fixture_shapes)
        cached = []
        for client in range(6):
            driver = connect(server.address[1])
            cached.append(len(server.driver.driver._fixture_shapes))  # the last client has been let go
            for i in range(shapes):
                box = {"half_extents": [0.01 + 0.001 * i, 0.01 + 0.001 * client, 0.01], "offset": [0.0, 0.0, 0.01]}
                driver.spawn_fixture([box], [0.6, -0.4 + 0.02 * i, 0.0], [0.5, 0.5, 0.5, 1.0], f"box {i}")
            driver.spawn_fixture([box], [0.7, 0.0, 0.0], [1.0, 0.0, 0.0, 1.0], "the last box in red: no new shape")
            if client % 2:
                driver.close()
            else:
                die(driver)
        driver = connect(server.address[1])
        cached.append(len(server.driver.driver._fixture_shapes))
        assert cached == [baseline, baseline + 40, baseline + 80, baseline, baseline + 40, baseline + 80, baseline]
        (x, y, z), orientation = driver.ee_pose()  # the rebuilt robot is served like the first
        driver.apply_action([x, y, z - 0.02], yaw_of(orientation), 0.08)
        driver.step(60)
        assert driver.ee_pose()[0][2] < z - 0.01
        driver.close()


def test_a_driver_that_cannot_be_rebuilt_stops_the_server_with_one_line(monkeypatch):
    monkeypatch.setattr(driver_server, "MAX_CACHED_SHAPES", 0)
    built: list[PyBulletDriver] = []

    def robot_that_goes_away() -> PyBulletDriver:
        if built:
            raise RuntimeError("the arm does not answer")
        built.append(PyBulletDriver())
        return built[0]

    server = DriverServer(robot_that_goes_away, port=0)
    stopped: list[str] = []

    def serve() -> None:
        try:
            server.serve_forever()
        except OSError as exc:
            stopped.append(str(exc))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    driver = RemoteDriver(*server.address)
    driver.spawn_fixture([{"half_extents": [0.02] * 3, "offset": [0.0] * 3}], [0.6, 0.3, 0.02], [1, 1, 1, 1], "box")
    driver.close()
    thread.join(timeout=60)
    server.close()
    assert stopped == ["could not rebuild the driver: RuntimeError: the arm does not answer"]


class ManualClock:
    """The server's clock, moved by the world rather than by time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_step_past_its_deadline_is_cut_short_with_one_error_line_and_the_server_goes_on():
    clock = ManualClock()

    class HeavyWorld(PyBulletDriver):
        """Real physics, but every tick takes a second on the server's clock: too heavy to simulate."""

        def step(self, n: int = 1) -> None:
            super().step(n)
            clock.now += 1.0

    with serving(HeavyWorld, clock=clock) as server:
        client = RawClient(server.address[1])
        reply = client.ask(wire.request(1, "step", {"n": 100}))  # deadline: max(10 s floor, 3 x 100 ticks)
        assert error_code(reply) == "driver_error" and "\n" not in reply["error"]["message"]
        assert "deadline passed after 11 of 100 ticks" in reply["error"]["message"]
        assert client.ask(wire.request(2, "ping", {})) == {"id": 2, "result": "pong"}  # nothing else was sent
        assert client.ask(wire.request(3, "step", {"n": 2})) == {"id": 3, "result": None}
        client.close()
        fresh = RemoteDriver(*server.address)
        assert len(fresh.joint_positions()) == 7
        fresh.close()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))


def test_replay_uses_the_saved_driver(tmp_path):
    """A run over the link replays over the link (the saved host and port), or in-process with --local."""
    bench = small_benchmark(tmp_path / "bench", per_phase=1)
    proc, port = start_server()
    run_dir = tmp_path / "run"
    args = [
        "run",
        "--config",
        str(ROOT / "launch" / "remote.yaml"),
        "--driver-port",
        str(port),
        "--personas",
        "alex",
        "--phases",
        "1",
        "--learning-iter",
        "1",
        "--embedder",
        "hashing",
        "--scenarios",
        str(bench),
    ]
    done = cli(*args, "--no-progress", "--out", str(run_dir))
    assert done.returncode == 0, done.stderr
    again = cli("replay", str(run_dir), "--episode", "0")
    assert again.returncode == 0, again.stderr
    stop(proc)
    assert proc.stderr.read().count("connected") == 2, "the run and then the replay were the server's clients"

    gone = cli("replay", str(run_dir), "--episode", "0")
    assert gone.returncode == 1 and f"127.0.0.1:{port}" in gone.stderr.strip().splitlines()[-1]
    local = cli("replay", str(run_dir), "--episode", "0", "--local")
    assert local.returncode == 0, local.stderr
    assert again.stdout == local.stdout
