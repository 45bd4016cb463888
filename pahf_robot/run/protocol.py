"""The four-phase PAHF protocol: per user, learn (1), test (2), persona shifts and learn again (3), test (4).

Memory carries across phases; feedback and questions are only available in the learning phases, which
are repeated `learning_iter` times. Every episode becomes one flat JSON record.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from memory.embedders import Embedder
from memory.store import MemoryStore
from pahf_robot.act.executors import Executor
from pahf_robot.agent.grounding import normalise
from pahf_robot.agent.planner import MODES, Planner
from pahf_robot.agent.reasoning import Reasoner
from pahf_robot.bench.personas import Persona
from pahf_robot.bench.scenarios import Benchmark, Scenario
from pahf_robot.human.rule import SimulatedHuman
from pahf_robot.run.config import LEARNING_PHASES, RunConfig

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


def episode_seed(seed: int, user: str, phase: int, pass_index: int, index: int) -> int:
    """A seed per episode, the same in every mode so that baselines face identical scenes and humans."""
    digest = hashlib.blake2b(f"{seed}/{user}/{phase}/{pass_index}/{index}".encode(), digest_size=4)
    return int.from_bytes(digest.digest(), "big")


def episode_name(mode: str, user: str, phase: int, pass_index: int, index: int) -> str:
    """File-name-safe name of an episode for its video, e.g. pahf_alex_p1_pass2_7."""
    safe = re.sub(r"[^A-Za-z0-9-]+", "-", user).strip("-") or "user"
    return f"{mode}_{safe}_p{phase}_pass{pass_index}_{index}"


def episode_key(record: dict) -> tuple:
    return (record["mode"], record["user"], record["phase"], record["pass"], record["index"])


def memory_path(run_dir: Path, config: RunConfig, mode: str) -> Path:
    """One database per mode, so baselines never read each other's notes under the same user id."""
    if config.memory_db:
        base = Path(config.memory_db)
        return base.with_name(f"{base.stem}.{mode}{base.suffix or '.db'}")
    return run_dir / "memory" / f"{mode}.db"


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
    done: set[tuple],
    on_record: Callable[[dict], None],
) -> None:
    """All phases of one user in one mode, skipping episodes already recorded (for `--resume`)."""
    config, benchmark, reasoner, executor = parts.config, parts.benchmark, parts.reasoner, parts.executor
    channels = MODES[mode]
    needs_memory = channels.read or channels.remember_answers or channels.learn_from_feedback
    store = None
    if needs_memory:
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
                    key = (mode, user, phase, pass_index, scenario.index)
                    if key in done:
                        continue
                    seed = episode_seed(config.seed, user, phase, pass_index, scenario.index)
                    executor.on_event("episode", episode_name(mode, user, phase, pass_index, scenario.index))
                    human = parts.person(persona, seed)
                    record = _run_episode(planner, scenario, human, config, executor, seed, interactive, reasoner)
                    record.update(mode=mode, phase=phase, **{"pass": pass_index})
                    executor.on_event("end")
                    on_record(record)
    finally:
        if store is not None:
            store.close()


def _run_episode(planner, scenario, human, config, executor, seed, interactive, reasoner) -> dict:
    human.feedback_enabled = interactive
    view = scenario.view()
    executor.on_event("user", scenario.user)
    executor.on_event("task", scenario.task)

    def ask(question: str) -> str | None:
        executor.on_event("question", question)
        answer = human.answer(scenario, question)
        executor.on_event("answer", answer or "(no answer)")
        return answer

    def feedback(target, outcome) -> str | None:
        text = human.feedback(scenario, target, outcome)
        executor.on_event("feedback", text or "(none)")
        return text

    turn = planner.run(
        view,
        ask_human=ask if interactive else None,
        execute=lambda target: executor.execute(view, target, seed),
        give_feedback=feedback if interactive else None,
    )
    correct = is_preference_correct(scenario, turn.target.object, turn.target.place)
    record = {
        "user": scenario.user,
        "index": scenario.index,
        "seed": seed,
        "task": scenario.task,
        "context": scenario.context,
        "kind": scenario.kind,
        "ground_truth": {"object": scenario.target_object, "place": scenario.target_place},
        **turn.as_record(),
        "preference_correct": correct,
        "execution_success": bool(turn.outcome.success),
        "task_success": correct and bool(turn.outcome.success),
        "feedback_given": turn.feedback is not None,
        "correction_given": turn.feedback is not None and not (correct and turn.outcome.success),
        "reasoner_usage": reasoner.usage(),
    }
    if config.human == "llm":
        record["human_usage"] = human.usage()
    return record


def ordered_units(config: RunConfig, benchmark: Benchmark) -> list[tuple[str, str]]:
    users = config.personas or benchmark.users()
    return [(mode, user) for mode in config.modes for user in users]


def completed_keys(records: Iterable[dict]) -> set[tuple]:
    return {episode_key(r) for r in records}
