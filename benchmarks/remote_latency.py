"""Cost of the remote driver link: per-command round trips on loopback, and grasp episodes in-process vs remote.

    python benchmarks/remote_latency.py --episodes 40 --calls 2000 --seed 11

Starts `pahf-robot serve-driver` in a subprocess on 127.0.0.1, so client and server are separate
processes as in real use. Prints one JSON object as the last line of stdout: p50/p99 round-trip
microseconds per command (the in-process call time beside it), episodes per second in-process and over
the link on the same seeded grasp-benchmark episodes, the slowdown, and whether every outcome matched.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from grasp import episodes  # the grasp benchmark's scenes, from this folder

from envs.driver import RobotDriver, make_driver, yaw_of
from envs.remote import RemoteDriver
from envs.tabletop import TabletopEnv
from pahf_robot.act.controller import GraspController

log = logging.getLogger("benchmarks.remote_latency")

SCENE = {"objects": ["mug", "apple", "a book about birds", "cookies"], "places": ["top shelf", "recycling bin"]}


def start_server() -> tuple[subprocess.Popen, int]:
    """`pahf-robot serve-driver --port 0` and the port it picked."""
    command = [str(Path(sys.executable).with_name("pahf-robot")), "serve-driver", "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in server.stdout:
        if "serving the pybullet driver on" in line:
            return server, int(line.split(":")[-1].split()[0])
    raise RuntimeError("the driver server did not start")


def command_times(driver: RobotDriver, calls: int) -> dict[str, list[float]]:
    """Seconds per call of the commands an env step makes, on a laid-out scene."""
    env = TabletopEnv(driver=driver)
    env.reset(seed=0, options={"scene": SCENE})
    bodies = [body for _, _, body in env._objects]
    (x, y, z), orientation = driver.ee_pose()
    yaw = yaw_of(orientation)
    commands = {
        "ee_pose": lambda i: driver.ee_pose(),
        "joint_positions": lambda i: driver.joint_positions(),
        "body_poses": lambda i: driver.body_poses(bodies),
        "apply_action": lambda i: driver.apply_action([x, y + 0.01 * (i % 2), z], yaw, 0.08),
        "step_4": lambda i: driver.step(4),
    }
    if isinstance(driver, RemoteDriver):
        commands["ping"] = lambda i: driver.call("ping")
    times: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(calls):
        for name, command in commands.items():
            start = time.perf_counter()
            command(i)
            times[name].append(time.perf_counter() - start)
    env.close()
    return times


def run_episodes(env: TabletopEnv, count: int, seed: int) -> tuple[float, list[tuple]]:
    """Episodes per second (after one warm-up episode) and each episode's outcome."""
    controller = GraspController()
    plan = list(episodes(count + 1, np.random.default_rng(seed)))
    outcomes, start = [], None
    for i, (_, scene, target, episode_seed) in enumerate(plan):
        if i == 1:
            start = time.perf_counter()
        env.reset(seed=episode_seed, options={"scene": scene})
        outcome = controller.execute(env, target)
        poses = env.driver.body_poses([body for _, _, body in env._objects])
        outcomes.append((outcome.success, outcome.failure, outcome.steps, [p for p, _ in poses]))
    return count / (time.perf_counter() - start), outcomes[1:]


def percentiles(seconds: list[float]) -> dict[str, float]:
    micro = np.array(seconds) * 1e6
    return {"p50": round(float(np.percentile(micro, 50)), 1), "p99": round(float(np.percentile(micro, 99)), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=40, help="seeded grasp episodes per side (default: 40)")
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per command (default: 2000)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the episode list (default: 11)")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.calls < 1:
        parser.error("--episodes and --calls must be at least 1")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    server, port = start_server()
    try:
        local_times = command_times(make_driver("pybullet"), args.calls)
        remote_times = command_times(RemoteDriver("127.0.0.1", port), args.calls)
        local_env = TabletopEnv()
        local_rate, local_outcomes = run_episodes(local_env, args.episodes, args.seed)
        local_env.close()
        remote_env = TabletopEnv(driver=RemoteDriver("127.0.0.1", port))
        remote_rate, remote_outcomes = run_episodes(remote_env, args.episodes, args.seed)
        remote_env.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=10)

    same = sum(
        mine[:3] == theirs[:3] and np.allclose(mine[3], theirs[3], atol=1e-6)
        for mine, theirs in zip(local_outcomes, remote_outcomes, strict=True)
    )
    figures = {
        "transport": "JSON lines over TCP, 127.0.0.1, server in a separate process",
        "round_trip_us": {name: percentiles(seconds) for name, seconds in remote_times.items()},
        "in_process_us": {name: percentiles(seconds) for name, seconds in local_times.items()},
        "episodes": args.episodes,
        "seed": args.seed,
        "episodes_per_second_in_process": round(local_rate, 2),
        "episodes_per_second_remote": round(remote_rate, 2),
        "slowdown": round(local_rate / remote_rate, 2),
        "same_outcome_episodes": int(same),
        "success_rate": round(sum(o[0] for o in remote_outcomes) / args.episodes, 3),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
