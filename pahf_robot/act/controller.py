"""Scripted top-down pick-and-place that drives the tabletop env through its action interface only.

The controller sees what a real robot stack would: observations (end-effector pose, gripper width,
object poses and sizes) and `info` (names -> ids, place drop positions). It sends absolute
end-effector targets and gripper commands through `env.step`; IK and physics live below the env.
Grasps are frictional only. Physical failures come back as an Outcome, never as an exception.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass

import numpy as np

from envs.assets import asset_kinds, catalogue
from envs.driver import GRIPPER_MAX_WIDTH, yaw_of
from envs.layout import TABLE_TOP, reachable
from pahf_robot.core.types import FailureKind, Outcome, Target

log = logging.getLogger(__name__)

OPEN, CLOSED = 1.0, -1.0
PAD_GAP = 0.008
"""The finger pads stand this much inside the finger-joint width: joints at 0.08 leave a 7.2 cm gap."""
FINGERTIP_DEPTH = 0.012
"""How far the fingertips reach below the grasp point."""
HAND_DISCS = ((0.08, -FINGERTIP_DEPTH), (0.11, 0.03))
"""(radius, bottom offset from the grasp point) of the open fingers and of the hand body."""
CLEARANCE = 0.012
PALM_HALF_LENGTH, PALM_HALF_WIDTH, PALM_HEIGHT = 0.105, 0.035, 0.035
WRIST_CENTRE = 0.785
"""Gripper yaw relative to the arm's bearing at which the Panda's last joint sits at 0."""


class _Failure(Exception):
    """Raised inside a phase to stop the episode with one of FAILURE_KINDS."""

    def __init__(self, kind: FailureKind, why: str) -> None:
        super().__init__(why)
        self.kind = kind


@dataclass
class _Held:
    """The object being carried: its slot and size, its offset from the grasp point when grasped,
    how far it hangs below the grasp point, and whether it has been seen riding up with the hand."""

    slot: int
    size: np.ndarray
    offset: np.ndarray
    hang: float
    radius: float
    grasp: np.ndarray
    start_z: float
    lifted: bool = False


def _rotation(quaternion: np.ndarray) -> np.ndarray:
    x, y, z, w = quaternion
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _wrap_half_turn(angle: float) -> float:
    """The gripper is symmetric: yaw and yaw + pi are the same grasp; keep it in [-pi/2, pi/2)."""
    return (angle + math.pi / 2) % math.pi - math.pi / 2


def _wrist_friendly(yaw: float, pick: np.ndarray, place: np.ndarray) -> float:
    """Of the two equivalent yaws of a symmetric gripper, the one that keeps the Panda's last joint mid-range.

    Pointing down, the wrist angle is about 0.785 + (bearing of the hand from the base) - yaw; taking the
    bearing halfway between pick and place keeps it within +-2.3 rad for the whole carry."""
    bearing = math.atan2(
        *(
            np.array([pick[1], pick[0]]) / np.hypot(pick[0], pick[1])
            + np.array([place[1], place[0]]) / np.hypot(place[0], place[1])
        )
    )
    relative = (yaw - bearing - WRIST_CENTRE + math.pi / 2) % math.pi + WRIST_CENTRE - math.pi / 2
    return bearing + relative


def _palm_blocked(centre: np.ndarray, grasp_z: float, yaw: float, obstacles: np.ndarray) -> bool:
    """Whether the hand, lowered to grasp at `centre` and `grasp_z` with `yaw`, would rest on an obstacle:
    its palm is a 21 cm bar along the closing axis, 3.5 cm above the grasp point."""
    axis = np.array([-math.sin(yaw), math.cos(yaw)])
    points = centre[None, :] + np.linspace(-PALM_HALF_LENGTH, PALM_HALF_LENGTH, 15)[:, None] * axis[None, :]
    cx, cy, hx, hy, top = (obstacles[:, i][None, :] for i in range(5))
    dx = np.maximum(np.abs(points[:, 0:1] - cx) - hx, 0)
    dy = np.maximum(np.abs(points[:, 1:2] - cy) - hy, 0)
    near = dx**2 + dy**2 < PALM_HALF_WIDTH**2
    return bool(np.any(near & (top > grasp_z + PALM_HEIGHT - CLEARANCE)))


def _command(width: float) -> float:
    """Gripper command in [-1, 1] for a finger-joint width."""
    return float(np.clip(2 * width / GRIPPER_MAX_WIDTH - 1, CLOSED, OPEN))


class GraspController:
    """Pick `target.object`, then put it at `target.place` (the hand-over zone for bring-me tasks).

    Args:
        max_env_steps: env steps allowed per `execute` before giving up with "timeout".
        retreat: lift the open hand clear of the placed object at the end.
        release_drop: the object is let go this far above its place's surface (m).
    """

    def __init__(self, max_env_steps: int = 150, retreat: bool = True, release_drop: float = 0.004) -> None:
        self.max_env_steps = max_env_steps
        self.retreat = retreat
        self.release_drop = release_drop
        self._kinds = asset_kinds()

    # --- public ---
    def execute(self, env, target: Target) -> Outcome:
        """Run one pick-and-place; ValueError for names not in the scene, else an Outcome."""
        self._env = env
        self._obs, self._info = env.unwrapped.set_target(target.object, target.place)
        self._start = self._info["physics_steps"]
        self._env_steps = 0
        try:
            self._run(target)
            success = bool(self._info["task_success"])
            failure = None if success else "misplaced"
        except _Failure as stop:
            log.debug("%s -> %s: %s (%s)", target.object, target.place, stop.kind, stop)
            success, failure = False, stop.kind
        return Outcome(success=success, failure=failure, steps=self._info["physics_steps"] - self._start)

    def gripper_for(self, phase: str, travelled: float) -> float:
        """Gripper command at each step while holding the object in `phase` ("carry" or "lower"),
        `travelled` metres from where it was grasped. Closed; a hook so tests can drop things."""
        return CLOSED

    # --- phases ---
    def _run(self, target: Target) -> None:
        slot = self._info["objects"][target.object]
        place = self._info["places"][target.place]
        position = self._object_position(slot)
        if not reachable(*position[:2], position[2]):
            raise _Failure("unreachable", f"{target.object} at {np.round(position, 3)} is out of reach")
        obstacles = self._obstacles(exclude=slot)
        grasp, yaw, width = self._grasp_pose(slot, place, obstacles)
        yaw = _wrist_friendly(yaw, grasp, np.array(place["position"]))
        pre_open = _command(min(GRIPPER_MAX_WIDTH, width + PAD_GAP + 0.02))
        top = position[2] + self._extents(slot)[2] / 2
        pre_grasp = np.array([grasp[0], grasp[1], max(grasp[2], top + FINGERTIP_DEPTH + CLEARANCE + 0.004)])

        self._leave_low(pre_open)
        approach = self._plan(self._ee(), pre_grasp, obstacles, HAND_DISCS)
        self._follow(approach, obstacles, HAND_DISCS, yaw, pre_open, phase="approach")
        self._move(pre_grasp, yaw, pre_open, tolerance=0.008, yaw_tolerance=0.05, phase="approach")
        self._move(grasp, yaw, pre_open, tolerance=0.004, yaw_tolerance=0.03, phase="descend")
        held = self._close(slot, grasp, yaw, width)

        x, y, surface = place["position"]
        release = np.array([x, y, surface + self.release_drop + held.hang])
        pre_release = np.array([x, y, max(release[2], place["top"] + held.hang + CLEARANCE + 0.004)])
        discs = HAND_DISCS + ((held.radius, -held.hang),)
        path = self._plan(self._ee(), pre_release, obstacles, discs)
        self._follow(path, obstacles, discs, yaw, CLOSED, held=held, phase="carry")
        self._move(pre_release, yaw, CLOSED, tolerance=0.01, held=held, phase="carry")
        self._move(release, yaw, CLOSED, tolerance=0.006, held=held, phase="lower")
        self._release(release, yaw, width)
        if self.retreat:
            clear = release[2] + held.size[2] - held.hang + FINGERTIP_DEPTH + CLEARANCE
            self._move(np.array([release[0], release[1], clear]), yaw, OPEN, tolerance=0.01, phase="retreat")
        self._settle(yaw)

    def _leave_low(self, grip: float) -> None:
        """Rise straight up first when a previous task left the hand down among objects."""
        ee = self._ee()
        if ee[2] < 0.12:
            self._move(np.array([ee[0], ee[1], 0.15]), self._ee_yaw(), grip, tolerance=0.02)

    def _close(self, slot: int, grasp: np.ndarray, yaw: float, width: float) -> _Held:
        """Squeeze until the fingers stop; a hand that closes past the object missed it."""
        previous = self._width()
        for _ in range(15):
            self._step(grasp, yaw, CLOSED)
            current = self._width()
            if abs(current - previous) < 3e-4:
                break
            previous = current
        if self._width() < max(0.008, width - 0.015):
            raise _Failure("missed_grasp", f"fingers closed to {self._width():.3f} m on a {width:.3f} m object")
        ee = self._ee()
        position = self._object_position(slot)
        extents = self._extents(slot)
        return _Held(
            slot=slot,
            size=extents,
            offset=position - ee,
            hang=ee[2] - (position[2] - extents[2] / 2),
            radius=float(np.hypot(extents[0], extents[1]) / 2),
            grasp=ee,
            start_z=float(position[2]),
        )

    def _release(self, release: np.ndarray, yaw: float, width: float) -> None:
        """Open the hand until the fingers are clear of the object's sides."""
        for _ in range(8):
            self._step(release, yaw, OPEN)
            if self._width() >= min(GRIPPER_MAX_WIDTH - 0.002, width + PAD_GAP + 0.012):
                return

    def _settle(self, yaw: float) -> None:
        """Hold still until the released object rests in its place (it may rock for a moment)."""
        hold = self._ee()
        for _ in range(10):
            if self._info["task_success"]:
                return
            self._step(hold, yaw, OPEN)

    # --- motion ---
    def _follow(
        self,
        waypoints: list[np.ndarray],
        obstacles: np.ndarray,
        discs: tuple[tuple[float, float], ...],
        yaw: float,
        grip: float,
        held: _Held | None = None,
        phase: str = "move",
    ) -> None:
        """Pass the via points of a plan (the caller then moves to its last point). A corner is cut
        once the straight line from the hand to the next point is clear."""
        for point, following in itertools.pairwise(waypoints):
            self._move(
                point,
                yaw,
                grip,
                tolerance=0.004,
                held=held,
                phase=phase,
                blend=lambda error, following=following: (
                    error < 0.05 and self._clear(self._ee(), following, obstacles, discs)
                ),
            )

    def _move(
        self,
        goal: np.ndarray,
        yaw: float,
        grip: float,
        tolerance: float,
        yaw_tolerance: float = math.pi,
        held: _Held | None = None,
        phase: str = "move",
        blend=None,
    ) -> None:
        """Step towards `goal` until the grasp point is within `tolerance` (or `blend(error)` says the
        next leg may start), failing as unreachable when progress stalls."""
        best, stalled, start = math.inf, 0, self._env_steps
        while True:
            error = float(np.linalg.norm(self._ee() - goal))
            yaw_error = abs(_wrap_half_turn(self._ee_yaw() - yaw))
            if yaw_error <= yaw_tolerance and (error <= tolerance or (blend is not None and blend(error))):
                log.debug("%s: %d env steps to %s", phase, self._env_steps - start, np.round(goal, 3))
                return
            if error < best - 5e-4:
                best, stalled = error, 0
            else:
                stalled += 1
                if stalled > 12:
                    raise _Failure("unreachable", f"{phase}: stuck {error:.3f} m from {np.round(goal, 3)}")
            if held is not None:
                grip = self.gripper_for(phase, float(np.linalg.norm(self._ee() - held.grasp)))
            self._step(goal, yaw, grip)
            if held is not None:
                self._check_held(held)

    def _check_held(self, held: _Held) -> None:
        """The object must ride with the hand: lost before it was ever lifted is a missed grasp,
        lost after that is a drop."""
        position = self._object_position(held.slot)
        drift = float(np.linalg.norm(position - self._ee() - held.offset))
        if drift <= 0.04:
            held.lifted = held.lifted or position[2] - held.start_z > 0.01
            return
        kind = "dropped" if held.lifted else "missed_grasp"
        raise _Failure(kind, f"object slipped {drift:.3f} m from the hand")

    def _step(self, position: np.ndarray, yaw: float, grip: float) -> None:
        if self._env_steps >= self.max_env_steps:
            raise _Failure("timeout", f"no result after {self._env_steps} env steps")
        action = np.array([*position, yaw, grip], dtype=np.float32)
        self._obs, _, _, truncated, self._info = self._env.step(action)
        self._env_steps += 1
        if truncated:
            raise _Failure("timeout", "the env truncated the episode")

    # --- planning ---
    def _plan(
        self, start: np.ndarray, goal: np.ndarray, obstacles: np.ndarray, discs: tuple[tuple[float, float], ...]
    ) -> list[np.ndarray]:
        """Waypoints from start to goal: straight if clear, else rise in place first, else go over at
        a safe height. Vertical moves from the start are not checked (the hand came down that way)."""
        if self._clear(start, goal, obstacles, discs):
            return [goal]
        safe = max([goal[2], start[2]] + [top - bottom + CLEARANCE for *_, top in obstacles for _, bottom in discs])
        for rise in (start[2] + 0.02, start[2] + 0.05, start[2] + 0.1, safe):
            up = np.array([start[0], start[1], min(max(rise, start[2]), safe)])
            if self._clear(up, goal, obstacles, discs):
                return [up, goal]
        over = np.array([goal[0], goal[1], safe])
        return [np.array([start[0], start[1], safe]), over, goal]

    @staticmethod
    def _clear(
        start: np.ndarray, goal: np.ndarray, obstacles: np.ndarray, discs: tuple[tuple[float, float], ...]
    ) -> bool:
        """Whether every disc hanging from the grasp point stays off the table and passes above every
        obstacle box along the segment."""
        samples = max(2, int(np.linalg.norm(goal - start) / 0.01) + 1)
        points = np.linspace(start, goal, samples)
        if np.any(points[:, 2] + min(bottom for _, bottom in discs) < TABLE_TOP + CLEARANCE / 2):
            return False
        cx, cy, hx, hy, top = (obstacles[:, i][None, :] for i in range(5))
        for radius, bottom in discs:
            dx = np.abs(points[:, 0:1] - cx) - hx
            dy = np.abs(points[:, 1:2] - cy) - hy
            over = (np.maximum(dx, 0) ** 2 + np.maximum(dy, 0) ** 2) < radius**2
            low = points[:, 2:3] + bottom < top + CLEARANCE
            if np.any(over & low):
                return False
        return True

    def _obstacles(self, exclude: int) -> np.ndarray:
        """Boxes (x, y, half x, half y, top) of other objects and every place fixture."""
        rows = []
        mask = self._obs["object_mask"]
        for slot in np.flatnonzero(mask):
            if slot == exclude:
                continue
            position = self._object_position(slot)
            extents = self._extents(slot)
            half = float(np.hypot(extents[0], extents[1]) / 2)
            rows.append([position[0], position[1], half, half, position[2] + extents[2] / 2])
        for place in self._info["places"].values():
            rows.append([place["position"][0], place["position"][1], *place["footprint"], place["top"]])
        return np.array(rows, dtype=float).reshape(-1, 5)

    # --- perception helpers ---
    def _grasp_pose(self, slot: int, place: dict, obstacles: np.ndarray) -> tuple[np.ndarray, float, float]:
        """Grasp point, gripper yaw and the object's width across the fingers.

        Upright objects are taken at their kind's grasp point across a narrow side (any side for round
        objects); a toppled one at its centre across whatever is narrowest from above. Among the yaws
        allowed, the first choice keeps the wide palm off tall neighbours at both ends of the task; the
        next puts the closing axis square to the carry, since accelerating along it tips a held object."""
        pose = self._obs["object_pose"][slot].astype(float)
        rotation = _rotation(pose[3:])
        size = self._obs["object_size"][slot].astype(float)
        preferred = math.atan2(place["position"][1] - pose[1], place["position"][0] - pose[0])
        if rotation[2, 2] > 0.95:
            spec = catalogue()[self._kinds[int(self._obs["object_kind"][slot])]]
            point = pose[:3] + rotation @ np.array(spec.grasp_point)
            yaw = yaw_of(pose[3:])
            if spec.round:
                width = float(min(size[0], size[1]))
                sides = [(preferred + math.pi / 2 + k * math.pi / 12, width) for k in range(12)]
            else:
                sides = [(yaw, size[0]), (yaw + math.pi / 2, size[1])]
        else:
            extents = self._extents(slot)
            top = pose[2] + extents[2] / 2
            point = np.array([pose[0], pose[1], max(pose[2], top - 0.025)])
            sides = [(0.0, extents[0]), (math.pi / 2, extents[1])]
        narrowest = min(width for _, width in sides)
        release_z = place["position"][2] + self.release_drop + (point[2] - (pose[2] - self._extents(slot)[2] / 2))
        sites = [(point[:2], point[2]), (np.array(place["position"][:2]), release_z)]

        def score(option: tuple[float, float]) -> tuple[bool, float]:
            blocked = any(_palm_blocked(xy, z, option[0], obstacles) for xy, z in sites)
            return blocked, abs(_wrap_half_turn(option[0] - preferred))

        options = [(axis - math.pi / 2, width) for axis, width in sides if width <= narrowest + 1e-3]
        yaw, width = min(options, key=score)
        return point, _wrap_half_turn(yaw), float(width)

    def _extents(self, slot: int) -> np.ndarray:
        """World-axis extents of the object's box, whatever its orientation."""
        rotation = _rotation(self._obs["object_pose"][slot][3:].astype(float))
        return np.abs(rotation) @ self._obs["object_size"][slot].astype(float)

    def _object_position(self, slot: int) -> np.ndarray:
        return self._obs["object_pose"][slot][:3].astype(float)

    def _ee(self) -> np.ndarray:
        return self._obs["ee_pose"][:3].astype(float)

    def _ee_yaw(self) -> float:
        return yaw_of(self._obs["ee_pose"][3:].astype(float))

    def _width(self) -> float:
        return float(self._obs["gripper_width"][0])
