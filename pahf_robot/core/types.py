"""Plain data passed between planner, controller and protocol.

Kept free of pybullet and memory imports so every layer can share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

FailureKind = Literal["missed_grasp", "dropped", "unreachable", "timeout", "misplaced"]
"""How a pick-and-place can fail physically; a person reports each differently, and none is a preference."""
FAILURE_KINDS: tuple[FailureKind, ...] = get_args(FailureKind)


@dataclass(frozen=True)
class Target:
    """What the planner decided: pick `object` and put it at `place` (HAND_OVER for bring-me tasks)."""

    object: str
    place: str


@dataclass(frozen=True)
class Outcome:
    """What physically happened when a target was executed; `failure` is None on success. `retries`
    counts the second attempts after a missed grasp or a drop."""

    success: bool
    failure: FailureKind | None = None
    steps: int = 0
    retries: int = 0
