"""The four-phase PAHF protocol: per user, learn (1), test (2), persona shifts and learn again (3), test (4).

Memory carries across phases; feedback and questions are only available in the learning phases, which
are repeated `learning_iter` times. Every episode becomes one flat JSON record.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from memory.embedders import Embedder
from memory.store import MemoryStore
from pahf_robot.grounding import normalise
from pahf_robot.human import SimulatedHuman
from pahf_robot.planner import MODES, Planner
from pahf_robot.reasoning import Reasoner
from pahf_robot.scenarios import Benchmark, Scenario

log = logging.getLogger(__name__)

PHASES = (1, 2, 3, 4)
LEARNING_PHASES = (1, 3)


@dataclass
class RunConfig:
    """Everything that determines a run; saved beside the results so `--resume` can continue it."""

    modes: list[str] = field(default_factory=lambda: list(MODES))
    personas: list[str] | None = None
    phases: list[int] = field(default_factory=lambda: list(PHASES))
    learning_iter: int = 3
    scenarios: str | None = None
    sim: str = "pybullet"
    seed: int = 0
    noise: float = 0.0
    embedder: str = "minilm"
    reasoner: str = "offline"
    model: str | None = None
    base_url: str | None = None
    human: str = "rule"
    memory_db: str | None = None
    workers: int = 0
    executor: str = "local"
    ray_address: str | None = None
    gui: bool = False
    speed: float = 1.0
    record: str | None = None
    driver: str = "local"
    driver_host: str = "127.0.0.1"
    driver_port: int = 8765

    def worker_count(self) -> int:
        """0 means automatic: one process per core with physics, one without (decisions take seconds)."""
        if self.workers:
            return self.workers
        if self.sim == "none" or self.gui or self.record or self.driver == "remote":
            return 1
        return max(1, os.cpu_count() or 1)

    def validate(self, benchmark: Benchmark) -> None:
        unknown = [m for m in self.modes if m not in MODES]
        if unknown:
            raise ValueError(f"--modes: unknown mode {unknown[0]!r} (choose from {', '.join(MODES)})")
        bad = [p for p in self.phases if p not in PHASES]
        if bad:
            raise ValueError(f"--phases: unknown phase {bad[0]} (choose from 1, 2, 3, 4)")
        if self.learning_iter < 1:
            raise ValueError("--learning-iter: must be at least 1")
        if not 0.0 <= self.noise <= 1.0:
            raise ValueError("--noise: must be between 0 and 1")
        if self.workers < 0:
            raise ValueError("--workers: must be at least 1 (or 0 for one per core)")
        if self.executor not in ("local", "ray"):
            raise ValueError(f"--executor: unknown executor {self.executor!r} (choose from local, ray)")
        if self.driver == "remote" and self.sim == "pybullet" and (self.workers > 1 or self.executor == "ray"):
            raise ValueError("--driver remote: a driver server takes one client at a time; use --workers 1")
        self._validate_watching()
        users = benchmark.users()
        missing = [p for p in self.personas or [] if p not in users]
        if missing:
            raise ValueError(f"--personas: no scenarios for {missing[0]!r} (known: {', '.join(users)})")

    def _validate_watching(self) -> None:
        if (self.gui or self.record) and (self.workers > 1 or self.executor == "ray"):
            flag = "--gui" if self.gui else "--record"
            raise ValueError(f"{flag}: watching and recording run in one process; drop --workers")
        if (self.gui or self.record) and self.sim != "pybullet":
            raise ValueError("--gui / --record show the physics: drop --sim none")
        if self.gui and self.record:
            raise ValueError("--gui and --record: choose one (videos are rendered off-screen)")
        if self.speed <= 0:
            raise ValueError("--speed: must be positive")
        if self.gui and not os.environ.get("DISPLAY"):
            raise ValueError(
                "--gui: no display ($DISPLAY is not set); run under one (e.g. `xvfb-run -a pahf-robot run --gui ...`) "
                "or write videos with --record DIR"
            )


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
    config: RunConfig,
    benchmark: Benchmark,
    reasoner: Reasoner,
    embedder: Embedder,
    executor,
    run_dir: Path,
    done: set[tuple],
    on_record: Callable[[dict], None],
) -> None:
    """All phases of one user in one mode, skipping episodes already recorded (for `--resume`)."""
    channels = MODES[mode]
    needs_memory = channels.read or channels.remember_answers or channels.learn_from_feedback
    store = None
    if needs_memory:
        path = memory_path(run_dir, config, mode)
        path.parent.mkdir(parents=True, exist_ok=True)
        store = MemoryStore(path, embedder)
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
                    record = _run_episode(
                        planner, scenario, persona, config, executor, seed, interactive, reasoner
                    )
                    record.update(mode=mode, phase=phase, **{"pass": pass_index})
                    executor.on_event("end")
                    on_record(record)
    finally:
        if store is not None:
            store.close()


def _run_episode(planner, scenario, persona, config, executor, seed, interactive, reasoner) -> dict:
    if config.human == "llm":
        from pahf_robot.llm.human import LLMHuman

        human = LLMHuman.from_config(persona, config, seed)
    else:
        human = SimulatedHuman(persona, noise=config.noise, seed=seed)
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


def config_from_dict(data: dict) -> RunConfig:
    known = set(asdict(RunConfig()))
    return RunConfig(**{k: v for k, v in data.items() if k in known})
