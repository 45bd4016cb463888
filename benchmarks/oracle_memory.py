"""The ceiling of the offline reasoner's reading: test-phase success when memory is perfect.

Memory holds exactly one note per learning-phase task: the task (with its scene) and the option the person
wanted, as if every answer had been heard and grounded right. The reasoner then decides every test-phase
task from it without asking. What it still gets wrong is lost in reading paraphrases (the wrong remembered
situation, or a remembered name mapped to the wrong option), not in learning.

    python benchmarks/oracle_memory.py [--scenarios DIR] [--embedder mpnet]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from memory.embedders import EMBEDDERS
from memory.notes import Note
from pahf_robot.agent.offline import OfflineReasoner
from pahf_robot.agent.reasoning import choice_kind
from pahf_robot.bench.scenarios import load_benchmark


def ceiling(benchmark, reasoner: OfflineReasoner, learning_phase: int) -> float:
    """Success on the test phase after `learning_phase` with a memory of that phase's ground truth."""
    notes = defaultdict(list)
    for i, s in enumerate(benchmark.scenarios[learning_phase]):
        view, wanted = s.view(), s.target_place if s.kind == "place" else s.target_object
        note = Note(i, s.user, reasoner.situation(view), choice_kind(view), wanted, "", "clarification", 1, 0.0, 0.0)
        notes[(s.user, note.kind)].append((note, 1.0))
    tests = benchmark.scenarios[learning_phase + 1]
    right = 0
    for s in tests:
        view = s.view()
        right += reasoner.decide(view, notes[(s.user, choice_kind(view))], may_ask=False).target == s.target()
    return right / len(tests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", help="PAHF folder (default: the bundled benchmark)")
    parser.add_argument("--embedder", default="mpnet", choices=sorted(EMBEDDERS), help="sentence embedder")
    args = parser.parse_args()
    benchmark = load_benchmark(Path(args.scenarios) if args.scenarios else None)
    reasoner = OfflineReasoner(EMBEDDERS[args.embedder](cache_size=1 << 16))
    print(f"phase 2 with a perfect phase-1 memory: {ceiling(benchmark, reasoner, 1):.3f}")
    print(f"phase 4 with a perfect phase-3 memory: {ceiling(benchmark, reasoner, 3):.3f}")


if __name__ == "__main__":
    main()
