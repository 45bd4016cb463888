"""The four-phase PAHF protocol: per user, learn (1), test (2), persona shifts and learn again (3), test (4).

Memory carries across phases; feedback and questions are only available in the learning phases, which
are repeated `learning_iter` times. Every episode becomes one EpisodeRecord.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from memory.embedders import Embedder
from memory.notes import normalise
from memory.paths import mode_database, run_database
from memory.store import MemoryStore
from pahf_robot.act.executors import Executor
from pahf_robot.agent.planner import MODES, Planner, Turn
from pahf_robot.agent.reasoning import Reasoner
from pahf_robot.bench.personas import Persona
from pahf_robot.bench.scenarios import Benchmark, Scenario
from pahf_robot.core.types import Outcome, Target
from pahf_robot.human.rule import SimulatedHuman
from pahf_robot.run.config import LEARNING_PHASES, RunConfig
from pahf_robot.run.records import EpisodeKey, EpisodeRecord, note_memory_written

log = logging.getLogger(__name__)


class EpisodeParts(Protocol):
    """What the protocol needs from whoever wired the run (`pahf_robot.run.worker.Worker`)."""

    config: RunConfig
    benchmark: Benchmark
    embedder: Embedder
    reasoner: Reasoner
    executor: Executor

    def person(self, persona: Persona | None, seed: int) -> SimulatedHuman:
        """The simulated person of one episode."""


def _seed_of(*parts: object) -> int:
    """A 32-bit seed from its parts, the same in every process (unlike `hash()`)."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=4)
    return int.from_bytes(digest.digest(), "big")


def episode_seed(seed: int, user: str, phase: int, pass_index: int, index: int) -> int:
    """The person's seed per episode, the same in every mode so that baselines face identical people; it
    changes with the pass, so a person words the same request differently when it comes again."""
    return _seed_of(seed, user, phase, pass_index, index)


def scene_seed(seed: int, user: str, phase: int, index: int) -> int:
    """The table's seed per scenario, the same in every mode and every learning pass: a scenario is one
    situation in one room, so when it comes again the objects stand where they stood. Together with the
    mode-independence this is what lets a run simulate each distinct rollout once (`pahf_robot.act.rollouts`)."""
    return _seed_of(seed, user, phase, "scene", index)


def episode_name(mode: str, user: str, phase: int, pass_index: int, index: int) -> str:
    """File-name-safe name of an episode for its video, e.g. pahf_alex_p1_pass2_7."""
    safe = re.sub(r"[^A-Za-z0-9-]+", "-", user).strip("-") or "user"
    return f"{mode}_{safe}_p{phase}_pass{pass_index}_{index}"


def memory_path(run_dir: Path, config: RunConfig, mode: str) -> Path:
    """One database per mode, so baselines never read each other's notes under the same user id
    (`memory.paths` holds the rule, shared with `pahf-robot memory --db`)."""
    if config.memory_db:
        return mode_database(Path(config.memory_db), mode)
    return run_database(run_dir, mode)


def uses_memory(mode: str) -> bool:
    channels = MODES[mode]
    return bool(channels.read or channels.remember_answers or channels.learn_from_feedback)


def passes_for(phase: int, learning_iter: int) -> int:
    return learning_iter if phase in LEARNING_PHASES else 1


def count_episodes(config: RunConfig, benchmark: Benchmark, users: list[str]) -> int:
    per_mode = sum(
        len(benchmark.for_user(user, phase)) * passes_for(phase, config.learning_iter)
        for user in users
        for phase in config.phases
    )
    return per_mode * len(config.modes)


def is_preference_correct(scenario: Scenario, object_name: str, place: str) -> bool:
    return normalise(object_name) == normalise(scenario.target_object) and normalise(place) == normalise(
        scenario.target_place
    )


def run_user(
    mode: str,
    user: str,
    parts: EpisodeParts,
    run_dir: Path,
    done: set[EpisodeKey],
    on_record: Callable[[EpisodeRecord], None],
) -> None:
    """All phases of one user in one mode, skipping episodes already recorded (for `--resume`)."""
    config, benchmark, reasoner = parts.config, parts.benchmark, parts.reasoner
    story = parts.executor.observer
    channels = MODES[mode]
    store = None
    if uses_memory(mode):
        path = memory_path(run_dir, config, mode)
        path.parent.mkdir(parents=True, exist_ok=True)
        store = MemoryStore(path, parts.embedder)
    planner = Planner(reasoner, store, channels)
    persona = benchmark.personas.get(user)
    reasoner.prepare([s.view() for phase in config.phases for s in benchmark.for_user(user, phase)])
    try:
        for phase in config.phases:
            interactive = phase in LEARNING_PHASES
            for pass_index in range(1, passes_for(phase, config.learning_iter) + 1):
                for scenario in benchmark.for_user(user, phase):
                    if (mode, user, phase, pass_index, scenario.index) in done:
                        continue
                    seed = scene_seed(config.seed, user, phase, scenario.index)
                    story.on_episode(episode_name(mode, user, phase, pass_index, scenario.index))
                    human = parts.person(persona, episode_seed(config.seed, user, phase, pass_index, scenario.index))
                    turn = _run_episode(planner, scenario, human, parts.executor, seed, interactive)
                    if turn.memory_ops and store is not None:
                        note_memory_written(run_dir, (mode, user, phase, pass_index, scenario.index))
                    story.on_end()
                    human_usage = human.usage() if config.human == "llm" else None
                    scored = _record(mode, phase, pass_index, scenario, seed, turn, reasoner.usage(), human_usage)
                    on_record(scored)
    finally:
        if store is not None:
            store.close()


def _run_episode(
    planner: Planner, scenario: Scenario, human: SimulatedHuman, executor: Executor, seed: int, interactive: bool
) -> Turn:
    human.feedback_enabled = interactive
    view = scenario.view()
    story = executor.observer
    story.on_user(scenario.user)
    story.on_task(scenario.task)

    def ask(question: str) -> str | None:
        story.on_question(question)
        answer = human.answer(scenario, question)
        story.on_answer(answer)
        return answer

    def feedback(target: Target, outcome: Outcome) -> str | None:
        text = human.feedback(scenario, target, outcome)
        story.on_feedback(text)
        return text

    turn = planner.run(
        view,
        ask_human=ask if interactive else None,
        execute=lambda target: executor.execute(view, target, seed),
        give_feedback=feedback if interactive else None,
    )
    return turn


def _record(
    mode: str,
    phase: int,
    pass_index: int,
    scenario: Scenario,
    seed: int,
    turn: Turn,
    reasoner_usage: dict,
    human_usage: dict | None,
) -> EpisodeRecord:
    """The episode scored against the scenario's ground truth."""
    correct = is_preference_correct(scenario, turn.target.object, turn.target.place)
    executed = bool(turn.outcome.success)
    return EpisodeRecord(
        mode=mode,
        user=scenario.user,
        phase=phase,
        pass_index=pass_index,
        index=scenario.index,
        seed=seed,
        task=scenario.task,
        context=scenario.context,
        kind=scenario.kind,
        ground_truth=scenario.target(),
        decision=turn.decision,
        confidence=turn.confidence,
        rationale=turn.rationale,
        target=turn.target,
        question=turn.question,
        answer=turn.answer,
        questions=turn.questions,
        follow_ups=turn.follow_ups,
        outcome=turn.outcome,
        feedback=turn.feedback,
        memory_ops=turn.memory_ops,
        preference_correct=correct,
        execution_success=executed,
        task_success=correct and executed,
        feedback_given=turn.feedback is not None,
        correction_given=turn.feedback is not None and not (correct and executed),
        reasoner_usage=reasoner_usage,
        human_usage=human_usage,
    )


def ordered_units(config: RunConfig, benchmark: Benchmark) -> list[tuple[str, str]]:
    users = config.personas or benchmark.users()
    return [(mode, user) for mode in config.modes for user in users]


def completed_keys(records: Iterable[EpisodeRecord]) -> set[EpisodeKey]:
    return {r.key for r in records}
