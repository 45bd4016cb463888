"""The ceiling of the offline reasoner's reading: test-phase success when memory is perfect.

Memory holds exactly one note per learning-phase task: the task (with its scene) and the option the person
wanted, as if every answer had been heard and grounded right. The reasoner then decides every test-phase
task from it without asking. What it still gets wrong is lost in reading paraphrases (the wrong remembered
situation, or a remembered name mapped to the wrong option), not in learning; each miss is counted under
one of the two by the benchmark's context labels.

    python benchmarks/oracle_memory.py [--scenarios DIR] [--embedder mpnet] [--hub-penalty {none,phase,so-far}]
                                       [--misses]

`--misses` prints each miss on one line: the person, the situation, where it was lost, what was wanted and
chosen, and the closest remembered task's situation and item (last), so a reading idea can be aimed at real losses.

`--hub-penalty` measures a correction the reasoner does not make (yet): some remembered tasks are hubs, close
to many tasks of other situations, and win votes they should not. As in cross-domain similarity local scaling
(CSLS, Conneau et al. 2018), each remembered task's similarity is lowered by its mean similarity to the
`HUB_NEIGHBOURS` tasks of the person, among those said in the test phase, that are closest to it: all of the
phase's tasks ("phase", transductive: the robot would have to know the tasks ahead) or those said so far,
this one included ("so-far", what a robot could do online). With fewer than `HUB_LEAST_HEARD` tasks, none.
"""

from __future__ import annotations

import argparse
import functools
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memory.embedders import EMBEDDERS
from memory.notes import Note
from pahf_robot.agent.offline import OfflineReasoner
from pahf_robot.agent.reasoning import choice_kind, chosen_option
from pahf_robot.agent.situations import SituationMatcher
from pahf_robot.bench.scenarios import load_benchmark


@dataclass
class Ceiling:
    """Test-phase success with a perfect memory, and where each miss was lost, by choice kind: "situation"
    when the closest remembered task belongs to another situation (the benchmark's context label), else
    "name" (the right situation was closest, and its remembered item was not read as the right option)."""

    success: float
    lost: Counter
    misses: list[str]


def perfect_note(reasoner: OfflineReasoner, note_id: int, scenario) -> Note:
    """The note a flawless learner would keep from `scenario`: its task and scene, and the option wanted."""
    view = scenario.view()
    wanted = scenario.target_place if scenario.kind == "place" else scenario.target_object
    situation = reasoner.situation(view)
    return Note(note_id, scenario.user, situation, choice_kind(view), wanted, "", "clarification", 1, 0.0, 0.0)


def perfect_memory(reasoner: OfflineReasoner, scenarios) -> dict[tuple[str, str], list[tuple[object, Note]]]:
    """Each scenario's perfect note (id: its index), by person and kind of choice, beside the scenario."""
    memory = defaultdict(list)
    for i, s in enumerate(scenarios):
        note = perfect_note(reasoner, i, s)
        memory[(s.user, note.kind)].append((s, note))
    return memory


HUB_NEIGHBOURS = 3
HUB_LEAST_HEARD = 6


class HubCorrected(SituationMatcher):
    """Situation similarities less each remembered task's hub score, from the tasks `heard` (see the module)."""

    def __init__(self, matcher: SituationMatcher):
        super().__init__(matcher.embedder, matcher.scene_weight)
        self.heard: list[str] = []

    def similarities(self, situation, remembered):
        scores = super().similarities(situation, remembered)
        if len(self.heard) < HUB_LEAST_HEARD or not len(remembered):
            return scores
        return (scores - self._hub(tuple(self.heard), tuple(remembered))).astype(np.float32)

    @functools.lru_cache(maxsize=64)  # noqa: B019 (one matcher per ceiling; the cache dies with it)
    def _hub(self, heard: tuple[str, ...], remembered: tuple[str, ...]) -> np.ndarray:
        scores = np.array([SituationMatcher.similarities(self, task, remembered) for task in heard])
        return np.sort(scores, axis=0)[-HUB_NEIGHBOURS:].mean(axis=0)


def ceiling(benchmark, reasoner: OfflineReasoner, learning_phase: int, hub_penalty: str = "none") -> Ceiling:
    """Success on the test phase after `learning_phase` with a memory of that phase's ground truth."""
    memory = perfect_memory(reasoner, benchmark.scenarios[learning_phase])
    notes = {key: [(note, 1.0) for _, note in pairs] for key, pairs in memory.items()}
    contexts = {note.id: s.context for pairs in memory.values() for s, note in pairs}
    tests = benchmark.scenarios[learning_phase + 1]
    said = defaultdict(list)  # each person's test tasks by kind of choice, in the order they are said
    for s in tests:
        said[(s.user, choice_kind(s.view()))].append(reasoner.situation(s.view()))
    heard_so_far = Counter()
    plain, corrected = reasoner.situations, HubCorrected(reasoner.situations)
    if hub_penalty != "none":
        reasoner.situations = corrected
    right, lost, misses = 0, Counter(), []
    for s in tests:
        view = s.view()
        key = (s.user, choice_kind(view))
        remembered = notes.get(key, [])
        heard_so_far[key] += 1
        corrected.heard = said[key] if hub_penalty == "phase" else said[key][: heard_so_far[key]]
        decision = reasoner.decide(view, remembered, may_ask=False)
        if decision.target == s.target():
            right += 1
            continue
        similarities = reasoner.situations.similarities(reasoner.situation(view), [n.situation for n, _ in remembered])
        closest = remembered[int(np.argmax(similarities))][0] if remembered else None
        cause = "name" if closest is not None and contexts[closest.id] == s.context else "situation"
        lost[f"{choice_kind(view)} {cause}"] += 1
        wanted, chosen = chosen_option(view, s.target()), chosen_option(view, decision.target)
        recalled = f"{contexts[closest.id]} {closest.value!r}" if closest is not None else "nothing"
        misses.append(f"{s.user} {s.context} {key[1]} {cause}: wanted {wanted!r}, chose {chosen!r}; {recalled}")
    reasoner.situations = plain
    return Ceiling(right / len(tests), lost, misses)


def report(phase: int, result: Ceiling) -> str:
    lost = ", ".join(f"{key} {count}" for key, count in sorted(result.lost.items()))
    return f"phase {phase + 1} with a perfect phase-{phase} memory: {result.success:.3f} (misses: {lost or 'none'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", help="PAHF folder (default: the bundled benchmark)")
    parser.add_argument("--embedder", default="mpnet", choices=sorted(EMBEDDERS), help="sentence embedder")
    parser.add_argument(
        "--hub-penalty",
        default="none",
        choices=("none", "phase", "so-far"),
        help="lower hub tasks' similarity, from the whole test phase's tasks or those said so far (see above)",
    )
    parser.add_argument("--misses", action="store_true", help="print every miss, one line each")
    args = parser.parse_args()
    benchmark = load_benchmark(Path(args.scenarios) if args.scenarios else None)
    reasoner = OfflineReasoner(EMBEDDERS[args.embedder](cache_size=1 << 16))
    for learning_phase in (1, 3):
        result = ceiling(benchmark, reasoner, learning_phase, args.hub_penalty)
        print(report(learning_phase, result))
        if args.misses:
            print("\n".join(f"  {line}" for line in result.misses))


if __name__ == "__main__":
    main()
