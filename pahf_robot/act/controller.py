"""Scripted top-down pick-and-place that drives the tabletop env through its action interface only.

The controller sees what a real robot stack would: the arm's own sensing (end-effector pose, gripper
width) and the objects as perceived (pose, size and roundness from the camera or a tracker, refreshed by
`env.look()`), plus `info` (names -> slots, place drop positions). It never reads the asset catalogue or
the simulator's poses: a drop is noticed the way a real gripper notices it, by the fingers closing past
where they stopped on the object. It sends absolute end-effector targets and gripper commands through
`env.step`; IK and physics live below the env. Grasps are frictional only. After a missed grasp or a drop
it looks again and retries once. Physical failures come back as an Outcome, never as an exception.
Where to grasp and how to pass obstacles is pure geometry (`pahf_robot.act.grasp`); one `_Attempt`
holds what changes while a single pick-and-place runs, so the controller itself keeps only settings.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass

import numpy as np

from envs.driver import GRIPPER_MAX_WIDTH, yaw_of
from envs.layout import LOOK_POINT, reachable
from pahf_robot.act.grasp import (
    CLEARANCE,
    CLOSED,
    FINGERTIP_DEPTH,
    HAND_DISCS,
    OPEN,
    PAD_GAP,
    grasp_pose,
    gripper_command,
    obstacle_boxes,
    opening,
    path_clear,
    plan_path,
    world_extents,
    wrap_half_turn,
    wrist_friendly_yaw,
)
from pahf_robot.core.types import FailureKind, Outcome, Target

log = logging.getLogger(__name__)

STALL_STEPS = 20
"""Env steps (a third of a simulated second) without progress before a move counts as stuck."""
CLOSING_STEPS = 45
"""Env steps the fingers get to close on an object, or to open off it: a full 8 cm stroke at 0.1 m/s."""
SETTLE_STEPS = 40
"""Env steps (two thirds of a simulated second) a released object gets to stop rocking: tall ones take that."""
LOST_WIDTH = 0.006
"""The fingers closing this much past where they stopped on the object means it has left the hand."""
LIFTED = 0.01
"""Lost after the hand rose this far above the grasp is a drop; before, a missed grasp."""
RETRIED = ("missed_grasp", "dropped")
"""Failures worth a second attempt after looking again."""


class _Failure(Exception):
    """Raised inside a phase to stop the episode with one of FAILURE_KINDS."""

    def __init__(self, kind: FailureKind, why: str) -> None:
        super().__init__(why)
        self.kind = kind


@dataclass
class _Held:
    """The object being carried: its perceived extents, how far it hangs below the grasp point, its
    radius for clearance, where it was grasped and the finger width the grasp stopped at."""

    size: np.ndarray
    hang: float
    radius: float
    grasp: np.ndarray
    width: float


class GraspController:
    """Pick `target.object`, then put it at `target.place` (the hand-over zone for bring-me tasks).

    Args:
        max_env_steps: env steps allowed per `execute` (retry included) before giving up with "timeout".
        retreat: lift the open hand clear of the placed object at the end.
        release_drop: the object is let go this far above its place's surface (m).
        retries: second attempts allowed after a missed grasp or a drop.
    """

    def __init__(
        self, max_env_steps: int = 1500, retreat: bool = True, release_drop: float = 0.004, retries: int = 1
    ) -> None:
        self.max_env_steps = max_env_steps
        self.retreat = retreat
        self.release_drop = release_drop
        self.retries = retries

    def execute(self, env, target: Target) -> Outcome:
        """Run one pick-and-place, retrying once after a missed grasp or a drop; ValueError for names not
        in the scene, else an Outcome (its failure is the last attempt's)."""
        attempt = _Attempt(self, env, target)
        retries = 0
        while True:
            try:
                attempt.run()
                success = bool(attempt.info["task_success"])
                failure = None if success else "misplaced"
                break
            except _Failure as stop:
                log.debug("%s -> %s: %s (%s)", target.object, target.place, stop.kind, stop)
                success, failure = False, stop.kind
                if stop.kind not in RETRIED or retries >= self.retries:
                    break
                retries += 1
        steps = attempt.info["physics_steps"] - attempt.start
        return Outcome(success=success, failure=failure, steps=steps, retries=retries)

    def gripper_for(self, phase: str, travelled: float) -> float:
        """Gripper command at each step while holding the object in `phase` ("carry" or "lower"),
        `travelled` metres from where it was grasped. Closed; a hook so tests can drop things."""
        return CLOSED


class _Attempt:
    """One pick-and-place in progress: the latest observation and info, and the env steps spent."""

    def __init__(self, controller: GraspController, env, target: Target) -> None:
        self.controller = controller
        self.env = env
        self.target = target
        self.obs, self.info = env.unwrapped.set_target(target.object, target.place)
        self.start = self.info["physics_steps"]
        self.env_steps = 0
        # A view taken with the hand at the look point is current until the hand touches something.
        self.fresh = bool(np.linalg.norm(self._ee() - np.array(LOOK_POINT)) < 0.02)

    def run(self) -> None:
        """One try: look (unless the view is fresh), reach, grasp, carry, release."""
        target = self.target
        slot = self.info["objects"][target.object]
        place = self.info["places"][target.place]
        self._look()
        if not self.obs["object_mask"][slot]:
            raise _Failure("unreachable", f"the camera does not see {target.object}")
        position = self._object_position(slot)
        if not reachable(*position[:2], position[2]):
            raise _Failure("unreachable", f"{target.object} at {np.round(position, 3)} is out of reach")
        obstacles = obstacle_boxes(self.obs, self.info, exclude=slot)
        grasp, yaw, width = self._grasp_pose(slot, place, obstacles)
        if width > GRIPPER_MAX_WIDTH - PAD_GAP:
            raise _Failure("unreachable", f"{target.object} is {width:.3f} m across its narrowest side: too wide")
        yaw = wrist_friendly_yaw(yaw, grasp, np.array(place["position"]))
        pre_open = gripper_command(opening(width))
        top = position[2] + self._extents(slot)[2] / 2
        pre_grasp = np.array([grasp[0], grasp[1], max(grasp[2], top + FINGERTIP_DEPTH + CLEARANCE + 0.004)])

        self.fresh = False  # from here on the hand may move things
        self._leave_low(pre_open)
        approach = plan_path(self._ee(), pre_grasp, obstacles, HAND_DISCS)
        self._follow(approach, obstacles, HAND_DISCS, yaw, pre_open, phase="approach")
        self._move(pre_grasp, yaw, pre_open, tolerance=0.008, yaw_tolerance=0.05, phase="approach")
        try:
            self._move(grasp, yaw, pre_open, tolerance=0.004, yaw_tolerance=0.03, phase="descend")
        except _Failure as stop:
            raise _Failure("missed_grasp", f"the fingers landed on something: {stop}") from stop
        held = self._close(slot, grasp, yaw, width)

        x, y, surface = place["position"]
        release = np.array([x, y, surface + self.controller.release_drop + held.hang])
        pre_release = np.array([x, y, max(release[2], place["top"] + held.hang + CLEARANCE + 0.004)])
        discs = HAND_DISCS + ((held.radius, -held.hang),)
        path = plan_path(self._ee(), pre_release, obstacles, discs)
        self._follow(path, obstacles, discs, yaw, CLOSED, held=held, phase="carry")
        self._move(pre_release, yaw, CLOSED, tolerance=0.01, held=held, phase="carry")
        self._move(release, yaw, CLOSED, tolerance=0.006, held=held, phase="lower", stop_on_contact=True)
        self._release(release, yaw, width)
        if self.controller.retreat:
            # The fingertips rise past the object's perceived top with room for a few percent of size error.
            clear = release[2] + 1.1 * held.size[2] - held.hang + FINGERTIP_DEPTH + CLEARANCE
            self._move(np.array([release[0], release[1], clear]), yaw, OPEN, tolerance=0.01, phase="retreat")
        self._settle(yaw)

    def _look(self) -> None:
        """Perceive the scene again unless nothing has been touched since the last view: take the open
        hand up and out of the camera's way, then look."""
        if self.fresh:
            return
        self._leave_low(gripper_command(GRIPPER_MAX_WIDTH))
        self._move(np.array(LOOK_POINT), self._ee_yaw(), OPEN, tolerance=0.02, phase="look")
        self.obs, self.info = self.env.unwrapped.look()
        self.fresh = True

    def _leave_low(self, grip: float) -> None:
        """Rise straight up first when a previous task left the hand down among objects."""
        ee = self._ee()
        if ee[2] < 0.12:
            self._move(np.array([ee[0], ee[1], 0.15]), self._ee_yaw(), grip, tolerance=0.02)

    def _close(self, slot: int, grasp: np.ndarray, yaw: float, width: float) -> _Held:
        """Squeeze until the fingers stop; a hand that closes past the object missed it."""
        previous = self._width()
        for _ in range(CLOSING_STEPS):
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
            size=extents,
            hang=ee[2] - (position[2] - extents[2] / 2),
            radius=float(np.hypot(extents[0], extents[1]) / 2),
            grasp=ee,
            width=self._width(),
        )

    def _release(self, release: np.ndarray, yaw: float, width: float) -> None:
        """Open the hand until the fingers are clear of the object's sides."""
        for _ in range(CLOSING_STEPS):
            self._step(release, yaw, OPEN)
            if self._width() >= min(GRIPPER_MAX_WIDTH - 0.002, width + PAD_GAP + 0.012):
                return

    def _settle(self, yaw: float) -> None:
        """Hold still until the released object rests in its place (it may rock for a moment)."""
        hold = self._ee()
        for _ in range(SETTLE_STEPS):
            if self.info["task_success"]:
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
                    error < 0.05 and path_clear(self._ee(), following, obstacles, discs)
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
        stop_on_contact: bool = False,
    ) -> None:
        """Step towards `goal` until the grasp point is within `tolerance` (or `blend(error)` says the
        next leg may start), failing as unreachable when progress stalls; with `stop_on_contact` a stall
        means what is held has come to rest on something, which ends the move there."""
        best, best_yaw, stalled, start = math.inf, math.inf, 0, self.env_steps
        while True:
            error = float(np.linalg.norm(self._ee() - goal))
            yaw_error = abs(wrap_half_turn(self._ee_yaw() - yaw))
            if yaw_error <= yaw_tolerance and (error <= tolerance or (blend is not None and blend(error))):
                log.debug("%s: %d env steps to %s", phase, self.env_steps - start, np.round(goal, 3))
                return
            # Progress is either: the hand may still be turning at its yaw rate after it arrived.
            if error < best - 5e-4 or (yaw_error > yaw_tolerance and yaw_error < best_yaw - 0.005):
                best, best_yaw, stalled = min(best, error), min(best_yaw, yaw_error), 0
            else:
                stalled += 1
                if stalled > STALL_STEPS:
                    if stop_on_contact:
                        log.debug("%s: stopped %.3f m short of %s", phase, error, np.round(goal, 3))
                        return
                    raise _Failure("unreachable", f"{phase}: stuck {error:.3f} m from {np.round(goal, 3)}")
            if held is not None:
                grip = self.controller.gripper_for(phase, float(np.linalg.norm(self._ee() - held.grasp)))
            self._step(goal, yaw, grip)
            if held is not None:
                self._check_held(held)

    def _check_held(self, held: _Held) -> None:
        """The fingers must stay where the object stopped them: closing further means it slipped out,
        opening means the hand let go. Lost before the hand rose is a missed grasp, after that a drop."""
        width = self._width()
        if held.width - LOST_WIDTH <= width <= held.width + LOST_WIDTH:
            return
        kind = "dropped" if self._ee()[2] - held.grasp[2] > LIFTED else "missed_grasp"
        raise _Failure(kind, f"finger width {width:.3f} m, {held.width:.3f} m when the object was grasped")

    def _step(self, position: np.ndarray, yaw: float, grip: float) -> None:
        if self.env_steps >= self.controller.max_env_steps:
            raise _Failure("timeout", f"no result after {self.env_steps} env steps")
        action = np.array([*position, yaw, grip], dtype=np.float32)
        self.obs, _, _, truncated, self.info = self.env.step(action)
        self.env_steps += 1
        if truncated:
            raise _Failure("timeout", "the env truncated the episode")

    def _grasp_pose(self, slot: int, place: dict, obstacles: np.ndarray) -> tuple[np.ndarray, float, float]:
        pose = self.obs["object_pose"][slot].astype(float)
        size = self.obs["object_size"][slot].astype(float)
        round_ = bool(self.obs["object_round"][slot])
        return grasp_pose(pose, size, round_, place, obstacles, self.controller.release_drop)

    def _extents(self, slot: int) -> np.ndarray:
        return world_extents(self.obs["object_pose"][slot].astype(float), self.obs["object_size"][slot].astype(float))

    def _object_position(self, slot: int) -> np.ndarray:
        return self.obs["object_pose"][slot][:3].astype(float)

    def _ee(self) -> np.ndarray:
        return self.obs["ee_pose"][:3].astype(float)

    def _ee_yaw(self) -> float:
        return yaw_of(self.obs["ee_pose"][3:].astype(float))

    def _width(self) -> float:
        return float(self.obs["gripper_width"][0])
