"""Plain data passed between planner, controller and protocol.

Kept free of pybullet and memory imports so every layer can share it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """What the planner decided: pick `object` and put it at `place` (HAND_OVER for bring-me tasks)."""

    object: str
    place: str


@dataclass(frozen=True)
class Outcome:
    """What physically happened when a target was executed.

    `failure` is None on success, else one of FAILURE_KINDS.
    """

    success: bool
    failure: str | None = None
    steps: int = 0


FAILURE_KINDS = ("missed_grasp", "dropped", "unreachable", "timeout", "misplaced")
