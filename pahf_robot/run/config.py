"""What determines a run: the options of `pahf-robot run`, saved flat as config.json beside the results.

One typed part per component (protocol, agent, person, sim, parallel), each validated by pydantic where it
is declared; `RunConfig` joins them and adds the checks that span parts. Choices are `Literal`s, so the
command line's `choices` come from here too. A bad value becomes one line naming the flag or the
launch-file field (`one_line`), never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pahf_robot.agent.planner import MODES, Mode
from pahf_robot.bench.scenarios import Benchmark

Phase = Literal[1, 2, 3, 4]
PHASES: tuple[int, ...] = get_args(Phase)
LEARNING_PHASES = (1, 3)
Sim = Literal["pybullet", "none"]
EmbedderName = Literal["minilm", "mpnet", "hashing"]
ReasonerName = Literal["offline", "llm"]
HumanName = Literal["natural", "exact", "llm"]
"""Talks like people (default), names options exactly as the scene spells them (an answer key), or an LLM's
wording of the exact person's meaning."""
ExecutorName = Literal["local", "ray"]
DriverName = Literal["local", "remote"]
Perception = Literal["camera", "tracker"]


class _Part(BaseModel):
    """Strict types (a launch file's "three" is not an int) and no unknown keys."""

    model_config = ConfigDict(strict=True, extra="forbid", validate_assignment=True)


def _listed(value: Any, kind: type) -> Any:
    """Comma-separated text or a single value, as a launch file may give a list option."""
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",") if item.strip()]
    elif not isinstance(value, list):
        value = [value]
    try:
        return [kind(item) for item in value]
    except (TypeError, ValueError):
        raise ValueError(f"expected a list of {kind.__name__}, got {value!r}") from None


class ProtocolConfig(_Part):
    """Which episodes run: modes x personas x phases, learning passes, the scenarios and the seed."""

    modes: list[Mode] = Field(default_factory=lambda: list(MODES))
    personas: list[str] | None = None
    phases: list[Phase] = Field(default_factory=lambda: list(PHASES))
    learning_iter: int = Field(3, ge=1)
    scenarios: str | None = None
    seed: int = 0
    memory_db: str | None = None
    reuse_memory: bool = False
    """Start from what an existing --memory-db already holds; without it an existing one is refused."""

    @field_validator("modes", "personas", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return value if value is None else _listed(value, str)

    @field_validator("phases", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        return _listed(value, int)

    @field_validator("modes", "personas", "phases")
    @classmethod
    def _each_once(cls, value: Any) -> Any:
        """An empty list runs nothing and a repeat counts its episodes twice: both are mistakes."""
        if value is None:
            return value
        if not value:
            raise ValueError("names nothing; leave it out for the default")
        repeated = next((item for i, item in enumerate(value) if item in value[:i]), None)
        if repeated is not None:
            raise ValueError(f"{repeated!r} is listed twice")
        return value


class AgentConfig(_Part):
    """The decision maker behind the planner and the sentence embedder its memory uses."""

    embedder: EmbedderName = "mpnet"
    reasoner: ReasonerName = "offline"
    model: str | None = None
    base_url: str | None = None


class PersonConfig(_Part):
    """The simulated person: how it talks, and how often it errs."""

    human: HumanName = "natural"
    noise: float = Field(0.0, ge=0.0, le=1.0)


class SimConfig(_Part):
    """How targets are carried out: physics or not, watched or recorded, on which robot driver."""

    sim: Sim = "pybullet"
    gui: bool = False
    speed: float = Field(1.0, gt=0.0)
    record: str | None = None
    driver: DriverName = "local"
    driver_host: str = "127.0.0.1"
    driver_port: int = 8765
    perception: Perception = "camera"
    randomize: bool = False
    reuse_rollouts: bool = True
    """Simulate each distinct unwatched rollout once per run and reuse its outcome (`pahf_robot.act.rollouts`)."""

    def caches_rollouts(self) -> bool:
        """Only in-process PyBullet nobody watches is deterministic and unseen, so only it is looked up."""
        unwatched = not (self.gui or self.record)
        return self.reuse_rollouts and self.sim == "pybullet" and self.driver == "local" and unwatched


class ParallelConfig(_Part):
    """Where the (mode, persona) units run: this process, worker processes or Ray actors."""

    workers: int = Field(0, ge=0)
    executor: ExecutorName = "local"
    ray_address: str | None = None


class RunConfig(ParallelConfig, SimConfig, PersonConfig, AgentConfig, ProtocolConfig):
    """Everything that determines a run; saved beside the results so `--resume` can continue it.

    Flat, so the command line, launch files and config.json keep one key per option; the bases are listed
    in reverse so the saved keys start with the protocol's."""

    @model_validator(mode="after")
    def _parts_agree(self) -> RunConfig:
        several = self.workers > 1 or self.executor == "ray"
        if self.driver == "remote" and self.sim == "pybullet" and several:
            raise ValueError("--driver remote: a driver server takes one client at a time; use --workers 1")
        if (self.gui or self.record) and several:
            flag = "--gui" if self.gui else "--record"
            raise ValueError(f"{flag}: watching and recording run in one process; drop --workers")
        if (self.gui or self.record) and self.sim != "pybullet":
            raise ValueError("--gui / --record show the physics: drop --sim none")
        if self.gui and self.record:
            raise ValueError("--gui and --record: choose one (videos are rendered off-screen)")
        return self

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """A saved config.json; keys this version does not know are ignored."""
        return cls(**{k: v for k, v in data.items() if k in cls.model_fields})

    def to_dict(self) -> dict:
        return self.model_dump()

    def worker_count(self) -> int:
        """0 means automatic: one process per core with physics, one without (decisions take seconds)."""
        if self.workers:
            return self.workers
        if self.sim == "none" or self.gui or self.record or self.driver == "remote":
            return 1
        return max(1, os.cpu_count() or 1)

    def check_usable(self, benchmark: Benchmark) -> None:
        """What only the run itself can check: the personas against the benchmark, a display for --gui."""
        if self.gui:
            require_display("--gui", "`xvfb-run -a pahf-robot run --gui ...`", "write videos with --record DIR")
        users = benchmark.users()
        missing = [p for p in self.personas or [] if p not in users]
        if missing:
            raise ValueError(f"--personas: no scenarios for {missing[0]!r} (known: {', '.join(users)})")


def require_display(flag: str, example: str, instead: str) -> None:
    """The PyBullet window kills the process without an X display, so refuse first, in one line."""
    if not os.environ.get("DISPLAY"):
        raise ValueError(f"{flag}: no display ($DISPLAY is not set); run under one (e.g. {example}) or {instead}")


def flag_of(field: str) -> str:
    return "--" + field.replace("_", "-")


def one_line(error: ValidationError, where: Callable[[str], str] = flag_of) -> str:
    """The first problem of a failed validation as one line; `where(field)` names where the value came from."""
    problem = error.errors()[0]
    field = str(problem["loc"][0]) if problem["loc"] else None
    kind = problem["type"]
    if kind == "value_error":
        text = str(problem["ctx"]["error"])
    elif kind == "literal_error":
        text = f"unknown value {problem['input']!r} (choose from {problem['ctx']['expected']})"
    else:
        text = f"{problem['msg'][0].lower()}{problem['msg'][1:]}, got {problem['input']!r}"
    return text if field is None else f"{where(field)}: {text}"


def choices(literal: Any) -> list[str]:
    """The values of a Literal choice, for the command line's `choices`."""
    return list(get_args(literal))
