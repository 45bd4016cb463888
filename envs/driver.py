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
from dataclasses import dataclass

import numpy as np

Pose = tuple[list[float], list[float]]

GRIPPER_MAX_WIDTH = 0.08
"""Finger opening range of the Panda hand (sum of both finger joints), metres."""


def yaw_of(quaternion: Sequence[float]) -> float:
    """Heading about z of an (x, y, z, w) quaternion: the gripper yaw of a downward-pointing hand."""
    x, y, z, w = quaternion
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def rotation_matrix(quaternion: Sequence[float]) -> np.ndarray:
    """The 3x3 rotation of an (x, y, z, w) quaternion."""
    x, y, z, w = quaternion
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


@dataclass(frozen=True)
class CameraSpec:
    """A calibrated pinhole camera: intrinsics (pixels) and extrinsics (its pose in the robot base frame).

    `rotation` holds, as columns, the camera's axes in the base frame in the OpenCV convention (x right,
    y down, z along the optical axis); depth images give metres along z. A real driver fills this from
    its calibration; `look_at` builds one for a simulated camera."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    position: tuple[float, float, float]
    rotation: tuple[tuple[float, float, float], ...]

    @classmethod
    def look_at(cls, eye: Sequence[float], target: Sequence[float], fov: float, width: int, height: int) -> CameraSpec:
        """A camera at `eye` looking at `target` with base z up in the image and a vertical field of
        view of `fov` degrees (square pixels, principal point at the image centre)."""
        forward = np.subtract(target, eye).astype(float)
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        focal = height / 2 / math.tan(math.radians(fov) / 2)
        columns = np.stack([right, down, forward], axis=1)
        return cls(
            width,
            height,
            focal,
            focal,
            width / 2,
            height / 2,
            tuple(float(v) for v in eye),
            tuple(tuple(float(v) for v in row) for row in columns),
        )

    @property
    def intrinsics(self) -> tuple[float, float, float, float]:
        return self.fx, self.fy, self.cx, self.cy

    @property
    def fov(self) -> float:
        """Vertical field of view in degrees."""
        return math.degrees(2 * math.atan(self.height / 2 / self.fy))

    @property
    def target(self) -> list[float]:
        """A point on the optical axis one metre ahead."""
        return (np.asarray(self.position) + np.asarray(self.rotation)[:, 2]).tolist()


SCENE_CAMERA = CameraSpec.look_at(eye=(0.95, 0.0, 1.15), target=(0.42, 0.0, 0.0), fov=50.0, width=320, height=240)
"""The simulated robot's fixed scene camera, high over the table's far edge so the arm at home hides little."""


class RobotDriver(ABC):
    """A top-down arm with a parallel gripper, plus the scene bodies a simulator can spawn."""

    physics_dt: float = 1.0 / 120.0
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
    def spawn_object(
        self,
        kind: str,
        position: Sequence[float],
        yaw: float,
        rgba: Sequence[float],
        label: str,
        scale: float = 1.0,
        mass_factor: float = 1.0,
        friction: float | None = None,
    ) -> int:
        """Create a movable object of an asset kind at rest, `scale` times its catalogue size, with
        `mass_factor` times the mass its volume and density give and a lateral friction coefficient
        (None: the driver's default); returns its handle. Only a simulator can do this."""

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

    def scene_camera(self) -> CameraSpec:
        """Intrinsics and extrinsics of the camera `scene_view` reads. A real driver returns its calibration."""
        return SCENE_CAMERA

    def scene_view(self) -> dict[str, np.ndarray]:
        """One RGB-D view of the table from `scene_camera`: "rgb", "depth" (metres along the optical axis)
        and "segmentation", the instance id per pixel (-1 for none), ids being the handles `spawn_object`
        returned. A real driver runs its detector here and maps what it finds to those handles."""
        camera = self.scene_camera()
        return self.camera_image(
            camera.width, camera.height, camera.position, camera.target, camera.fov, segmentation=True
        )

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
