"""The robot's motion limits, enforced in one place: a RobotDriver wrapper the env and the driver server share.

A command that breaks a limit is refused with UnsafeCommand before the driver sees it, so nothing moves;
the limits a real arm needs (workspace box, largest step from the current pose, gripper range, ticks
per call, no reset with an object in hand) are the same whether the planner runs in this process or
talks to `pahf-robot serve-driver`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from envs.driver import GRIPPER_MAX_WIDTH, Pose, RobotDriver, yaw_of
from envs.layout import WORKSPACE_HIGH, WORKSPACE_LOW

Command = tuple[list[float], float, float]
"""(grasp-point position, yaw, gripper width) as sent to the driver."""


class UnsafeCommand(ValueError):
    """A motion command that breaks a safety limit; the robot did not move."""


@dataclass(frozen=True)
class SafetyLimits:
    """What a driver may be commanded. Defaults fit the tabletop env: its action box and the largest
    lead of a command over the arm seen in the grasp benchmark (7 cm, 0.32 rad) with margin."""

    workspace_low: tuple[float, float, float] = WORKSPACE_LOW
    workspace_high: tuple[float, float, float] = WORKSPACE_HIGH
    max_step: float = 0.10
    """Largest distance (m) of a commanded grasp point from the current one."""
    max_yaw_step: float = 0.6
    """Largest difference (rad) of a commanded yaw from the current one."""
    gripper_range: tuple[float, float] = (0.0, GRIPPER_MAX_WIDTH)
    max_ticks: int = 2400
    """Most physics ticks one `step` call may run (10 s at 240 Hz, 20 s at the simulator's 120 Hz)."""
    max_image_side: int = 2048

    def __post_init__(self) -> None:
        if not all(low < high for low, high in zip(self.workspace_low, self.workspace_high, strict=True)):
            raise ValueError(f"workspace_low {self.workspace_low} must be below workspace_high {self.workspace_high}")
        if self.max_step <= 0 or self.max_yaw_step <= 0 or self.max_ticks < 1:
            raise ValueError("max_step, max_yaw_step and max_ticks must be positive")
        if not 0 <= self.gripper_range[0] < self.gripper_range[1]:
            raise ValueError(f"gripper_range {self.gripper_range} must be an increasing pair of widths >= 0")

    def as_dict(self) -> dict:
        return asdict(self)


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise UnsafeCommand(f"{name} holds a non-finite number: {value}")
    return float(value)


class SafeDriver(RobotDriver):
    """`driver` behind `limits`: motion commands are checked, everything else passes through."""

    def __init__(self, driver: RobotDriver, limits: SafetyLimits | None = None) -> None:
        self.driver = driver
        self.limits = limits or SafetyLimits()
        self.physics_dt = driver.physics_dt
        self._objects: set[int] = set()
        """Movable objects spawned through this wrapper and not removed: what a reset could drop or drag."""

    def apply_action(self, position: Sequence[float], yaw: float, gripper_width: float) -> Command:
        """Send the command if it keeps every limit, else raise UnsafeCommand; returns what was sent."""
        limits = self.limits
        target = [_finite("position", v) for v in position]
        yaw = _finite("yaw", yaw)
        width = _finite("gripper_width", gripper_width)
        slack = 1e-9  # the env's ramp lands on its box edge up to rounding
        for axis, value, low, high in zip("xyz", target, limits.workspace_low, limits.workspace_high, strict=True):
            if not low - slack <= value <= high + slack:
                raise UnsafeCommand(f"position {axis}={value:.4f} m is outside the workspace [{low}, {high}]")
        low, high = limits.gripper_range
        if not low <= width <= high:
            raise UnsafeCommand(f"gripper_width={width:.4f} m is outside [{low}, {high}]")
        current, orientation = self.driver.ee_pose()
        step = math.dist(target, current)
        if step > limits.max_step:
            raise UnsafeCommand(
                f"position is {step:.3f} m from the current grasp point; the limit is {limits.max_step} m"
            )
        turn = abs((yaw - yaw_of(orientation) + math.pi) % (2 * math.pi) - math.pi)
        if turn > limits.max_yaw_step:
            raise UnsafeCommand(f"yaw is {turn:.3f} rad from the current one; the limit is {limits.max_yaw_step} rad")
        self.driver.apply_action(target, yaw, width)
        return target, yaw, width

    def step(self, n: int = 1) -> None:
        if not 0 <= n <= self.limits.max_ticks:
            raise UnsafeCommand(f"n={n} is outside [0, {self.limits.max_ticks}]")
        self.driver.step(n)

    def reset_robot(self) -> None:
        """Send the arm home unless it touches an object: a reset opens the hand and swings the arm home (on
        a real arm, a joint move no step limit covers), so it would drop what the hand holds or drag what
        the arm leans on. Put it down and move clear with checked commands first."""
        touched = sorted(h for h in self._objects if self.driver.touches_robot(h))
        if touched:
            raise UnsafeCommand(
                f"reset_robot: the robot touches object {', '.join(map(str, touched))}; a reset would drop or "
                "drag it. Put it down and move clear first"
            )
        self.driver.reset_robot()

    def hold(self, gripper_width: float) -> None:
        """Command the pose the arm is at now, keeping `gripper_width`: the arm stops where it is."""
        position, orientation = self.driver.ee_pose()
        self.driver.apply_action(position, yaw_of(orientation), gripper_width)

    # --- everything else passes through ---
    def joint_positions(self) -> list[float]:
        return self.driver.joint_positions()

    def joint_limits(self) -> tuple[list[float], list[float]]:
        return self.driver.joint_limits()

    def gripper_width(self) -> float:
        return self.driver.gripper_width()

    def ee_pose(self) -> Pose:
        return self.driver.ee_pose()

    def spawn_object(self, kind, position, yaw, rgba, label, scale=1.0, mass_factor=1.0, friction=None) -> int:
        handle = self.driver.spawn_object(kind, position, yaw, rgba, label, scale, mass_factor, friction)
        self._objects.add(handle)
        return handle

    def spawn_fixture(self, parts: Sequence[dict], position: Sequence[float], rgba: Sequence[float], label: str) -> int:
        return self.driver.spawn_fixture(parts, position, rgba, label)

    def remove_body(self, handle: int) -> None:
        self.driver.remove_body(handle)
        self._objects.discard(handle)

    def body_poses(self, handles: Sequence[int]) -> list[Pose]:
        return self.driver.body_poses(handles)

    def body_speeds(self, handles: Sequence[int]) -> list[float]:
        return self.driver.body_speeds(handles)

    def touches_robot(self, handle: int) -> bool:
        return self.driver.touches_robot(handle)

    def body_count(self) -> int:
        return self.driver.body_count()

    def camera_image(
        self,
        width: int,
        height: int,
        eye: Sequence[float],
        target: Sequence[float],
        fov: float = 60.0,
        segmentation: bool = False,
    ) -> dict[str, np.ndarray]:
        return self.driver.camera_image(width, height, eye, target, fov, segmentation)

    def show_text(self, lines: Sequence[str]) -> None:
        self.driver.show_text(lines)

    def close(self) -> None:
        self.driver.close()
