"""The one place that wires a run: from a RunConfig to benchmark, embedder, reasoner, executor, driver and person.

Every process that runs episodes (the sequential runner, each worker process or Ray actor, `replay`)
builds its parts here, once, so following a run's configuration means reading this file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from envs.driver import RobotDriver
from memory.embedders import EMBEDDERS, Embedder
from pahf_robot.act.executors import DecisionOnlyExecutor, Executor, PhysicsExecutor
from pahf_robot.act.rollouts import ROLLOUTS_FILE
from pahf_robot.agent.reasoning import Reasoner
from pahf_robot.bench.personas import Persona
from pahf_robot.bench.scenarios import Benchmark, load_benchmark
from pahf_robot.human.rule import SimulatedHuman
from pahf_robot.llm.client import shared_client
from pahf_robot.run.config import RunConfig
from pahf_robot.run.protocol import run_user
from pahf_robot.run.records import EpisodeKey, EpisodeRecord

log = logging.getLogger(__name__)

EMBEDDING_CACHE = 1 << 16
"""Large enough to hold every text of the bundled benchmark, so each is embedded once per run."""


def unit_failure(mode: str, user: str, error: BaseException) -> dict:
    """A unit that failed, as results.json lists it, said once in the log."""
    log.error("persona %s (mode %s) failed: %s", user, mode, error)
    return {"mode": mode, "user": user, "error": f"{type(error).__name__}: {error}"}


def load_run_benchmark(config: RunConfig) -> Benchmark:
    return load_benchmark(Path(config.scenarios) if config.scenarios else None)


def preflight(config: RunConfig) -> None:
    """Before any episode: a run that uses an LLM needs a model, a key and a server that answers."""
    if config.reasoner == "llm" or config.human == "llm":
        shared_client(config.model, config.base_url).check()


def make_reasoner(config: RunConfig, embedder: Embedder) -> Reasoner:
    """The offline reasoner, or the LLM reasoner on the configured server."""
    if config.reasoner == "llm":
        from pahf_robot.agent.llm_reasoner import LLMReasoner

        return LLMReasoner(shared_client(config.model, config.base_url))
    from pahf_robot.agent.offline import OfflineReasoner

    return OfflineReasoner(embedder)


def make_driver_for(config: RunConfig) -> RobotDriver | None:
    """None (the env builds its own PyBullet driver) or a RemoteDriver, connected now so a missing
    server is a one-line ConnectionError before any episode runs."""
    if config.driver == "local":
        return None
    from envs.remote import RemoteDriver

    return RemoteDriver(config.driver_host, config.driver_port)


def make_executor(config: RunConfig) -> Executor:
    """The executor a run configuration asks for (the configuration's choices are checked already)."""
    if config.sim == "none":
        return DecisionOnlyExecutor()
    return PhysicsExecutor(
        render_mode="human" if config.gui else None,
        speed=config.speed,
        record=config.record,
        driver=make_driver_for(config),
        perception=config.perception,
        randomize=config.randomize,
    )


def replay_config(config: RunConfig, gui: bool, speed: float, record: str | None, local: bool = False) -> RunConfig:
    """A run's configuration turned to re-running one of its episodes: its saved driver (a remote run replays
    on its driver server, at the saved host and port) unless `local`, watched or recorded as asked."""
    update: dict = {"gui": gui, "speed": speed, "record": record, "workers": 1, "executor": "local"}
    if local:
        update["driver"] = "local"
    elif config.driver == "remote" and gui:
        raise ValueError(
            "--gui: the run drove a remote robot; watch it on its server (`serve-driver --gui`) or add --local"
        )
    return config.model_copy(update=update)


class Worker:
    """One process's long-lived parts: benchmark, embedder, reasoner and a single executor (one PyBullet client)."""

    def __init__(self, config: RunConfig, benchmark: Benchmark | None = None) -> None:
        self.config = config
        self.benchmark = benchmark if benchmark is not None else load_run_benchmark(config)
        self.embedder = EMBEDDERS[config.embedder](cache_size=EMBEDDING_CACHE)
        self.reasoner = make_reasoner(config, self.embedder)
        self.executor = make_executor(config)

    def person(self, persona: Persona | None, seed: int) -> SimulatedHuman:
        """The simulated person of one episode, seeded by it."""
        config = self.config
        if config.human == "llm":
            from pahf_robot.human.llm import LLMHuman

            return LLMHuman(persona, shared_client(config.model, config.base_url), noise=config.noise, seed=seed)
        return SimulatedHuman(persona, noise=config.noise, seed=seed, style=config.human)

    def run_unit(
        self, mode: str, user: str, run_dir: Path, done: set[EpisodeKey], on_record: Callable[[EpisodeRecord], None]
    ) -> None:
        """All episodes of one user in one mode."""
        if self.config.caches_rollouts():
            self.executor.use_rollouts(run_dir / ROLLOUTS_FILE)
        run_user(mode, user, self, run_dir, done, on_record)

    def run_units(
        self,
        units: list[tuple[str, str]],
        run_dir: Path,
        done: set[EpisodeKey],
        on_record: Callable[[EpisodeRecord], None],
    ) -> list[dict]:
        """Units one after another; a failing unit is reported (`unit_failure`) and the others still run."""
        failures = []
        for mode, user in units:
            try:
                self.run_unit(mode, user, run_dir, done, on_record)
            except Exception as error:  # noqa: BLE001 - reported per unit, like a crashed worker
                failures.append(unit_failure(mode, user, error))
        return failures

    def close(self) -> None:
        self.executor.close()
