"""Gymnasium tabletop env: a Panda, a table, named places and free-text objects from a scenario.

The env joins a pure PickAndPlaceTask (scene, target, success test; `envs/task.py`) to a robot it
talks to only through a RobotDriver, so the same env runs on the PyBullet driver now and a real or
remote robot later.
Actions are absolute top-down end-effector targets plus a gripper command; every step applies one
with IK and advances a fixed number of physics ticks (steps are counted, never timed).
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.assets import asset_kinds, catalogue, colour_for
from envs.driver import GRIPPER_MAX_WIDTH, RobotDriver, make_driver, rotation_matrix, yaw_of
from envs.layout import (
    FLOOR_Z,
    HAND_OVER,
    HAND_OVER_RGBA,
    MAX_OBJECTS,
    TABLE_CENTER,
    TABLE_HALF,
    TABLE_TOP,
    WORKSPACE_HIGH,
    WORKSPACE_LOW,
    PlaceSpec,
    object_poses,
    random_object_poses,
)
from envs.perception import Percept, perceive
from envs.safety import SafeDriver
from envs.task import DEFAULT_SCENE, PickAndPlaceTask

CAMERA_EYE = (1.15, 0.0, 0.75)
CAMERA_TARGET = (0.45, 0.0, 0.0)
SPAWN_GAP = 0.0005
PERCEPTIONS = ("camera", "tracker")
MAX_GRASP_WIDTH = 0.064
"""Widest narrow side a randomized object gets: the 7.2 cm the open fingers clear, less room for the
perception's millimetres."""
MAX_EE_SPEED = 0.25
"""m/s: the grasp point's Cartesian speed cap. 250 mm/s is the "reduced speed" of ISO 10218-1 (5.6) for a
robot working near people, which a household arm is; the Panda itself allows 1.7 m/s."""
MAX_EE_ACCEL = 1.0
"""m/s^2: gentle next to the Panda's 13 m/s^2 Cartesian limit, so a held object is not shaken loose by
the 0.5-1.0 friction a real grip has."""
MAX_YAW_RATE = 1.5
"""rad/s: the hand's turn, under the 2.61 rad/s of the Panda's last joint (datasheet)."""


def _wrap_angle(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _in_frame(seen: Percept, orientation) -> tuple[float, float, float]:
    """A perceived size along a tracked object's own x and y axes: the footprint's length axis may lie
    along either."""
    turn = abs((seen.yaw - yaw_of(orientation) + math.pi / 2) % math.pi - math.pi / 2)
    length, width, height = seen.size
    return (width, length, height) if turn > math.pi / 4 else (length, width, height)


def _copied(value):
    """A copy of nested dicts and lists of plain values: cheaper than `copy.deepcopy` at every step."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


class TabletopEnv(gym.Env):
    """Pick-and-place on a table: objects and places come from the scenario given to `reset`.

    Args:
        render_mode: None (headless), "human" (PyBullet window, needs $DISPLAY) or "rgb_array".
        camera: add "rgb" and "depth" images of the table to every observation.
        segmentation: with `camera`, also a "segmentation" image: per pixel the slot (row of
            "object_pose") of the object seen there, -1 for the robot, table, places and background.
        speed: "human" mode plays at this multiple of real time (each step sleeps off the simulated
            time it covers); physics never depends on it.
        image_size: (width, height) of camera images and rendered frames.
        substeps: physics ticks per env step.
        max_ee_speed: the commanded grasp point moves at most this fast (m/s) towards the action's
            target, so absolute targets become straight, bounded motions.
        max_ee_accel: and accelerates/brakes at most this hard (m/s^2).
        max_yaw_rate: the gripper's yaw turns at most this fast (rad/s).
        settle_steps: physics ticks run by reset so spawned objects are at rest.
        driver: a RobotDriver, or the name of a registered one to build (see envs.driver.DRIVERS) behind
            the safety limits of envs.safety.SafeDriver (a remote driver's server applies them itself).
        perception: where "object_pose" and "object_size" come from. "camera": one view of the driver's
            scene camera (`RobotDriver.scene_view`) per `reset` or `look`, read by `envs.perception`;
            "tracker": poses from the driver's pose feed every step (tags, motion capture), sizes still
            from the camera. Only the env's scoring (`task_success`) reads the simulator's true poses.
        randomize: vary each scene: collision-free positions over the reachable area, yaw in [0, 2pi),
            size x0.85-1.15, mass x0.7-1.3, friction 0.5-1.0 (see `_vary`); else a grid with jitter.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 60}

    def __init__(
        self,
        render_mode: str | None = None,
        camera: bool = False,
        segmentation: bool = False,
        image_size: tuple[int, int] = (320, 240),
        substeps: int = 2,
        max_ee_speed: float = MAX_EE_SPEED,
        max_ee_accel: float = MAX_EE_ACCEL,
        max_yaw_rate: float = MAX_YAW_RATE,
        settle_steps: int = 2,
        driver: RobotDriver | str = "pybullet",
        speed: float = 1.0,
        perception: str = "camera",
        randomize: bool = False,
    ) -> None:
        if perception not in PERCEPTIONS:
            raise ValueError(f"perception must be one of {PERCEPTIONS}, got {perception!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, got {render_mode!r}")
        if substeps < 1 or settle_steps < 0:
            raise ValueError("substeps must be >= 1 and settle_steps >= 0")
        if segmentation and not camera:
            raise ValueError("segmentation images come with the camera: pass camera=True too")
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.render_mode = render_mode
        self.perception = perception
        self.randomize = bool(randomize)
        self.camera = camera
        self.segmentation = segmentation
        self.speed = speed
        self._deadline = 0.0
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.substeps = substeps
        self.settle_steps = settle_steps
        if isinstance(driver, str):
            wants_images = camera or render_mode == "rgb_array"
            renderer = "egl" if wants_images else "tiny"
            driver = SafeDriver(make_driver(driver, gui=render_mode == "human", renderer=renderer))
        self.driver = driver
        self.max_ee_speed = max_ee_speed
        self.max_ee_accel = max_ee_accel
        self._max_turn = max_yaw_rate * driver.physics_dt * substeps
        # "human" needs a display: only declare it where it can work, so check_env can try every mode.
        usable = [m for m in self.metadata["render_modes"] if m != "human" or os.environ.get("DISPLAY")]
        self.metadata = {
            **self.metadata,
            "render_modes": usable,
            "render_fps": round(1.0 / (driver.physics_dt * substeps)),
        }
        self._kinds = asset_kinds()
        self._spawn_table()
        self.action_space = spaces.Box(
            low=np.array([*WORKSPACE_LOW, -math.pi, -1.0], dtype=np.float32),
            high=np.array([*WORKSPACE_HIGH, math.pi, 1.0], dtype=np.float32),
        )
        self.observation_space = self._make_observation_space()
        self.task: PickAndPlaceTask | None = None
        self._places: tuple[PlaceSpec, ...] = ()
        self._place_bodies: list[int] = []
        self._objects: list[tuple[str, str, int]] = []
        self._scales: list[float] = []
        self._seen: list[Percept | None] = []
        self._seen_arrays: dict[str, np.ndarray] = {}
        self._fixed_info: dict = {}
        self._looks = 0
        self._command = np.zeros(3)
        self._velocity = np.zeros(3)
        self._yaw_command = 0.0
        self._physics_steps = 0
        self._closed = False

    # --- spaces ---
    def _make_observation_space(self) -> spaces.Dict:
        lower, upper = self.driver.joint_limits()
        slack = 0.1
        pose_low = np.array([-5, -5, -5, -1, -1, -1, -1], dtype=np.float32)
        fields: dict[str, spaces.Space] = {
            "joint_positions": spaces.Box(
                np.array(lower, dtype=np.float32) - slack, np.array(upper, dtype=np.float32) + slack
            ),
            "ee_pose": spaces.Box(pose_low, -pose_low),
            "gripper_width": spaces.Box(-0.01, GRIPPER_MAX_WIDTH + 0.01, shape=(1,), dtype=np.float32),
            "object_pose": spaces.Box(np.tile(pose_low, (MAX_OBJECTS, 1)), np.tile(-pose_low, (MAX_OBJECTS, 1))),
            "object_size": spaces.Box(0.0, 1.0, shape=(MAX_OBJECTS, 3), dtype=np.float32),
            "object_kind": spaces.Box(-1, len(self._kinds) - 1, shape=(MAX_OBJECTS,), dtype=np.int64),
            "object_mask": spaces.MultiBinary(MAX_OBJECTS),
            "object_round": spaces.MultiBinary(MAX_OBJECTS),
        }
        if self.camera:
            width, height = self.image_size
            fields["rgb"] = spaces.Box(0, 255, shape=(height, width, 3), dtype=np.uint8)
            fields["depth"] = spaces.Box(0.0, 10.0, shape=(height, width), dtype=np.float32)
        if self.segmentation:
            fields["segmentation"] = spaces.Box(-1, MAX_OBJECTS - 1, shape=(height, width), dtype=np.int32)
        return spaces.Dict(fields)

    def _spawn_table(self) -> None:
        """The table and its legs, created once per env."""
        cx, cy = TABLE_CENTER
        hx, hy = TABLE_HALF
        thickness = 0.04
        leg = (TABLE_TOP - thickness - FLOOR_Z) / 2
        parts = [{"half_extents": [hx, hy, thickness / 2], "offset": [cx, cy, TABLE_TOP - thickness / 2]}]
        for sx in (-1, 1):
            for sy in (-1, 1):
                parts.append(
                    {
                        "half_extents": [0.03, 0.03, leg],
                        "offset": [cx + sx * (hx - 0.05), cy + sy * (hy - 0.05), FLOOR_Z + leg],
                    }
                )
        self.driver.spawn_fixture(parts, [0.0, 0.0, 0.0], [0.72, 0.56, 0.4, 1.0], "")

    # --- reset ---
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Lay out the scene in `options` (see module docs); the default scene when none is given.

        options = {"scene": {"objects": [names], "places": [names]}, "target": {"object": .., "place": ..}}
        Raises ValueError for a bad scene or target before touching the world.
        """
        super().reset(seed=seed)
        options = options or {}
        unknown = set(options) - {"scene", "target"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; expected 'scene' and 'target'")
        task = PickAndPlaceTask.from_options(options.get("scene") or DEFAULT_SCENE, options.get("target"))
        variations = self._vary(task.kinds)
        if task.places != self._places:
            for body in self._place_bodies:
                self.driver.remove_body(body)
            self._place_bodies = [self._spawn_place(spec) for spec in task.places]
            self._places = task.places
        for _, _, body in self._objects:
            self.driver.remove_body(body)
        self._objects, self._scales = [], []
        for name, kind, ((x, y, yaw), scale, mass_factor, friction) in zip(
            task.objects, task.kinds, variations, strict=True
        ):
            z = TABLE_TOP + scale * catalogue()[kind].size[2] / 2 + SPAWN_GAP
            body = self.driver.spawn_object(kind, [x, y, z], yaw, colour_for(name), name, scale, mass_factor, friction)
            self._objects.append((name, kind, body))
            self._scales.append(scale)
        self.driver.reset_robot()
        position, orientation = self.driver.ee_pose()
        self._command = np.array(position)
        self._velocity = np.zeros(3)
        self._yaw_command = yaw_of(orientation)
        self.driver.step(self.settle_steps)
        self._physics_steps = self.settle_steps
        self.task = task
        self._fixed_info = self._scene_info()
        self._deadline = time.perf_counter()
        self._looks = 0
        return self.look()

    def _vary(self, kinds: tuple[str, ...]) -> list[tuple[tuple[float, float, float], float, float, float | None]]:
        """Each object's ((x, y, yaw), size scale, mass factor, friction), drawn from the env's seeded rng.

        Sizes are scaled by 0.85-1.15 but never wider across the narrow side than MAX_GRASP_WIDTH (a
        scene no hand could clear is not a test of the hand), and rounded to whole percent so the
        driver's shape cache stays small."""
        rng = self.np_random
        if not self.randomize:
            return [(pose, 1.0, 1.0, None) for pose in object_poses(rng, len(kinds))]
        scales, radii = [], []
        for kind in kinds:
            spec = catalogue()[kind]
            cap = MAX_GRASP_WIDTH / min(spec.size[:2])
            scale = round(min(float(rng.uniform(0.85, 1.15)), cap), 2)
            scales.append(scale)
            half_x = spec.size[0] / 2 + abs(spec.centre[0])
            radii.append(scale * math.hypot(half_x, spec.size[1] / 2 + abs(spec.centre[1])))
        poses = random_object_poses(rng, radii)
        masses = rng.uniform(0.7, 1.3, size=len(kinds))
        frictions = rng.uniform(0.5, 1.0, size=len(kinds))
        return [
            (pose, scale, float(mass), float(friction))
            for pose, scale, mass, friction in zip(poses, scales, masses, frictions, strict=True)
        ]

    def look(self) -> tuple[dict, dict]:
        """Take a new view of the scene with the scene camera and re-estimate every object from it; returns
        (obs, info). The hand should be out of the view (at envs.layout.LOOK_POINT)."""
        if not self._objects:
            raise RuntimeError("call reset() before look()")
        images = self.driver.scene_view()
        self._seen = perceive(images, self.driver.scene_camera(), [body for _, _, body in self._objects])
        self._seen_arrays = self._percepts()
        self._looks += 1
        return self._observe()

    def _spawn_place(self, spec: PlaceSpec) -> int:
        parts = [{"half_extents": list(part.half_extents), "offset": list(part.offset)} for part in spec.parts]
        rgba = HAND_OVER_RGBA if spec.name == HAND_OVER else colour_for(spec.name)
        return self.driver.spawn_fixture(parts, [spec.x, spec.y, TABLE_TOP], rgba, spec.name)

    def set_target(self, object_name: str, place: str) -> tuple[dict, dict]:
        """Switch the task within the current scene (ValueError for unknown names); returns (obs, info)."""
        if self.task is None:
            raise RuntimeError("call reset() before set_target()")
        self.task = self.task.with_target({"object": object_name, "place": place})
        return self._observe()

    # --- step ---
    def step(self, action):
        if not self._objects:
            raise RuntimeError("call reset() before step()")
        action = np.clip(np.asarray(action, dtype=np.float64), self.action_space.low, self.action_space.high)
        goal = self._ramp(action[:3])
        turn = _wrap_angle(float(action[3]) - self._yaw_command)
        self._yaw_command = _wrap_angle(self._yaw_command + float(np.clip(turn, -self._max_turn, self._max_turn)))
        width = (float(action[4]) + 1.0) / 2.0 * GRIPPER_MAX_WIDTH
        self.driver.apply_action(goal.tolist(), self._yaw_command, width)
        self.driver.step(self.substeps)
        self._physics_steps += self.substeps
        obs, info = self._observe()
        if self.render_mode == "human":
            self._pace()
        success = info["task_success"]
        return obs, float(success), success, False, info

    def _pace(self) -> None:
        """Hold each step to its simulated duration / speed; a slow step is not made up for later."""
        now = time.perf_counter()
        self._deadline = max(self._deadline + self.driver.physics_dt * self.substeps / self.speed, now)
        if self._deadline > now:
            time.sleep(self._deadline - now)

    def _ramp(self, target: np.ndarray) -> np.ndarray:
        """Next commanded grasp point towards `target`: speed and acceleration bounded, braking in time.

        Absolute targets would otherwise jerk the arm, and a jerk swings a held object out of the grip."""
        dt = self.driver.physics_dt * self.substeps
        offset = target - self._command
        distance = float(np.linalg.norm(offset))
        if distance < 1e-9:
            self._velocity = np.zeros(3)
            return self._command
        direction = offset / distance
        speed = max(0.0, float(self._velocity @ direction)) + self.max_ee_accel * dt
        speed = min(speed, self.max_ee_speed, math.sqrt(2 * self.max_ee_accel * distance))
        advance = min(speed * dt, distance)
        self._velocity = direction * (advance / dt)
        self._command = self._command + direction * advance
        return self._command

    # --- observation ---
    def _percepts(self) -> dict[str, np.ndarray]:
        """The object part of the observation as the last look saw it. Built once per look, not every step:
        a step only moves the arm."""
        poses = np.zeros((MAX_OBJECTS, 7), dtype=np.float32)
        poses[:, 6] = 1.0
        sizes = np.zeros((MAX_OBJECTS, 3), dtype=np.float32)
        kinds = np.full(MAX_OBJECTS, -1, dtype=np.int64)
        mask = np.zeros(MAX_OBJECTS, dtype=np.int8)
        round_ = np.zeros(MAX_OBJECTS, dtype=np.int8)
        for slot, ((_, kind, _), seen) in enumerate(zip(self._objects, self._seen, strict=True)):
            kinds[slot] = self._kinds.index(kind)
            if seen is None:
                continue  # not in view: the robot does not know where it is
            poses[slot], sizes[slot] = [*seen.position, *seen.quaternion], seen.size
            mask[slot] = 1
            round_[slot] = seen.round
        return {
            "object_pose": poses,
            "object_size": sizes,
            "object_kind": kinds,
            "object_mask": mask,
            "object_round": round_,
        }

    def _scene_info(self) -> dict:
        """The parts of info fixed for an episode (names, slots, places), built once per reset."""
        return {
            "objects": {name: slot for slot, (name, _, _) in enumerate(self._objects)},
            "object_kinds": {name: kind for name, kind, _ in self._objects},
            "places": {spec.name: spec.as_info(i) for i, spec in enumerate(self._places)},
        }

    def _observe(self) -> tuple[dict, dict]:
        d = self.driver
        position, orientation = d.ee_pose()
        objects = {key: array.copy() for key, array in self._seen_arrays.items()}
        if self.perception == "tracker":
            tracked = d.body_poses([body for _, _, body in self._objects])
            for slot, seen in enumerate(self._seen):
                if seen is not None:
                    objects["object_pose"][slot] = [*tracked[slot][0], *tracked[slot][1]]
                    objects["object_size"][slot] = _in_frame(seen, tracked[slot][1])
        obs = {
            "joint_positions": np.array(d.joint_positions(), dtype=np.float32),
            "ee_pose": np.array([*position, *orientation], dtype=np.float32),
            "gripper_width": np.array([d.gripper_width()], dtype=np.float32),
            **objects,
        }
        if self.camera:
            obs.update(self._image())
        target = self.task.target if self.task is not None else None
        info = {
            **_copied(self._fixed_info),  # Gymnasium: every call returns data of its own
            "target": None if target is None else {"object": target[0], "place": target[1]},
            "task_success": self._achieved(),
            "physics_steps": self._physics_steps,
            "looks": self._looks,
        }
        return obs, info

    def _achieved(self) -> bool:
        """The task's success test on the target object's true state: the env scoring, which alone may
        read the simulator's poses."""
        task = self.task
        if task is None or task.target is None:
            return False
        slot = task.target_slot
        body = self._objects[slot][2]
        ((position, _),) = self.driver.body_poses([body])
        if not task.in_target_place(position, self._scales[slot]):
            return False  # spares the speed and contact queries
        return task.is_success(
            position, self.driver.body_speeds([body])[0], self.driver.touches_robot(body), self._scales[slot]
        )

    def true_objects(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each object's true footprint centre (at mid-height) and size from the simulator, for scoring
        perception in benchmarks and tests; controllers must not call it."""
        bodies = [body for _, _, body in self._objects]
        truth = {}
        for (name, kind, _), (position, orientation), scale in zip(
            self._objects, self.driver.body_poses(bodies), self._scales, strict=True
        ):
            spec = catalogue()[kind]
            rotation = rotation_matrix(orientation)
            centre = np.asarray(position) + rotation @ (scale * np.asarray(spec.centre))
            truth[name] = (centre, scale * np.asarray(spec.size))
        return truth

    def _image(self) -> dict[str, np.ndarray]:
        width, height = self.image_size
        if not self.segmentation:
            return self.driver.camera_image(width, height, CAMERA_EYE, CAMERA_TARGET)
        images = self.driver.camera_image(width, height, CAMERA_EYE, CAMERA_TARGET, segmentation=True)
        slots = np.full(images["segmentation"].shape, -1, dtype=np.int32)
        for slot, (_, _, body) in enumerate(self._objects):
            slots[images["segmentation"] == body] = slot
        images["segmentation"] = slots
        return images

    # --- render / close ---
    def render(self):
        """An RGB frame for "rgb_array"; the PyBullet window draws itself in "human" mode."""
        if self.render_mode == "rgb_array":
            return self._image()["rgb"]
        return None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.driver.close()
