"""Grasp benchmark: randomized bring-me (hand-over) and place episodes over every asset kind.

    python benchmarks/grasp.py --episodes 200 --seed 11

Prints one JSON object as the last line of stdout: success rate, failures by kind, physics steps
per episode (reset settling included) and episodes per second on this machine.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
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


def run(count: int, seed: int) -> dict:
    env = gymnasium.make("pahf/Tabletop-v0")
    controller = GraspController()
    rng = np.random.default_rng(seed)
    failures: collections.Counter[str] = collections.Counter()
    per_kind: dict[str, list[bool]] = collections.defaultdict(list)
    steps, successes, bring_me = [], 0, 0
    start = time.perf_counter()
    for i, (kind, scene, target, episode_seed) in enumerate(episodes(count, rng)):
        _, info = env.reset(
            seed=episode_seed, options={"scene": scene, "target": {"object": target.object, "place": target.place}}
        )
        outcome = controller.execute(env, target)
        steps.append(info["physics_steps"] + outcome.steps)
        successes += outcome.success
        bring_me += target.place == HAND_OVER
        per_kind[kind].append(outcome.success)
        if not outcome.success:
            failures[outcome.failure] += 1
            log.info("episode %d: %s -> %s: %s", i, target.object, target.place, outcome.failure)
    elapsed = time.perf_counter() - start
    env.close()
    return {
        "episodes": count,
        "seed": seed,
        "success_rate": successes / count,
        "failures": dict(failures),
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
    parser.add_argument("--verbose", action="store_true", help="log each failed episode to stderr")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    print(json.dumps(run(args.episodes, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
