"""Grasp benchmark: randomized bring-me (hand-over) and place episodes over every asset kind.

    python benchmarks/grasp.py --episodes 500 --seed 5 --perception camera --randomize

Prints one JSON object as the last line of stdout: success rate (at most one retry), failures by kind,
retries per episode, perceived-vs-true position error at grasp time (the view the first grasp is planned
from) and size error, physics steps and simulated seconds per episode (reset settling included) and
episodes per second on this machine. Randomized scenes (the default) vary positions, yaw, size, mass and
friction (envs.tabletop.TabletopEnv's `randomize`).
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import math
import statistics
import sys
import time

import gymnasium
import numpy as np

import envs  # noqa: F401  (registers pahf/Tabletop-v0)
from envs.assets import asset_for, asset_kinds
from envs.layout import HAND_OVER
from pahf_robot.act.controller import GraspController
from pahf_robot.core.types import Target

log = logging.getLogger("benchmarks.grasp")

OBJECT_NAMES = [
    "herbal tea",
    "black coffee",
    "chamomile infusion",
    "ice-cold water with ice",
    "orange juice",
    "energy drink",
    "sparkling water",
    "cold beer",
    "a bottle of olive oil",
    "sunscreen",
    "milk",
    "oat milk carton",
    "phone charger",
    "tea bags box",
    "a bowl of soup",
    "cereal",
    "leftover pizza",
    "cookies",
    "walnuts",
    "chips",
    "a book about birds",
    "cookbook",
    "apple",
    "orange",
    "vitamins",
    "honey",
    "peanut butter",
    "coffee mug",
]
PLACE_NAMES = [
    "top shelf",
    "middle shelf",
    "bottom shelf",
    "recycling bin",
    "kitchen cabinet",
    "drawer",
    "left side of the counter",
    "fridge door shelf",
]
BRING_ME_SHARE = 0.6
"""About the share of "bring me X" tasks in the PAHF embodied benchmark."""


def episodes(count: int, rng: np.random.Generator):
    """Scenes and targets: the target's kind cycles through every asset kind."""
    by_kind = collections.defaultdict(list)
    for name in OBJECT_NAMES:
        by_kind[asset_for(name)].append(name)
    kinds = [kind for kind in asset_kinds() if by_kind[kind]]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        target = str(rng.choice(by_kind[kind]))
        others = [n for n in OBJECT_NAMES if n != target]
        distractors = [str(n) for n in rng.choice(others, size=int(rng.integers(0, 6)), replace=False)]
        places = [str(p) for p in rng.choice(PLACE_NAMES, size=int(rng.integers(0, 5)), replace=False)]
        place = HAND_OVER if not places or rng.random() < BRING_ME_SHARE else str(rng.choice(places))
        scene = {"objects": [target, *distractors], "places": places}
        yield kind, scene, Target(target, place), int(rng.integers(2**31))


def perception_errors(obs: dict, info: dict, env) -> tuple[float, float]:
    """Position error (mm) and mean size error (%) of the target as perceived against the simulator's
    truth: the benchmark scores the perception, it does not feed the controller."""
    slot = info["objects"][info["target"]["object"]]
    centre, size = env.true_objects()[info["target"]["object"]]
    if not obs["object_mask"][slot]:
        return math.inf, 100.0
    position = obs["object_pose"][slot][:3]
    seen = np.sort(obs["object_size"][slot][:2])
    truth = np.sort(size[:2])
    relative = np.abs(np.append(seen, obs["object_size"][slot][2]) - np.append(truth, size[2])) / np.append(
        truth, size[2]
    )
    return float(np.linalg.norm(position[:2] - centre[:2]) * 1000), float(100 * relative.mean())


def spread(values: list[float], digits: int = 2) -> dict:
    return {"median": round(statistics.median(values), digits), "p95": round(float(np.percentile(values, 95)), digits)}


def run(count: int, seed: int, perception: str = "camera", randomize: bool = True) -> dict:
    env = gymnasium.make("pahf/Tabletop-v0", perception=perception, randomize=randomize)
    controller = GraspController()
    rng = np.random.default_rng(seed)
    failures: collections.Counter[str] = collections.Counter()
    per_kind: dict[str, list[bool]] = collections.defaultdict(list)
    steps, errors, size_errors, successes, bring_me, retries = [], [], [], 0, 0, 0
    dt = env.unwrapped.driver.physics_dt
    start = time.perf_counter()
    for i, (kind, scene, target, episode_seed) in enumerate(episodes(count, rng)):
        obs, info = env.reset(
            seed=episode_seed, options={"scene": scene, "target": {"object": target.object, "place": target.place}}
        )
        error, size_error = perception_errors(obs, info, env.unwrapped)
        errors.append(error)
        size_errors.append(size_error)
        outcome = controller.execute(env, target)
        steps.append(info["physics_steps"] + outcome.steps)
        successes += outcome.success
        retries += outcome.retries
        bring_me += target.place == HAND_OVER
        per_kind[kind].append(outcome.success)
        if not outcome.success:
            failures[outcome.failure] += 1
            log.info(
                "episode %d: %s -> %s: %s (seed %d)", i, target.object, target.place, outcome.failure, episode_seed
            )
    elapsed = time.perf_counter() - start
    env.close()
    return {
        "episodes": count,
        "seed": seed,
        "perception": perception,
        "randomize": randomize,
        "success_rate": successes / count,
        "failures": dict(failures),
        "retries_per_episode": round(retries / count, 4),
        "position_error_mm": spread(errors),
        "size_error_pct": spread(size_errors),
        "sim_seconds_per_episode": spread([n * dt for n in steps]),
        "median_steps_per_episode": statistics.median(steps),
        "mean_steps_per_episode": round(statistics.fmean(steps), 1),
        "p95_steps_per_episode": float(np.percentile(steps, 95)),
        "episodes_per_second": round(count / elapsed, 2),
        "bring_me_episodes": bring_me,
        "place_episodes": count - bring_me,
        "success_by_kind": {kind: round(sum(ok) / len(ok), 3) for kind, ok in sorted(per_kind.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--perception", choices=["camera", "tracker"], default="camera")
    parser.add_argument(
        "--randomize", action=argparse.BooleanOptionalAction, default=True, help="vary the scenes (default: on)"
    )
    parser.add_argument("--verbose", action="store_true", help="log each failed episode to stderr")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    print(json.dumps(run(args.episodes, args.seed, args.perception, args.randomize)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
