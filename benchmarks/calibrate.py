"""Fit the offline reasoner's thresholds on phase-1 learning data only, and print the evidence.

Runs the PAHF loop over phase 1 of a benchmark (the bundled one by default) with a person who always
answers, asking on every episode so that every decision the reasoner *would* have acted on is scored:
the closest remembered task, the vote margin, and whether the guess was right. It then prints, for a grid
of (ask_below, min_margin), how often the robot would act and how often it would be right when it does,
and picks the pair that asks least while acting right at least `--precision` of the time.
It also scores how the person's first answers are grounded (right / wrong / followed up) for a grid of
description floors and margins, and picks the pair with the least 2 x wrong + followed up: a wrongly grounded
answer costs a wrong act and a correction later, a follow-up costs one question now.
It fits the task temperature (how fast a remembered task's vote fades) by leave-one-out over phase 1: each
task is decided from a perfect memory of the person's other phase-1 tasks worded differently, so what is
scored is reading a rewording, which is what the test phases ask.
Only phase-1 scenarios are used: no test phase, no held-out data.

    python benchmarks/calibrate.py [--scenarios DIR] [--precision 0.95] [--human natural]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from oracle_memory import perfect_memory

from memory.embedders import EMBEDDERS
from memory.store import MemoryStore
from pahf_robot.agent.grounding import Grounder, clauses_of
from pahf_robot.agent.offline import OfflineReasoner, OfflineSettings
from pahf_robot.agent.planner import MODES, Planner
from pahf_robot.agent.reasoning import choice_kind, options_of
from pahf_robot.agent.situations import SituationMatcher, situation_key
from pahf_robot.bench.scenarios import load_benchmark
from pahf_robot.core.types import Outcome
from pahf_robot.human.rule import SimulatedHuman


class Recording(OfflineReasoner):
    """Asks every time, and keeps what it would have decided without asking."""

    def __init__(self, embedder):
        super().__init__(embedder, OfflineSettings(ask_below=2.0))
        self.seen: list[dict] = []

    def decide(self, view, notes, may_ask):
        seen = self.evidence(view, notes)
        decision = super().decide(view, notes, may_ask)
        voted = bool(seen.votes.max() > 0)
        self.seen.append({"closest": seen.closest, "margin": seen.margin, "voted": voted, "target": decision.target})
        return decision


SCENE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
TASK_TEMPERATURES = (0.01, 0.02, 0.03, 0.05, 0.08)


def decisions(benchmark, embedder, passes: int, human_style: str) -> list[dict]:
    reasoner = Recording(embedder)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, MemoryStore(Path(tmp) / "m.db", embedder) as store:
        planner = Planner(reasoner, store, MODES["pahf"])
        for user in benchmark.users():
            for pass_index in range(1, passes + 1):
                for s in benchmark.for_user(user, 1):
                    human = SimulatedHuman(
                        benchmark.personas.get(user), seed=s.index * 7 + pass_index, style=human_style
                    )
                    planner.run(
                        s.view(),
                        ask_human=lambda q, s=s, h=human: h.answer(s, q),
                        execute=lambda target: Outcome(True),
                        give_feedback=lambda target, outcome, s=s, h=human: h.feedback(s, target, outcome),
                    )
                    seen = reasoner.seen[-1]
                    rows.append(seen | {"right": seen["voted"] and seen["target"] == s.target(), "pass": pass_index})
    return rows


def fit_act(rows: list[dict], precision: float) -> tuple[dict, list[dict]]:
    table = []
    for ask_below in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        for min_margin in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
            acted = [r for r in rows if r["voted"] and r["closest"] >= ask_below and r["margin"] >= min_margin]
            right = sum(r["right"] for r in acted)
            table.append(
                {
                    "ask_below": ask_below,
                    "min_margin": min_margin,
                    "act_rate": round(len(acted) / len(rows), 3),
                    "act_precision": round(right / len(acted), 3) if acted else None,
                }
            )
    good = [t for t in table if t["act_precision"] is not None and t["act_precision"] >= precision]
    best = max(good, key=lambda t: (t["act_rate"], -t["ask_below"], -t["min_margin"]))
    return best, table


def fit_answers(benchmark, embedder, human_style: str) -> list[dict]:
    """Ground the person's first answer to every phase-1 scenario for several description margins."""
    answers = []
    for s in benchmark.scenarios[1]:
        human = SimulatedHuman(benchmark.personas.get(s.user), seed=s.index, style=human_style)
        wanted = s.target_place if s.kind == "place" else s.target_object
        answers.append((clauses_of(human.answer(s, "Which one?")), options_of(s.view()), wanted))
    table = []
    for floor in (0.15, 0.25, 0.35):
        for margin in (0.02, 0.04, 0.06, 0.08, 0.12):
            grounder = Grounder(embedder, floor, margin)
            right = wrong = unclear = 0
            for clauses, options, wanted in answers:
                meant = grounder.refer(clauses, options).options
                right += meant == (wanted,)
                wrong += len(meant) == 1 and meant != (wanted,) or wanted not in meant and len(meant) > 1
                unclear += len(meant) > 1 and wanted in meant
            n = len(answers)
            table.append(
                {
                    "floor": floor,
                    "margin": margin,
                    "right": round(right / n, 3),
                    "wrong": round(wrong / n, 3),
                    "followed_up": round(unclear / n, 3),
                }
            )
    return table


def fit_scene_weight(benchmark, embedder) -> tuple[float, dict]:
    """Leave-one-out situation retrieval over each person's phase-1 tasks, for a grid of scene weights: is
    the closest other task (another wording) one of the same situation? Picks the smallest weight within
    one point of the best, so the scene counts no more than the evidence asks for."""
    scores = {}
    for weight in SCENE_WEIGHTS:
        matcher = SituationMatcher(embedder, scene_weight=weight)
        right = total = 0
        for user in benchmark.users():
            for kind in ("bring", "place"):
                tasks = [s for s in benchmark.for_user(user, 1) if s.kind == kind]
                keys = [situation_key(s.task, (*s.objects, *s.places)) for s in tasks]
                for i, s in enumerate(tasks):
                    others = [j for j, o in enumerate(tasks) if o.task != s.task]
                    if not any(tasks[j].context == s.context for j in others):
                        continue
                    nearest = others[int(np.argmax(matcher.similarities(keys[i], [keys[j] for j in others])))]
                    right += tasks[nearest].context == s.context
                    total += 1
        scores[weight] = round(right / total, 3)
    best = max(scores.values())
    return min(w for w, score in scores.items() if score >= best - 0.01), scores


def fit_task_temperature(benchmark, embedder) -> tuple[float, dict]:
    """Leave-one-out over phase 1: how often each task's decision is right when memory holds exactly the
    person's other phase-1 tasks that are worded differently. Picks the best temperature, the lower on a tie."""
    scores = {}
    memory = perfect_memory(OfflineReasoner(embedder), benchmark.scenarios[1])  # notes need no temperature
    for temperature in TASK_TEMPERATURES:
        reasoner = OfflineReasoner(embedder, OfflineSettings(task_temperature=temperature))
        right = total = 0
        for s in benchmark.scenarios[1]:
            view = s.view()
            others = [(note, 1.0) for o, note in memory[(s.user, choice_kind(view))] if o.task != s.task]
            if others:
                right += reasoner.decide(view, others, may_ask=False).target == s.target()
                total += 1
        scores[temperature] = round(right / total, 3)
    return max(scores, key=lambda t: (scores[t], -t)), scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", help="PAHF folder (default: the bundled benchmark); only phase 1 is read")
    parser.add_argument("--passes", type=int, default=3, help="passes over phase 1 (default: 3)")
    parser.add_argument("--precision", type=float, default=0.95, help="least share of right acts (default: 0.95)")
    parser.add_argument("--human", default="natural", choices=["natural", "exact"], help="how the person talks")
    parser.add_argument("--embedder", default="mpnet", choices=sorted(EMBEDDERS), help="sentence embedder")
    args = parser.parse_args()
    benchmark = load_benchmark(Path(args.scenarios) if args.scenarios else None)
    embedder = EMBEDDERS[args.embedder](cache_size=1 << 16)
    scene_weight, scene_scores = fit_scene_weight(benchmark, embedder)
    task_temperature, temperature_scores = fit_task_temperature(benchmark, embedder)
    rows = decisions(benchmark, embedder, args.passes, args.human)
    best, table = fit_act(rows, args.precision)
    first = [r for r in rows if r["pass"] == 1]
    answers = fit_answers(benchmark, embedder, args.human)
    summary = {
        "episodes": len(rows),
        "pass1_guess_accuracy": round(sum(r["right"] for r in first) / len(first), 3),
        "scene_weight": scene_weight,
        "situation_retrieval_by_scene_weight": scene_scores,
        "task_temperature": task_temperature,
        "leave_one_out_accuracy_by_task_temperature": temperature_scores,
        "act_thresholds": best,
        "answer_thresholds": min(answers, key=lambda a: (2 * a["wrong"] + a["followed_up"], a["wrong"])),
        "answers": answers,
    }
    for t in table:
        print(json.dumps(t))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
