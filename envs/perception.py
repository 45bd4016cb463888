"""What the robot knows of the objects on the table: one RGB-D view and an instance mask, turned into poses.

The view is depth in metres plus an instance mask (per pixel, the id of the object seen there), which stands
in for a detector; the camera's intrinsics and extrinsics (`envs.driver.CameraSpec`) put every pixel into
the robot base frame. For each object the visible surface points give:
- its footprint: the smallest rectangle around the points seen from above (a camera sees the top and
  the near sides, whose points all lie over the footprint), so position, yaw, length and width;
- its height: the highest point above the surface it stands on;
- whether it is round: a convex outline filling much less of its rectangle than a box would.
Nothing here reads a catalogue or the simulator: a real camera and a real detector give the same inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from envs.driver import CameraSpec

MIN_PIXELS = 12
"""Fewer pixels than this are not an object seen but noise (or an object hidden almost entirely)."""
ROUND_FILL = 0.88
"""A circle fills pi/4 = 0.785 of its square and a box all of it: below this share an outline is round."""
ROUND_ASPECT = 1.15
HULL_DIRECTIONS = 96


@dataclass(frozen=True)
class Percept:
    """One object as seen: footprint centre at mid-height, yaw of its length axis, and its size along
    (length axis, width axis, vertical); `pixels` is how much of it the camera saw."""

    position: tuple[float, float, float]
    yaw: float
    size: tuple[float, float, float]
    round: bool
    pixels: int

    @property
    def quaternion(self) -> tuple[float, float, float, float]:
        return (0.0, 0.0, math.sin(self.yaw / 2), math.cos(self.yaw / 2))


def back_project(depth: np.ndarray, camera: CameraSpec) -> np.ndarray:
    """(h, w, 3) base-frame points of a depth image (metres along the optical axis)."""
    height, width = depth.shape
    fx, fy, cx, cy = camera.intrinsics
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    rays = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], axis=-1)
    return np.asarray(camera.position) + (rays * depth[..., None]) @ np.asarray(camera.rotation).T


def perceive(
    images: dict[str, np.ndarray], camera: CameraSpec, ids: Sequence[int], support_z: float = 0.0
) -> list[Percept | None]:
    """A Percept for each instance id in `ids` (None where the camera does not see it), objects standing
    on a surface at `support_z`."""
    points = back_project(images["depth"], camera)
    mask = images["segmentation"]
    found: list[Percept | None] = []
    for instance in ids:
        seen = points[mask == instance]
        found.append(_percept(seen, camera, support_z) if len(seen) >= MIN_PIXELS else None)
    return found


def _percept(points: np.ndarray, camera: CameraSpec, support_z: float) -> Percept:
    hull = convex_hull(points[:, :2])
    yaw, centre, (length, width) = min_area_rectangle(hull)
    # Pixel centres lie inside the outline by half a pixel's footprint on every side.
    distance = float(np.median(np.linalg.norm(points - np.asarray(camera.position), axis=1)))
    pixel = distance / camera.intrinsics[1]
    length, width = length + pixel, width + pixel
    top = float(points[:, 2].max())
    height = max(top - support_z, 0.005)
    fill = polygon_area(hull) / max((length - pixel) * (width - pixel), 1e-9)
    round_ = fill < ROUND_FILL and max(length, width) < ROUND_ASPECT * min(length, width)
    position = (float(centre[0]), float(centre[1]), support_z + height / 2)
    return Percept(position, yaw, (length, width, height), round_, len(points))


def convex_hull(points: np.ndarray, directions: int = HULL_DIRECTIONS) -> np.ndarray:
    """Counter-clockwise hull of 2-D points, from their extreme points in evenly spread directions: every
    corner of a box is extreme in some direction, and a curved outline is cut by at most
    1 - cos(pi / directions) of its radius."""
    angles = np.linspace(0.0, 2 * math.pi, directions, endpoint=False)
    reach = points @ np.stack([np.cos(angles), np.sin(angles)])
    corners = np.unique(np.argmax(reach, axis=0))
    vertices = points[corners]
    centre = vertices.mean(axis=0)
    order = np.argsort(np.arctan2(vertices[:, 1] - centre[1], vertices[:, 0] - centre[0]))
    return vertices[order]


def polygon_area(vertices: np.ndarray) -> float:
    if len(vertices) < 3:
        return 0.0
    x, y = vertices[:, 0], vertices[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def min_area_rectangle(hull: np.ndarray) -> tuple[float, np.ndarray, tuple[float, float]]:
    """(yaw of the length axis in [-pi/2, pi/2), centre, (length, width)) of the smallest rectangle around
    a convex polygon; one side of it lies along a hull edge (rotating calipers)."""
    if len(hull) < 3:
        centre = hull.mean(axis=0)
        return 0.0, centre, (0.0, 0.0)
    edges = np.roll(hull, -1, axis=0) - hull
    angles = np.unique(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), math.pi / 2))
    best = None
    for angle in angles:
        axes = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
        local = hull @ axes.T
        low, high = local.min(axis=0), local.max(axis=0)
        area = float(np.prod(high - low))
        if best is None or area < best[0]:
            best = (area, angle, axes, low, high)
    _, angle, axes, low, high = best
    centre = ((low + high) / 2) @ axes
    extents = high - low
    if extents[0] >= extents[1]:
        yaw, length, width = angle, extents[0], extents[1]
    else:
        yaw, length, width = angle + math.pi / 2, extents[1], extents[0]
    yaw = (yaw + math.pi / 2) % math.pi - math.pi / 2
    return yaw, centre, (float(length), float(width))
