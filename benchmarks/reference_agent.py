"""The floor to beat (issue 12): a whole-task nearest-neighbour agent, run through the same four phases,
scenarios and simulated person as `pahf-robot run --sim none`.

As the issue describes it: memory is a list of (task, chosen item) pairs. To act, it takes the `K` remembered
tasks nearest to the new task and scores each option by task similarity plus the option's similarity to
that task's item, keeping the best. In a learning phase it asks when the nearest remembered task is less
similar than `--threshold`, and reads the answer as the option closest to it. After acting it reads the
feedback the same way: closer to another option than to its choice by `CORRECTION_MARGIN` is a correction,
which replaces the notes of similar tasks; anything else is approval and is remembered as such.

Its one parameter, the ask threshold, is given as a grid and every value is reported, so the comparison
can be made against the reference at its best, which is generous to it.

    python benchmarks/reference_agent.py [--scenarios scenarios/heldout] [--human natural] [--embedder minilm]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from memory.embedders import EMBEDDERS
from pahf_robot.agent.reasoning import options_of, target_for
from pahf_robot.bench.scenarios import load_benchmark
from pahf_robot.core.types import Outcome
from pahf_robot.human.rule import SimulatedHuman
from pahf_robot.run.config import LEARNING_PHASES
from pahf_robot.run.protocol import episode_seed, is_preference_correct, passes_for

K = 3
CORRECTION_MARGIN = 0.05
SUPERSEDE_SIMILARITY = 0.8


class NearestTaskAgent:
    def __init__(self, embedder, threshold: float) -> None:
        self.embed, self.threshold = embedder.embed, threshold
        self.tasks: list[np.ndarray] = []
        self.items: list[str] = []

    def closest_option(self, text: str, options: tuple[str, ...]) -> tuple[str, np.ndarray]:
        similarity = self.embed(list(options)) @ self.embed([text])[0]
        return options[int(np.argmax(similarity))], similarity

    def act(self, task: str, options: tuple[str, ...], ask) -> tuple[str, bool]:
        """(the option chosen, whether it asked)."""
        vector = self.embed([task])[0]
        similarity = np.array([t @ vector for t in self.tasks])
        if ask is not None and (not self.tasks or similarity.max() < self.threshold):
            option = self.closest_option(ask(options), options)[0]
            self.remember(vector, option)
            return option, True
        if not self.tasks:
            return self.closest_option(task, options)[0], False
        nearest = np.argsort(-similarity)[:K]
        option_vectors = self.embed(list(options))
        items = self.embed([self.items[n] for n in nearest])
        scores = (similarity[nearest][:, None] + items @ option_vectors.T).max(axis=0)
        return options[int(np.argmax(scores))], False

    def hear(self, task: str, options: tuple[str, ...], chosen: str, asked: bool, feedback: str) -> None:
        vector = self.embed([task])[0]
        best, similarity = self.closest_option(feedback, options)
        if best != chosen and similarity.max() - similarity[options.index(chosen)] > CORRECTION_MARGIN:
            keep = [n for n, t in enumerate(self.tasks) if t @ vector < SUPERSEDE_SIMILARITY]
            self.tasks, self.items = [self.tasks[n] for n in keep], [self.items[n] for n in keep]
            self.remember(vector, best)
        elif not asked:
            self.remember(vector, chosen)

    def remember(self, vector: np.ndarray, item: str) -> None:
        self.tasks.append(vector)
        self.items.append(item)


def run(benchmark, embedder, threshold: float, human_style: str, seed: int) -> dict:
    correct: dict[int, list[bool]] = {phase: [] for phase in (1, 2, 3, 4)}
    questions: dict[int, list[bool]] = {phase: [] for phase in (1, 2, 3, 4)}
    for user in benchmark.users():
        agent = NearestTaskAgent(embedder, threshold)
        for phase in (1, 2, 3, 4):
            learning = phase in LEARNING_PHASES
            for pass_index in range(1, passes_for(phase, 3) + 1):
                for scenario in benchmark.for_user(user, phase):
                    human = SimulatedHuman(
                        benchmark.personas.get(user),
                        seed=episode_seed(seed, user, phase, pass_index, scenario.index),
                        style=human_style,
                    )
                    options = options_of(scenario.view())
                    question = f"Which one: {', '.join(options)}?"

                    def ask(_options, human=human, scenario=scenario, question=question) -> str:
                        return human.answer(scenario, question) or ""

                    option, asked = agent.act(scenario.task, options, ask if learning else None)
                    target = target_for(scenario.view(), option)
                    correct[phase].append(is_preference_correct(scenario, target.object, target.place))
                    questions[phase].append(asked)
                    if learning:
                        feedback = human.feedback(scenario, target, Outcome(success=True)) or ""
                        agent.hear(scenario.task, options, option, asked, feedback)
    return {
        "threshold": threshold,
        "success": {p: round(float(np.mean(v)), 3) for p, v in correct.items()},
        "questions_per_episode": {p: round(float(np.mean(v)), 3) for p, v in questions.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", help="a folder in the PAHF embodied schema (default: the bundled one)")
    parser.add_argument("--human", choices=["natural", "exact"], default="natural", help="the simulated person")
    parser.add_argument("--embedder", choices=sorted(EMBEDDERS), default="minilm", help="sentence embedder")
    parser.add_argument("--thresholds", default="0.5,0.6,0.7,0.8", help="ask thresholds to report, comma separated")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed, as in `pahf-robot run --seed`")
    args = parser.parse_args()
    benchmark = load_benchmark(Path(args.scenarios) if args.scenarios else None)
    embedder = EMBEDDERS[args.embedder](cache_size=1 << 16)
    rows = [run(benchmark, embedder, float(t), args.human, args.seed) for t in args.thresholds.split(",")]
    for row in rows:
        print(json.dumps(row))
    best = max(rows, key=lambda row: row["success"][2] + row["success"][4])
    print(json.dumps({"best_threshold": best["threshold"], "success": best["success"], "human": args.human}))


if __name__ == "__main__":
    main()
