"""Grasp geometry: pure functions of an observation's numbers, no env and no state.

Where to grasp an object and at which yaw, which way the symmetric gripper turns, whether the palm would
land on a neighbour, and a collision-free path for the hand over the boxes of the other objects and the
place fixtures. The controller (`pahf_robot.act.controller`) turns their answers into motion.
"""

from __future__ import annotations

import math

import numpy as np

from envs.assets import AssetSpec
from envs.driver import GRIPPER_MAX_WIDTH, yaw_of
from envs.layout import TABLE_TOP

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


def rotation_matrix(quaternion: np.ndarray) -> np.ndarray:
    """The 3x3 rotation of an (x, y, z, w) quaternion."""
    x, y, z, w = quaternion
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def wrap_half_turn(angle: float) -> float:
    """The gripper is symmetric: yaw and yaw + pi are the same grasp; keep it in [-pi/2, pi/2)."""
    return (angle + math.pi / 2) % math.pi - math.pi / 2


def wrist_friendly_yaw(yaw: float, pick: np.ndarray, place: np.ndarray) -> float:
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


def palm_blocked(centre: np.ndarray, grasp_z: float, yaw: float, obstacles: np.ndarray) -> bool:
    """Whether the hand, lowered to grasp at `centre` and `grasp_z` with `yaw`, would rest on an obstacle:
    its palm is a 21 cm bar along the closing axis, 3.5 cm above the grasp point."""
    axis = np.array([-math.sin(yaw), math.cos(yaw)])
    points = centre[None, :] + np.linspace(-PALM_HALF_LENGTH, PALM_HALF_LENGTH, 15)[:, None] * axis[None, :]
    cx, cy, hx, hy, top = (obstacles[:, i][None, :] for i in range(5))
    dx = np.maximum(np.abs(points[:, 0:1] - cx) - hx, 0)
    dy = np.maximum(np.abs(points[:, 1:2] - cy) - hy, 0)
    near = dx**2 + dy**2 < PALM_HALF_WIDTH**2
    return bool(np.any(near & (top > grasp_z + PALM_HEIGHT - CLEARANCE)))


def gripper_command(width: float) -> float:
    """Gripper command in [-1, 1] for a finger-joint width."""
    return float(np.clip(2 * width / GRIPPER_MAX_WIDTH - 1, CLOSED, OPEN))


def world_extents(pose: np.ndarray, size: np.ndarray) -> np.ndarray:
    """World-axis extents of a box of `size` at `pose` (x, y, z, quaternion), whatever its orientation."""
    return np.abs(rotation_matrix(pose[3:])) @ size


def obstacle_boxes(obs: dict, info: dict, exclude: int) -> np.ndarray:
    """Boxes (x, y, half x, half y, top) of other objects and every place fixture."""
    rows = []
    mask = obs["object_mask"]
    for slot in np.flatnonzero(mask):
        if slot == exclude:
            continue
        pose = obs["object_pose"][slot].astype(float)
        position = pose[:3]
        extents = world_extents(pose, obs["object_size"][slot].astype(float))
        half = float(np.hypot(extents[0], extents[1]) / 2)
        rows.append([position[0], position[1], half, half, position[2] + extents[2] / 2])
    for place in info["places"].values():
        rows.append([place["position"][0], place["position"][1], *place["footprint"], place["top"]])
    return np.array(rows, dtype=float).reshape(-1, 5)


def grasp_pose(
    pose: np.ndarray, size: np.ndarray, spec: AssetSpec, place: dict, obstacles: np.ndarray, release_drop: float
) -> tuple[np.ndarray, float, float]:
    """Grasp point, gripper yaw and the object's width across the fingers.

    Upright objects are taken at their kind's grasp point across a narrow side (any side for round
    objects); a toppled one at its centre across whatever is narrowest from above. Among the yaws
    allowed, the first choice keeps the wide palm off tall neighbours at both ends of the task; the
    next puts the closing axis square to the carry, since accelerating along it tips a held object."""
    rotation = rotation_matrix(pose[3:])
    preferred = math.atan2(place["position"][1] - pose[1], place["position"][0] - pose[0])
    if rotation[2, 2] > 0.95:
        point = pose[:3] + rotation @ np.array(spec.grasp_point)
        yaw = yaw_of(pose[3:])
        if spec.round:
            width = float(min(size[0], size[1]))
            sides = [(preferred + math.pi / 2 + k * math.pi / 12, width) for k in range(12)]
        else:
            sides = [(yaw, size[0]), (yaw + math.pi / 2, size[1])]
    else:
        extents = world_extents(pose, size)
        top = pose[2] + extents[2] / 2
        point = np.array([pose[0], pose[1], max(pose[2], top - 0.025)])
        sides = [(0.0, extents[0]), (math.pi / 2, extents[1])]
    narrowest = min(width for _, width in sides)
    release_z = place["position"][2] + release_drop + (point[2] - (pose[2] - world_extents(pose, size)[2] / 2))
    sites = [(point[:2], point[2]), (np.array(place["position"][:2]), release_z)]

    def score(option: tuple[float, float]) -> tuple[bool, float]:
        blocked = any(palm_blocked(xy, z, option[0], obstacles) for xy, z in sites)
        return blocked, abs(wrap_half_turn(option[0] - preferred))

    options = [(axis - math.pi / 2, width) for axis, width in sides if width <= narrowest + 1e-3]
    yaw, width = min(options, key=score)
    return point, wrap_half_turn(yaw), float(width)


def plan_path(
    start: np.ndarray, goal: np.ndarray, obstacles: np.ndarray, discs: tuple[tuple[float, float], ...]
) -> list[np.ndarray]:
    """Waypoints from start to goal: straight if clear, else rise in place first, else go over at
    a safe height. Vertical moves from the start are not checked (the hand came down that way)."""
    if path_clear(start, goal, obstacles, discs):
        return [goal]
    safe = max([goal[2], start[2]] + [top - bottom + CLEARANCE for *_, top in obstacles for _, bottom in discs])
    for rise in (start[2] + 0.02, start[2] + 0.05, start[2] + 0.1, safe):
        up = np.array([start[0], start[1], min(max(rise, start[2]), safe)])
        if path_clear(up, goal, obstacles, discs):
            return [up, goal]
    over = np.array([goal[0], goal[1], safe])
    return [np.array([start[0], start[1], safe]), over, goal]


def path_clear(
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
