"""Grasp geometry: pure functions of an observation's numbers, no env and no state.

Where to grasp an object and at which yaw, which way the symmetric gripper turns, whether the palm would
land on a neighbour, and a collision-free path for the hand over the boxes of the other objects and the
place fixtures. The controller (`pahf_robot.act.controller`) turns their answers into motion.
"""

from __future__ import annotations

import math

import numpy as np

from envs.driver import GRIPPER_MAX_WIDTH, rotation_matrix, yaw_of
from envs.layout import TABLE_TOP

OPEN, CLOSED = 1.0, -1.0
PAD_GAP = 0.008
"""The finger pads stand this much inside the finger-joint width: joints at 0.08 leave a 7.2 cm gap."""
FINGERTIP_DEPTH = 0.012
"""How far the fingertips reach below the grasp point."""
HAND_DISCS = ((0.08, -FINGERTIP_DEPTH), (0.11, 0.03))
"""(radius, bottom offset from the grasp point) of the open fingers and of the hand body."""
CLEARANCE = 0.012
GRASP_BELOW_TOP = 0.03
"""The fingers close this far under an object's top: the palm sits 3.5 cm above the grasp point, so the
pads hold the top few centimetres without the palm touching."""
PALM_HALF_LENGTH, PALM_HALF_WIDTH, PALM_HEIGHT = 0.105, 0.035, 0.035
FINGER_HALF_WIDTH, FINGER_HALF_THICKNESS = 0.011, 0.006
WRIST_CENTRE = 0.785
"""Gripper yaw relative to the arm's bearing at which the Panda's last joint sits at 0."""


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


def opening(width: float) -> float:
    """Finger-joint width to approach an object `width` across with: 2 cm to spare, if the hand opens so far."""
    return min(GRIPPER_MAX_WIDTH, width + PAD_GAP + 0.02)


def palm_blocked(
    centre: np.ndarray, grasp_z: float, yaw: float, obstacles: np.ndarray, width: float | None = None
) -> bool:
    """Whether the hand, lowered to grasp at `centre` and `grasp_z` with `yaw`, would rest on an obstacle:
    its palm is a 21 cm bar along the closing axis, 3.5 cm above the grasp point; with the object's
    `width`, also whether an open finger (2 cm wide, just outside the pads) would land on one."""
    axis = np.array([-math.sin(yaw), math.cos(yaw)])
    points = centre[None, :] + np.linspace(-PALM_HALF_LENGTH, PALM_HALF_LENGTH, 15)[:, None] * axis[None, :]
    if _near(points, obstacles, PALM_HALF_WIDTH, grasp_z + PALM_HEIGHT - CLEARANCE):
        return True
    if width is None:
        return False
    reach = (opening(width) - PAD_GAP) / 2 + FINGER_HALF_THICKNESS
    fingers = centre[None, :] + np.array([[-reach], [reach]]) * axis[None, :]
    return _near(fingers, obstacles, FINGER_HALF_WIDTH, grasp_z - FINGERTIP_DEPTH - CLEARANCE / 4)


def _near(points: np.ndarray, obstacles: np.ndarray, radius: float, below: float) -> bool:
    """Whether an obstacle rising above `below` comes within `radius` of any of the points."""
    return bool(np.any((_gap(points, obstacles) < radius) & (obstacles[:, 4][None, :] > below)))


def _gap(points: np.ndarray, obstacles: np.ndarray) -> np.ndarray:
    """(points, obstacles) horizontal distances from 2-D points to each obstacle's rounded box: half
    extents (hx, hy) with corners rounded by r, so a disc is hx = hy = r and a fixture r = 0."""
    cx, cy, hx, hy, _, r = (obstacles[:, i][None, :] for i in range(6))
    dx = np.maximum(np.abs(points[:, 0:1] - cx) - (hx - r), 0)
    dy = np.maximum(np.abs(points[:, 1:2] - cy) - (hy - r), 0)
    return np.sqrt(dx**2 + dy**2) - r


def gripper_command(width: float) -> float:
    """Gripper command in [-1, 1] for a finger-joint width."""
    return float(np.clip(2 * width / GRIPPER_MAX_WIDTH - 1, CLOSED, OPEN))


def world_extents(pose: np.ndarray, size: np.ndarray) -> np.ndarray:
    """World-axis extents of a box of `size` at `pose` (x, y, z, quaternion), whatever its orientation."""
    return np.abs(rotation_matrix(pose[3:])) @ size


def obstacle_boxes(obs: dict, info: dict, exclude: int) -> np.ndarray:
    """Rows (x, y, half x, half y, top, corner radius) of other objects, as discs around their perceived
    footprint, and every place fixture, as boxes."""
    rows = []
    mask = obs["object_mask"]
    for slot in np.flatnonzero(mask):
        if slot == exclude:
            continue
        pose = obs["object_pose"][slot].astype(float)
        position = pose[:3]
        extents = world_extents(pose, obs["object_size"][slot].astype(float))
        half = float(np.hypot(extents[0], extents[1]) / 2)
        rows.append([position[0], position[1], half, half, position[2] + extents[2] / 2, half])
    for place in info["places"].values():
        rows.append([place["position"][0], place["position"][1], *place["footprint"], place["top"], 0.0])
    return np.array(rows, dtype=float).reshape(-1, 6)


def grasp_pose(
    pose: np.ndarray, size: np.ndarray, round_: bool, place: dict, obstacles: np.ndarray, release_drop: float
) -> tuple[np.ndarray, float, float]:
    """Grasp point, gripper yaw and the object's width across the fingers, from the object as perceived:
    its footprint centre and yaw (`pose`), its size along its own axes and whether it looks round.

    The fingers close GRASP_BELOW_TOP under its top (mid-height for low objects) across a narrow side,
    any side for a round object. Among the yaws allowed, the first choice keeps the wide palm off tall
    neighbours at both ends of the task; the next puts the closing axis square to the carry, since
    accelerating along it tips a held object."""
    extents = world_extents(pose, size)
    bottom = pose[2] - extents[2] / 2
    point = np.array([pose[0], pose[1], bottom + max(extents[2] / 2, extents[2] - GRASP_BELOW_TOP)])
    preferred = math.atan2(place["position"][1] - pose[1], place["position"][0] - pose[0])
    if round_:
        width = float(min(size[0], size[1]))
        sides = [(preferred + math.pi / 2 + k * math.pi / 12, width) for k in range(12)]
    else:
        yaw = yaw_of(pose[3:])
        sides = [(yaw, float(size[0])), (yaw + math.pi / 2, float(size[1]))]
    narrowest = min(width for _, width in sides)
    release_z = place["position"][2] + release_drop + (point[2] - bottom)
    sites = [(point[:2], point[2]), (np.array(place["position"][:2]), release_z)]

    def score(option: tuple[float, float]) -> tuple[bool, bool, float]:
        fingers = palm_blocked(point[:2], point[2], option[0], obstacles, option[1])
        blocked = any(palm_blocked(xy, z, option[0], obstacles) for xy, z in sites)
        return fingers, blocked, abs(wrap_half_turn(option[0] - preferred))

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
    safe = max([goal[2], start[2]] + [top - bottom + CLEARANCE for top in obstacles[:, 4] for _, bottom in discs])
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
    gap, top = _gap(points, obstacles), obstacles[:, 4][None, :]
    for radius, bottom in discs:
        over = gap < radius
        low = points[:, 2:3] + bottom < top + CLEARANCE
        if np.any(over & low):
            return False
    return True
