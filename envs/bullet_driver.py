"""PyBullet implementation of RobotDriver: a Franka Panda on a table, one BulletClient per driver.

The robot and floor load once; objects are spawned from shapes cached per asset kind and size scale, so
a reset costs a few createMultiBody calls instead of URDF parsing. Grasping is purely frictional.

The physical constants, each with its source (the env's Cartesian limits live in envs/tabletop.py):
- JOINT_TORQUES: 87 N·m (joints 1-4), 12 N·m (joints 5-7), the Franka Emika Panda datasheet ("Panda
  technical data", max joint torque); the motors never push harder than a real arm's.
- JOINT_SPEEDS: 2.175 rad/s (joints 1-4), 2.61 rad/s (joints 5-7), the same datasheet (max joint velocity).
- HAND_FORCE: 70 N, the Franka Hand's continuous force (datasheet: 70 N continuous, 140 N peak); each
  mirrored finger pushes with it, so the object is squeezed with 70 N.
- FINGER_SPEED: 0.05 m/s per finger, so the width changes at 0.1 m/s: libfranka's largest gripper speed
  (franka::Gripper::move), so grasps take their real time (a full 8 cm stroke 0.8 s).
- FINGER_FRICTION 1.0 and the objects' 0.5-1.0 (default 0.8): lateral friction coefficients of plastic or
  silicone fingertip pads on cardboard, glass, ceramic and plastic packaging lie in 0.4-1.0 (engineering
  tables of dry friction); Bullet multiplies the two, so a grip sees 0.5-1.0. No friction anchor: a
  real contact slips once its friction cone is left, and so must a simulated one.
- Masses: assets/make_assets.py computes each kind's mass from its collision volume and a density
  stated there; the env may scale it by 0.7-1.3.
- physics_dt 1/120 s and 15 solver iterations: simulated time costs wall time at real arm speeds, so
  the rate is half Bullet's default 240 Hz. Measured on 60 randomized grasp-benchmark episodes: 120 Hz
  with 15 iterations succeeds as often as 240 Hz with 25 (0.98) at half the ticks; 10 iterations let
  objects slip out of the 70 N grip (0.87).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence

import numpy as np

from envs.assets import AssetSpec, catalogue
from envs.driver import GRIPPER_MAX_WIDTH, Pose, RobotDriver
from envs.layout import FLOOR_Z
from envs.quiet import silenced_c_output

with silenced_c_output():  # `import pybullet` prints a build-time banner from C into the user's terminal
    import pybullet as p
    import pybullet_data
    from pybullet_utils import bullet_client

log = logging.getLogger(__name__)

ARM_JOINTS = list(range(7))
FINGER_JOINTS = [9, 10]
GRASP_LINK = 11
JOINT_TORQUES = [87.0] * 4 + [12.0] * 3
"""N·m, Panda datasheet (see the module docstring)."""
JOINT_SPEEDS = [2.175] * 4 + [2.61] * 3
"""rad/s, Panda datasheet."""
HAND_FORCE = 70.0
"""N, Franka Hand continuous force."""
FINGER_SPEED = 0.05
"""m/s per finger joint."""
FINGER_FRICTION = 1.0
OBJECT_FRICTION = 0.8
"""Lateral friction of an object when the env does not say otherwise."""
FINGER_SPINNING, OBJECT_SPINNING = 0.1, 0.03
"""Torsional friction: Bullet multiplies the two into a length (0.003 m) times the normal force. A pad
pressed flat on a face resists turning with about mu x F x 2/3 of its contact radius: 0.8 x 70 N x 2/3 x
6 mm = 0.2 N·m, i.e. 0.003 m; without it a grip is two points and a tall object pivots between them."""
# Arm folded up and back with the grasp point at (0.25, 0, 0.42), pointing down: behind every object as
# the scene camera sees them, so the hand hides none of them when the robot looks.
HOME = [0.0, -1.0179, 0.0, -2.6396, 0.0, 1.6216, 0.7854]


class _BoundCalls:
    """A BulletClient whose functions are bound to its client once: BulletClient binds the client id anew
    on every attribute access, 2.4 million times (3% of the time) in one persona's default run."""

    def __init__(self, connection: bullet_client.BulletClient) -> None:
        self._connection = connection

    def __getattr__(self, name: str):
        attribute = getattr(self._connection, name)
        if name != "disconnect":  # BulletClient marks itself closed when this attribute is fetched
            setattr(self, name, attribute)
        return attribute


class PyBulletDriver(RobotDriver):
    """Simulated Panda. `gui` opens a window (needs $DISPLAY); `renderer="egl"` renders headless on
    the GPU-less EGL plugin when it loads, else the tiny CPU renderer."""

    def __init__(
        self,
        gui: bool = False,
        renderer: str = "tiny",
        floor_z: float = FLOOR_Z,
        physics_dt: float = 1.0 / 120.0,
        solver_iterations: int = 15,
        arm_gain: float = 0.3,
    ) -> None:
        if gui and not os.environ.get("DISPLAY"):
            raise RuntimeError(
                "render_mode='human' opens a PyBullet window but $DISPLAY is not set; run under a display "
                "(e.g. `xvfb-run -a ...`) or use render_mode='rgb_array'"
            )
        self.physics_dt = physics_dt
        self._gui = gui
        self._arm_gain = arm_gain
        with silenced_c_output():  # the GUI's OpenGL and thread chatter
            self._client = _BoundCalls(bullet_client.BulletClient(connection_mode=p.GUI if gui else p.DIRECT))
        self._closed = False
        c = self._client
        if gui:
            c.configureDebugVisualizer(c.COV_ENABLE_RENDERING, 0)
            c.configureDebugVisualizer(c.COV_ENABLE_GUI, 0)
        c.setAdditionalSearchPath(pybullet_data.getDataPath())
        c.setGravity(0, 0, -9.81)
        c.setPhysicsEngineParameter(
            fixedTimeStep=physics_dt,
            numSolverIterations=solver_iterations,
            deterministicOverlappingPairs=1,
            enableSAT=1,
        )
        self._plugin = -1
        self._hardware_render = gui
        if renderer == "egl" and not gui:
            self._load_egl()
        c.loadURDF("plane.urdf", [0, 0, floor_z])
        self.robot = c.loadURDF(
            "franka_panda/panda.urdf", [0, 0, 0], useFixedBase=True, flags=p.URDF_INITIALIZE_SAT_FEATURES
        )
        for finger in FINGER_JOINTS:
            c.changeDynamics(self.robot, finger, lateralFriction=FINGER_FRICTION, spinningFriction=FINGER_SPINNING)
        # Mirror the fingers (the real hand's mimic joint): with two independent force-limited fingers a
        # squeezed object could slide sideways with both of them under inertia.
        gear = c.createConstraint(
            self.robot, FINGER_JOINTS[0], self.robot, FINGER_JOINTS[1], p.JOINT_GEAR, [1, 0, 0], [0, 0, 0], [0, 0, 0]
        )
        c.changeConstraint(gear, gearRatio=-1, erp=0.1, maxForce=100)
        lower, upper = [], []
        for j in ARM_JOINTS:
            info = c.getJointInfo(self.robot, j)
            lower.append(info[8])
            upper.append(info[9])
        self._limits = (lower, upper)
        self._kinds: dict[tuple[str, float], tuple[int, int, AssetSpec]] = {}
        self._fixture_shapes: dict[tuple, tuple[int, int]] = {}
        self._labels: dict[int, int] = {}
        self._text: list[tuple[int, str, tuple[float, ...]]] = []
        self._last_ik: tuple[tuple[float, ...], list[float], bool] | None = None
        self.reset_robot()
        if gui:
            c.configureDebugVisualizer(c.COV_ENABLE_RENDERING, 1)
            c.resetDebugVisualizerCamera(1.3, 50, -35, [0.45, 0, 0])

    def _load_egl(self) -> None:
        """Headless OpenGL through the plugin shipped with pybullet; fall back to the CPU renderer."""
        plugin = importlib.util.find_spec("eglRenderer")
        if plugin is not None and plugin.origin:
            with silenced_c_output():  # the plugin reports the EGL device it picked
                self._plugin = self._client.loadPlugin(plugin.origin, "_eglRendererPlugin")
        if self._plugin >= 0:
            self._hardware_render = True
        else:
            log.warning("eglRenderer plugin did not load; rendering with the tiny CPU renderer")

    # --- robot ---
    def reset_robot(self) -> None:
        c = self._client
        self._last_ik = None
        for j, q in zip(ARM_JOINTS, HOME, strict=True):
            c.resetJointState(self.robot, j, q, 0.0)
        for j in FINGER_JOINTS:
            c.resetJointState(self.robot, j, GRIPPER_MAX_WIDTH / 2, 0.0)
        self._command_joints(HOME, GRIPPER_MAX_WIDTH)

    def _command_joints(self, arm: Sequence[float], width: float) -> None:
        c = self._client
        for j, q, force, speed in zip(ARM_JOINTS, arm, JOINT_TORQUES, JOINT_SPEEDS, strict=True):
            c.setJointMotorControl2(
                self.robot,
                j,
                p.POSITION_CONTROL,
                targetPosition=q,
                force=force,
                maxVelocity=speed,
                positionGain=self._arm_gain,
            )
        half = min(max(width, 0.0), GRIPPER_MAX_WIDTH) / 2
        for j in FINGER_JOINTS:
            c.setJointMotorControl2(
                self.robot,
                j,
                p.POSITION_CONTROL,
                targetPosition=half,
                force=HAND_FORCE,
                maxVelocity=FINGER_SPEED,
            )

    def apply_action(self, position: Sequence[float], yaw: float, gripper_width: float) -> None:
        self._command_joints(self._solve_ik(list(position), yaw), gripper_width)

    def _solve_ik(self, position: list[float], yaw: float, rounds: int = 5, tolerance: float = 5e-4) -> list[float]:
        """Joint angles putting the grasp point at `position`, pointing down at `yaw`.

        PyBullet's IK linearises around the body's current joint state, so one call from a far
        configuration is centimetres off. Pose the arm at the previous solution (targets move little
        between steps), re-solve from each solution until it converges, then restore the exact joint
        positions and velocities so the simulation is untouched. A repeated target reuses a converged
        answer (an unconverged one is refined further from where it stopped)."""
        target = (*position, yaw)
        if self._last_ik is not None and self._last_ik[0] == target and self._last_ik[2]:
            return self._last_ik[1]
        c = self._client
        orientation = c.getQuaternionFromEuler([np.pi, 0.0, yaw])
        saved = c.getJointStates(self.robot, ARM_JOINTS)
        if self._last_ik is not None:
            self._pose_arm(self._last_ik[1])
        solution, converged = [state[0] for state in saved], False
        for _ in range(rounds):
            solution = list(
                c.calculateInverseKinematics(
                    self.robot, GRASP_LINK, position, orientation, maxNumIterations=20, residualThreshold=1e-5
                )
            )[:7]
            self._pose_arm(solution)
            state = c.getLinkState(self.robot, GRASP_LINK, computeForwardKinematics=True)
            turned = 1.0 - abs(float(np.dot(state[5], orientation)))
            converged = bool(np.linalg.norm(np.subtract(state[4], position)) < tolerance and turned < 1e-6)
            if converged:
                break
        self._pose_arm([state[0] for state in saved], [state[1] for state in saved])
        self._last_ik = (target, solution, converged)
        return solution

    def _pose_arm(self, angles: Sequence[float], velocities: Sequence[float] | None = None) -> None:
        velocities = velocities if velocities is not None else [0.0] * len(angles)
        self._client.resetJointStatesMultiDof(
            self.robot, ARM_JOINTS, targetValues=[[q] for q in angles], targetVelocities=[[v] for v in velocities]
        )

    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self._client.stepSimulation()

    def joint_positions(self) -> list[float]:
        return [state[0] for state in self._client.getJointStates(self.robot, ARM_JOINTS)]

    def joint_limits(self) -> tuple[list[float], list[float]]:
        return list(self._limits[0]), list(self._limits[1])

    def gripper_width(self) -> float:
        return sum(state[0] for state in self._client.getJointStates(self.robot, FINGER_JOINTS))

    def ee_pose(self) -> Pose:
        state = self._client.getLinkState(self.robot, GRASP_LINK, computeForwardKinematics=True)
        return list(state[4]), list(state[5])

    # --- scene ---
    def _kind_shapes(self, kind: str, scale: float) -> tuple[int, int, AssetSpec]:
        """Collision and visual shapes of a kind at a size scale, created on first use and shared by every
        spawn (the env rounds scales to whole percent, so there are few)."""
        key = (kind, scale)
        if key not in self._kinds:
            spec = catalogue()[kind]
            c = self._client
            mesh_scale = [scale] * 3
            # SAT features make the finger pads touch a part's faces at several points, not one.
            collision = c.createCollisionShapeArray(
                shapeTypes=[p.GEOM_MESH] * len(spec.collision),
                fileNames=list(spec.collision),
                meshScales=[mesh_scale] * len(spec.collision),
                flags=[p.URDF_INITIALIZE_SAT_FEATURES] * len(spec.collision),
            )
            visual = c.createVisualShape(p.GEOM_MESH, fileName=spec.mesh, meshScale=mesh_scale)
            self._kinds[key] = (collision, visual, spec)
        return self._kinds[key]

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
        collision, visual, spec = self._kind_shapes(kind, scale)
        c = self._client
        # Mass follows the volume (scale cubed) times the density, times the env's variation of it.
        mass = spec.mass * scale**3 * mass_factor
        inertia = [value * (mass / spec.mass) * scale**2 for value in spec.inertia]
        body = c.createMultiBody(
            baseMass=mass,
            baseCollisionShapeIndex=collision,
            baseVisualShapeIndex=visual,
            basePosition=list(position),
            baseOrientation=c.getQuaternionFromEuler([0.0, 0.0, yaw]),
        )
        lateral = OBJECT_FRICTION if friction is None else friction
        c.changeDynamics(
            body, -1, lateralFriction=lateral, spinningFriction=OBJECT_SPINNING, localInertiaDiagonal=inertia
        )
        c.changeVisualShape(body, -1, rgbaColor=list(rgba))
        self._label(body, label, spec.size[2] * scale / 2 + 0.03)
        return body

    def spawn_fixture(self, parts: Sequence[dict], position: Sequence[float], rgba: Sequence[float], label: str) -> int:
        key = tuple((tuple(part["half_extents"]), tuple(part["offset"])) for part in parts)  # colour is per body
        c = self._client
        if key not in self._fixture_shapes:
            halves = [list(part["half_extents"]) for part in parts]
            offsets = [list(part["offset"]) for part in parts]
            collision = c.createCollisionShapeArray(
                shapeTypes=[p.GEOM_BOX] * len(parts), halfExtents=halves, collisionFramePositions=offsets
            )
            visual = c.createVisualShapeArray(
                shapeTypes=[p.GEOM_BOX] * len(parts), halfExtents=halves, visualFramePositions=offsets
            )
            self._fixture_shapes[key] = (collision, visual)
        collision, visual = self._fixture_shapes[key]
        body = c.createMultiBody(
            baseMass=0.0, baseCollisionShapeIndex=collision, baseVisualShapeIndex=visual, basePosition=list(position)
        )
        c.changeDynamics(body, -1, lateralFriction=1.0)
        c.changeVisualShape(body, -1, rgbaColor=list(rgba))
        top = max(part["offset"][2] + part["half_extents"][2] for part in parts)
        self._label(body, label, top + 0.05)
        return body

    def _label(self, body: int, text: str, height: float) -> None:
        """Name tags are GUI-only debug text riding on the body."""
        if self._gui and text:
            self._labels[body] = self._client.addUserDebugText(
                text, [0, 0, height], textColorRGB=[0.1, 0.1, 0.1], textSize=1.1, parentObjectUniqueId=body
            )

    def remove_body(self, handle: int) -> None:
        if handle in self._labels:
            self._client.removeUserDebugItem(self._labels.pop(handle))
        self._client.removeBody(handle)

    def body_poses(self, handles: Sequence[int]) -> list[Pose]:
        poses = []
        for handle in handles:
            position, orientation = self._client.getBasePositionAndOrientation(handle)
            poses.append((list(position), list(orientation)))
        return poses

    def body_speeds(self, handles: Sequence[int]) -> list[float]:
        return [float(np.linalg.norm(self._client.getBaseVelocity(handle)[0])) for handle in handles]

    def touches_robot(self, handle: int) -> bool:
        return bool(self._client.getContactPoints(bodyA=self.robot, bodyB=handle))

    def body_count(self) -> int:
        return self._client.getNumBodies()

    # --- sensing and lifecycle ---
    def camera_image(
        self,
        width: int,
        height: int,
        eye: Sequence[float],
        target: Sequence[float],
        fov: float = 60.0,
        segmentation: bool = False,
    ) -> dict[str, np.ndarray]:
        c = self._client
        near, far = 0.05, 5.0
        view = c.computeViewMatrix(list(eye), list(target), [0, 0, 1])
        projection = c.computeProjectionMatrixFOV(fov, width / height, near, far)
        renderer = p.ER_BULLET_HARDWARE_OPENGL if self._hardware_render else p.ER_TINY_RENDERER
        _, _, rgba, depth, mask = c.getCameraImage(
            width, height, view, projection, renderer=renderer, flags=0 if segmentation else p.ER_NO_SEGMENTATION_MASK
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()
        buffer = np.asarray(depth, dtype=np.float32).reshape(height, width)
        metres = (far * near / (far - (far - near) * buffer)).astype(np.float32)
        images = {"rgb": rgb, "depth": metres}
        if segmentation:
            images["segmentation"] = np.asarray(mask, dtype=np.int32).reshape(height, width)
        return images

    def show_text(self, lines: Sequence[str]) -> None:
        """Lines of debug text in the window's top-left corner, placed just in front of the current
        GUI camera so they read like a heads-up display; nothing without a window. Only changed lines
        are redrawn: each debug text item costs a round trip to the GUI's render thread."""
        if not self._gui:
            return
        c = self._client
        camera = c.getDebugVisualizerCamera()
        height, projection = camera[1], camera[3]
        forward, right, up = (np.asarray(v, dtype=float) / np.linalg.norm(v) for v in camera[5:8])
        depth = 0.5
        eye = np.asarray(camera[11]) - forward * camera[10]
        half_width, half_height = depth / projection[0], depth / projection[5]
        line_gap = 2 * half_height / height * 20
        for i, line in enumerate(lines):
            offset = up * (half_height - (i + 1.5) * line_gap) - right * 0.95 * half_width
            position = tuple(np.round(eye + forward * depth + offset, 4).tolist())
            if i < len(self._text) and self._text[i][1:] == (line, position):
                continue
            options = {"replaceItemUniqueId": self._text[i][0]} if i < len(self._text) else {}
            item = c.addUserDebugText(line, position, textColorRGB=[0.05, 0.05, 0.3], textSize=1.2, **options)
            if i < len(self._text):
                self._text[i] = (item, line, position)
            else:
                self._text.append((item, line, position))
        for item, _, _ in self._text[len(lines) :]:
            c.removeUserDebugItem(item)
        del self._text[len(lines) :]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._plugin >= 0:
            self._client.unloadPlugin(self._plugin)
        self._client.disconnect()
