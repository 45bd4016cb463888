"""Where things go on the table: furniture, place fixtures built from place names, object poses.

Plain geometry (no simulator): the env turns these specs into bodies through the driver, and the
controller reads the resulting drop positions from `info`. The robot base is the origin, the table
top is z=0, x points away from the robot. All places and object cells are reachable top-down.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

HAND_OVER = "hand-over"
"""Place name of the zone where "bring me X" items are delivered to the user."""

MAX_OBJECTS = 8
MAX_PLACES = 4

TABLE_TOP = 0.0
FLOOR_Z = -0.62
TABLE_CENTER = (0.4, 0.0)
TABLE_HALF = (0.65, 0.7)
WORKSPACE_LOW = (0.15, -0.6, 0.01)
WORKSPACE_HIGH = (0.85, 0.6, 0.45)
"""The box of commanded grasp points: the env's action space and the driver's default safety limits."""

# Objects sit in a 2 x 4 grid of cells, far enough apart that open fingers fit between neighbours and
# the 21 cm palm mostly clears them; jitter stays within that margin.
OBJECT_ROWS = (0.33, 0.5)
OBJECT_COLUMNS = (-0.24, -0.08, 0.08, 0.24)
OBJECT_JITTER = 0.012
FINGER_CLEARANCE = 0.09

PLACE_ROW_X = 0.70
PLACE_COLUMNS = {1: (0.0,), 2: (-0.12, 0.12), 3: (-0.2, 0.0, 0.2), 4: (-0.27, -0.09, 0.09, 0.27)}
HAND_OVER_XY = (0.36, -0.43)
PLACE_HALF = 0.08

# A top-down grasp works between these distances from the base and below this height.
REACH_MIN, REACH_MAX, REACH_TOP = 0.28, 0.76, 0.2

HAND_OVER_RGBA = (1.0, 0.55, 0.1, 1.0)


@dataclass(frozen=True)
class Part:
    """A box of a fixture, centred at `offset` from the place's (x, y, table top)."""

    half_extents: tuple[float, float, float]
    offset: tuple[float, float, float]


@dataclass(frozen=True)
class PlaceSpec:
    """A named place: its fixture boxes and the region an object must rest in to count as placed.

    `surface` is the height objects stand on, `top` the fixture's highest point (for clearance), and
    an object counts as inside when its centre is within `region` (half extents) of (x, y).
    """

    name: str
    shape: str
    x: float
    y: float
    surface: float
    top: float
    region: tuple[float, float]
    parts: tuple[Part, ...]

    def as_info(self, index: int) -> dict:
        """The plain-data view handed to planners and controllers."""
        return {
            "id": index,
            "shape": self.shape,
            "position": [self.x, self.y, self.surface],
            "region": list(self.region),
            "top": self.top,
            "footprint": list(self.footprint),
        }

    @property
    def footprint(self) -> tuple[float, float]:
        """Half extents of the fixture on the table, for clearance planning."""
        return (
            max(abs(part.offset[0]) + part.half_extents[0] for part in self.parts),
            max(abs(part.offset[1]) + part.half_extents[1] for part in self.parts),
        )


def _has(name: str, words: Sequence[str]) -> bool:
    text = " " + " ".join(re.findall(r"[a-z]+", name.lower())) + " "
    return any(f" {word} " in text for word in words)


SHELF_LEVELS = (0.025, 0.07, 0.12)
"""Heights of a shelf unit's bottom, middle and top boards: all reachable top-down with a held object."""
SURFACE_WORDS = ("counter", "countertop", "table", "desk", "surface", "side", "bench", "island", "nightstand")
"""Places that are surfaces by name; any other unknown name becomes a surface zone too, with a log line."""
_TOLD: set[str] = set()


def shelf_height(name: str) -> float:
    """Shelf levels: top higher than middle higher than bottom."""
    if _has(name, ("top", "upper", "high", "highest", "uppermost")):
        return SHELF_LEVELS[2]
    if _has(name, ("bottom", "lower", "low", "lowest", "floor")):
        return SHELF_LEVELS[0]
    return SHELF_LEVELS[1]


def place_spec(name: str, x: float, y: float, height: float | None = None) -> PlaceSpec:
    """Fixture geometry guessed from the place name's keywords; a flat pad when nothing matches."""
    h = PLACE_HALF
    if name == HAND_OVER:
        return PlaceSpec(name, HAND_OVER, x, y, 0.004, 0.004, (0.07, 0.07), (Part((h, h, 0.002), (0, 0, 0.002)),))
    if _has(name, ("shelf", "shelves", "rack", "ledge", "windowsill", "sill")):
        top = shelf_height(name) if height is None else height
        return PlaceSpec(name, "shelf", x, y, top, top, (0.06, 0.06), _shelf_unit(top))
    if _has(name, ("bin", "basket", "trash", "recycling", "bucket", "hamper", "compost", "sink", "can", "toy")):
        return _open_box(name, "bin", x, y, base=0.006 if height is None else height, wall=0.04)
    if _has(
        name,
        (
            "cabinet",
            "drawer",
            "cupboard",
            "pantry",
            "closet",
            "fridge",
            "refrigerator",
            "freezer",
            "tray",
            "dresser",
            "locker",
            "box",
        ),
    ):
        return _open_box(name, "tray", x, y, base=0.04 if height is None else height, wall=0.015)
    if not _has(name, SURFACE_WORDS) and name not in _TOLD:
        _TOLD.add(name)  # said once per name, not at every reset
        log.info("place %r names no fixture this robot knows; it is a labelled surface zone", name)
    base = 0.005 if height is None else height
    return PlaceSpec(name, "pad", x, y, base, base, (0.07, 0.07), (Part((h, h, base / 2), (0, 0, base / 2)),))


def _shelf_unit(level: float) -> tuple[Part, ...]:
    """A shelf unit whose highest board is the named level: two side panels (left and right, open to the
    front and back) carry a board at every standard level up to it (bottom, middle, top), so "top shelf"
    stands above "bottom shelf" and looks it."""
    h, board, panel = PLACE_HALF, 0.003, 0.004
    heights = [z for z in SHELF_LEVELS if z < level - 0.02] + [level]
    boards = tuple(Part((h, h - 2 * panel, board), (0, 0, z - board)) for z in heights)
    sides = tuple(Part((h, panel, level / 2), (0, side * (h - panel), level / 2)) for side in (-1, 1))
    return sides + boards


def _open_box(name: str, shape: str, x: float, y: float, base: float, wall: float) -> PlaceSpec:
    """A floor slab (raised to `base`) with four low walls `wall` above it: a bin or a tray."""
    h, t = PLACE_HALF + 0.005, 0.004
    top = base + wall
    parts = (
        Part((h, h, base / 2), (0, 0, base / 2)),
        Part((t, h, wall / 2), (h - t, 0, base + wall / 2)),
        Part((t, h, wall / 2), (-h + t, 0, base + wall / 2)),
        Part((h - 2 * t, t, wall / 2), (0, h - t, base + wall / 2)),
        Part((h - 2 * t, t, wall / 2), (0, -h + t, base + wall / 2)),
    )
    return PlaceSpec(name, shape, x, y, base, top, (0.065, 0.065), parts)


def reachable(x: float, y: float, z: float = 0.0) -> bool:
    """Whether a top-down grasp/release at (x, y, z) is inside the arm's comfortable workspace."""
    return REACH_MIN <= math.hypot(x, y) <= REACH_MAX and x > 0.15 and -0.05 <= z <= REACH_TOP


def layout_places(entries: Sequence[str | dict]) -> list[PlaceSpec]:
    """Lay the scenario's places (names, or dicts with "name" and an optional "position"/"height") out.

    Named places fill the far row left to right; the hand-over zone is always added last. Raises
    ValueError for too many places, duplicates, or explicit positions that are unreachable or overlap.
    """
    parsed: list[tuple[str, tuple[float, float] | None, float | None]] = []
    for entry in entries:
        if isinstance(entry, str):
            parsed.append((entry, None, None))
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            unknown = set(entry) - {"name", "position", "height"}
            if unknown:
                raise ValueError(f"place {entry['name']!r}: unknown keys {sorted(unknown)}")
            position = entry.get("position")
            if position is not None:
                if len(position) < 2:
                    raise ValueError(f"place {entry['name']!r}: position needs x and y, got {position!r}")
                position = (float(position[0]), float(position[1]))
            height = entry.get("height")
            parsed.append((entry["name"], position, None if height is None else float(height)))
        else:
            raise ValueError(f"a place must be a name or a dict with a 'name', got {entry!r}")
    names = [name for name, _, _ in parsed if name != HAND_OVER]
    if any(not name.strip() for name in names):
        raise ValueError("place names must not be empty")
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate place names in {names}")
    if len(names) > MAX_PLACES:
        raise ValueError(f"{len(names)} places do not fit: at most {MAX_PLACES} besides {HAND_OVER!r}")
    columns = PLACE_COLUMNS.get(len(names), ())
    specs = []
    for (name, position, height), column in zip([p for p in parsed if p[0] != HAND_OVER], columns, strict=True):
        x, y = position if position is not None else (PLACE_ROW_X, column)
        spec = place_spec(name, x, y, height)
        if not (reachable(x, y, spec.surface) and reachable(x, y, spec.top)):
            raise ValueError(f"place {name!r} at ({x:.2f}, {y:.2f}, {spec.top:.2f}) is out of the robot's reach")
        specs.append(spec)
    specs.append(place_spec(HAND_OVER, *HAND_OVER_XY))
    _check_overlaps(specs)
    return specs


def _check_overlaps(specs: list[PlaceSpec]) -> None:
    """Places must not overlap each other, nor the object cells plus the room open fingers need."""
    margin = PLACE_HALF + 0.005
    x_lo, x_hi = OBJECT_ROWS[0] - FINGER_CLEARANCE, OBJECT_ROWS[-1] + FINGER_CLEARANCE
    y_lo, y_hi = OBJECT_COLUMNS[0] - FINGER_CLEARANCE, OBJECT_COLUMNS[-1] + FINGER_CLEARANCE
    for i, a in enumerate(specs):
        for b in specs[i + 1 :]:
            if abs(a.x - b.x) < 2 * margin and abs(a.y - b.y) < 2 * margin:
                raise ValueError(f"places {a.name!r} and {b.name!r} overlap")
        if x_lo - margin < a.x < x_hi + margin and y_lo - margin < a.y < y_hi + margin:
            raise ValueError(f"place {a.name!r} at ({a.x:.2f}, {a.y:.2f}) overlaps the objects' area")


def object_poses(rng: np.random.Generator, count: int) -> list[tuple[float, float, float]]:
    """Random (x, y, yaw) for `count` objects: distinct grid cells plus jitter, so never overlapping."""
    if not 0 < count <= MAX_OBJECTS:
        raise ValueError(f"{count} objects do not fit: between 1 and {MAX_OBJECTS}")
    cells = [(x, y) for x in OBJECT_ROWS for y in OBJECT_COLUMNS]
    chosen = rng.permutation(len(cells))[:count]
    jitter = rng.uniform(-OBJECT_JITTER, OBJECT_JITTER, size=(count, 2))
    yaws = rng.uniform(-math.pi, math.pi, size=count)
    return [
        (cells[c][0] + float(dx), cells[c][1] + float(dy), float(yaw))
        for c, (dx, dy), yaw in zip(chosen, jitter, yaws, strict=True)
    ]


LOOK_POINT = (0.25, 0.0, 0.42)
"""Where the grasp point waits while the robot looks: up and behind every object as the scene camera
(envs.driver.SCENE_CAMERA) sees them, so the hand hides none. The driver's home pose puts it here."""

RANDOM_AREA = ((0.30, 0.60), (-0.33, 0.33))
"""x and y bounds a randomized object's footprint stays in: in reach, clear of the place row and hand-over."""
RANDOM_GAP = (0.012, 0.05)
"""Smallest and largest free space sampled between neighbours' bounding circles: at the small end open
fingers no longer fit on every side, so the approach must pick its yaw."""


def random_object_poses(rng: np.random.Generator, radii: Sequence[float]) -> list[tuple[float, float, float]]:
    """Collision-free (x, y, yaw) over the reachable area for objects with these bounding-circle radii, each
    sampled next to the ones already placed (a gap from RANDOM_GAP) or anywhere, so scenes have clusters.
    Raises ValueError when they do not fit."""
    if not 0 < len(radii) <= MAX_OBJECTS:
        raise ValueError(f"{len(radii)} objects do not fit: between 1 and {MAX_OBJECTS}")
    (x_lo, x_hi), (y_lo, y_hi) = RANDOM_AREA
    for _ in range(50):
        placed: list[tuple[float, float, float]] = []
        for radius in radii:
            for _ in range(200):
                if placed and rng.random() < 0.5:
                    nx, ny, nr = placed[int(rng.integers(len(placed)))]
                    angle, gap = rng.uniform(0, 2 * math.pi), rng.uniform(*RANDOM_GAP)
                    x, y = nx + (nr + radius + gap) * math.cos(angle), ny + (nr + radius + gap) * math.sin(angle)
                else:
                    x, y = rng.uniform(x_lo + radius, x_hi - radius), rng.uniform(y_lo + radius, y_hi - radius)
                inside = x_lo + radius <= x <= x_hi - radius and y_lo + radius <= y <= y_hi - radius
                if (
                    inside
                    and REACH_MIN <= math.hypot(x, y) <= REACH_MAX - radius
                    and all(math.hypot(x - ox, y - oy) >= radius + other + RANDOM_GAP[0] for ox, oy, other in placed)
                ):
                    placed.append((x, y, radius))
                    break
            else:
                break
        if len(placed) == len(radii):
            yaws = rng.uniform(0.0, 2 * math.pi, size=len(radii))
            return [(x, y, float(yaw)) for (x, y, _), yaw in zip(placed, yaws, strict=True)]
    raise ValueError(f"could not lay out {len(radii)} objects without overlaps")
