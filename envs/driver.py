"""The robot interface the tabletop env is written against.

The env never touches a simulator: it calls these methods, which a PyBullet driver implements now
and a real or remote (TCP) robot can implement later. Everything crossing the interface is plain
data (floats, lists, dicts, strings, int handles) so it can be serialised as is; only camera frames
are numpy arrays. Poses are (position [x, y, z], quaternion [x, y, z, w]) in the robot base frame.
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

Pose = tuple[list[float], list[float]]

GRIPPER_MAX_WIDTH = 0.08
"""Finger opening range of the Panda hand (sum of both finger joints), metres."""


def yaw_of(quaternion: Sequence[float]) -> float:
    """Heading about z of an (x, y, z, w) quaternion: the gripper yaw of a downward-pointing hand."""
    x, y, z, w = quaternion
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


class RobotDriver(ABC):
    """A top-down arm with a parallel gripper, plus the scene bodies a simulator can spawn."""

    physics_dt: float = 1.0 / 240.0
    """Seconds per `step` tick; a real robot would block for this long per tick."""

    # --- robot ---
    @abstractmethod
    def reset_robot(self) -> None:
        """Put the arm at its home pose with the gripper open and drop any pending command."""

    @abstractmethod
    def apply_action(self, position: Sequence[float], yaw: float, gripper_width: float) -> None:
        """Command the grasp point to `position` with the gripper pointing down at `yaw` (IK happens
        here) and the fingers to `gripper_width` (0 closes with the grip force). Takes effect on `step`."""

    @abstractmethod
    def step(self, n: int = 1) -> None:
        """Advance the world by `n` physics ticks under the last command."""

    @abstractmethod
    def joint_positions(self) -> list[float]:
        """Arm joint angles (radians), base to wrist."""

    @abstractmethod
    def joint_limits(self) -> tuple[list[float], list[float]]:
        """Lower and upper arm joint limits."""

    @abstractmethod
    def gripper_width(self) -> float:
        """Current finger opening in metres (0 closed, GRIPPER_MAX_WIDTH fully open)."""

    @abstractmethod
    def ee_pose(self) -> Pose:
        """Pose of the grasp point between the fingertips."""

    # --- scene ---
    @abstractmethod
    def spawn_object(self, kind: str, position: Sequence[float], yaw: float, rgba: Sequence[float], label: str) -> int:
        """Create a movable object of an asset kind at rest; returns its handle."""

    @abstractmethod
    def spawn_fixture(self, parts: Sequence[dict], position: Sequence[float], rgba: Sequence[float], label: str) -> int:
        """Create a static body from boxes ({"half_extents": [..], "offset": [..]}); returns its handle."""

    @abstractmethod
    def remove_body(self, handle: int) -> None:
        """Delete a spawned object or fixture."""

    @abstractmethod
    def body_poses(self, handles: Sequence[int]) -> list[Pose]:
        """Poses of several bodies (their centres) in one call."""

    @abstractmethod
    def body_speeds(self, handles: Sequence[int]) -> list[float]:
        """Linear speed (m/s) of several bodies."""

    @abstractmethod
    def touches_robot(self, handle: int) -> bool:
        """Whether any part of the robot is in contact with the body."""

    @abstractmethod
    def body_count(self) -> int:
        """Number of bodies in the world (robot and fixtures included), to detect leaks."""

    # --- sensing and lifecycle ---
    @abstractmethod
    def camera_image(
        self,
        width: int,
        height: int,
        eye: Sequence[float],
        target: Sequence[float],
        fov: float = 60.0,
        segmentation: bool = False,
    ) -> dict[str, np.ndarray]:
        """{"rgb": (h, w, 3) uint8, "depth": (h, w) float32 metres} from a pinhole camera, plus
        "segmentation": (h, w) int32 body handle per pixel (-1 for none) when asked for."""

    def show_text(self, lines: Sequence[str]) -> None:
        """Show status lines on the robot's screen, replacing the previous ones. A robot without a
        screen ignores them, so callers need not know whether anyone is watching."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection; safe to call twice."""


DRIVERS = {"pybullet": "envs.bullet_driver:PyBulletDriver"}
"""Driver names -> "module:class"; modules are imported only when built, so a hardware stack or the
simulator is needed only by whoever uses it."""


def make_driver(name: str, **options) -> RobotDriver:
    """Build a registered driver by name (ValueError for an unknown one)."""
    if name not in DRIVERS:
        raise ValueError(f"unknown robot driver {name!r}; known: {sorted(DRIVERS)}")
    module, cls = DRIVERS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)
