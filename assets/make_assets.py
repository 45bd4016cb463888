"""Generate the tabletop object meshes (OBJ), one URDF per kind and `catalogue.json`.

Run `python assets/make_assets.py` after changing a shape; the outputs are committed so the
simulator never needs trimesh at run time. Every object fits a Panda gripper: at most 6 cm across
its narrow horizontal axis (the fingers open to 7.2 cm) and 0.05-0.6 kg (volume x density). Visual meshes may be
detailed; collision is one or two convex boxes/prisms per object so grasps are stable and cheap.
Each body's frame (and centre of mass) sits on its vertical axis at mid-height: the centre of its
bounding box, except for the mug, whose handle makes the box reach further on +x.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

OUT = Path(__file__).resolve().parent
SECTIONS = 32
COLLISION_SECTIONS = 16

log = logging.getLogger(__name__)


@dataclass
class Part:
    """One collision primitive, placed with its centre at `center` (bottom of the object at z=0)."""

    shape: str
    center: tuple[float, float, float]
    half_extents: tuple[float, float, float] = (0.0, 0.0)
    radius: float = 0.0
    length: float = 0.0


@dataclass
class Kind:
    """A generated object kind: visual mesh, collision parts and mass.

    Shapes are built around the vertical axis through the origin, which is where the fingers close.
    """

    name: str
    mesh: trimesh.Trimesh
    parts: list[Part]
    density: float
    """kg/m^3 over the collision volume; the mass is their product (see DENSITY)."""
    grasp: float | None = None
    """Grasp height above the bottom when the default rule would put the pads on a narrow neck."""


DENSITY = {
    "mug": 1250.0,  # ceramic wall (about 2.4 g/cm^3) around coffee filling 60% of the outline
    "cup": 900.0,  # thin glass or plastic, water to about 85%
    "bottle": 1000.0,  # water, juice or oil (0.92-1.05 g/cm^3) in a thin glass or PET wall
    "can": 950.0,  # a full 355 ml drinks can weighs about 0.37 kg over 0.39 L of outline
    "carton": 900.0,  # milk (1.03 g/cm^3) to about 90% of the carton
    "box": 350.0,  # cardboard around loose contents (tea bags, a charger): mostly air
    "bowl": 1300.0,  # ceramic bowl of soup
    "plate": 900.0,  # a plate under a slice of pizza or cake, which fills its rim
    "bag": 250.0,  # a snack bag: chips or nuts in air
    "book": 600.0,  # paper is 0.7-1.2 g/cm^3; covers and page edges leave air
    "fruit": 850.0,  # apples and oranges float: 0.8-0.9 g/cm^3
    "jar": 1200.0,  # honey (1.4), jam (1.3) or pills in glass, with an air gap under the lid
}
"""Plausible densities (kg/m^3) of each kind with its usual contents; values from common material and food
density tables, rounded. The mass is this times the collision volume (convex parts)."""


def lathe(profile: list[tuple[float, float]]) -> trimesh.Trimesh:
    """Revolve a (radius, height) outline around the vertical axis."""
    return trimesh.creation.revolve(np.array(profile, dtype=float), sections=SECTIONS)


def box(extents: tuple[float, float, float], center: tuple[float, float, float]) -> trimesh.Trimesh:
    return trimesh.creation.box(extents=extents, transform=trimesh.transformations.translation_matrix(center))


def cylinder_part(radius: float, z0: float, z1: float) -> Part:
    return Part("cylinder", (0.0, 0.0, (z0 + z1) / 2), radius=radius, length=z1 - z0)


def box_part(extents: tuple[float, float, float], center: tuple[float, float, float]) -> Part:
    return Part("box", center, half_extents=tuple(e / 2 for e in extents))


def mug() -> Kind:
    body = lathe([(0, 0), (0.03, 0), (0.03, 0.09), (0.026, 0.09), (0.026, 0.006), (0, 0.006)])
    handle = trimesh.util.concatenate(
        [
            box((0.022, 0.01, 0.008), (0.04, 0, 0.072)),
            box((0.008, 0.01, 0.05), (0.051, 0, 0.05)),
            box((0.022, 0.01, 0.008), (0.04, 0, 0.028)),
        ]
    )
    parts = [cylinder_part(0.03, 0, 0.09), box_part((0.026, 0.01, 0.052), (0.042, 0, 0.05))]
    return Kind("mug", trimesh.util.concatenate([body, handle]), parts, DENSITY["mug"])


def cup() -> Kind:
    mesh = lathe([(0, 0), (0.026, 0), (0.03, 0.1), (0.027, 0.1), (0.023, 0.004), (0, 0.004)])
    return Kind("cup", mesh, [cylinder_part(0.029, 0, 0.1)], DENSITY["cup"])


def bottle() -> Kind:
    mesh = lathe(
        [
            (0, 0),
            (0.029, 0),
            (0.03, 0.004),
            (0.03, 0.1),
            (0.016, 0.11),
            (0.013, 0.113),
            (0.014, 0.114),
            (0.014, 0.122),
            (0, 0.122),
        ]
    )
    parts = [cylinder_part(0.03, 0, 0.102), cylinder_part(0.014, 0.102, 0.122)]
    return Kind("bottle", mesh, parts, DENSITY["bottle"], grasp=0.093)


def can() -> Kind:
    mesh = lathe([(0, 0), (0.026, 0), (0.03, 0.008), (0.03, 0.105), (0.026, 0.113), (0.026, 0.115), (0, 0.115)])
    return Kind("can", mesh, [cylinder_part(0.03, 0, 0.115)], DENSITY["can"])


def prism(width: float, depth: float, height: float, base: float) -> trimesh.Trimesh:
    """A triangular roof ridge along y: the gable top of a carton."""
    w, d = width / 2, depth / 2
    vertices = [
        (-w, -d, base),
        (w, -d, base),
        (0, -d, base + height),
        (-w, d, base),
        (w, d, base),
        (0, d, base + height),
    ]
    faces = [(0, 2, 1), (3, 4, 5), (0, 1, 4), (0, 4, 3), (1, 2, 5), (1, 5, 4), (2, 0, 3), (2, 3, 5)]
    return trimesh.Trimesh(vertices=vertices, faces=faces)


def carton() -> Kind:
    mesh = trimesh.util.concatenate([box((0.06, 0.06, 0.13), (0, 0, 0.065)), prism(0.06, 0.06, 0.02, 0.13)])
    return Kind("carton", mesh, [box_part((0.06, 0.06, 0.15), (0, 0, 0.075))], DENSITY["carton"])


def small_box() -> Kind:
    mesh = trimesh.util.concatenate(
        [box((0.05, 0.09, 0.068), (0, 0, 0.034)), box((0.052, 0.092, 0.004), (0, 0, 0.068))]
    )
    return Kind("box", mesh, [box_part((0.052, 0.092, 0.07), (0, 0, 0.035))], DENSITY["box"])


def bowl() -> Kind:
    mesh = lathe([(0, 0), (0.026, 0), (0.03, 0.045), (0.027, 0.045), (0.023, 0.006), (0, 0.006)])
    return Kind("bowl", mesh, [cylinder_part(0.029, 0, 0.045)], DENSITY["bowl"])


def plate() -> Kind:
    rim = 0.005
    mesh = trimesh.util.concatenate(
        [
            box((0.06, 0.13, 0.008), (0, 0, 0.004)),
            box((rim, 0.13, 0.03), (0.03 - rim / 2, 0, 0.015)),
            box((rim, 0.13, 0.03), (-0.03 + rim / 2, 0, 0.015)),
            box((0.06, rim, 0.03), (0, 0.065 - rim / 2, 0.015)),
            box((0.06, rim, 0.03), (0, -0.065 + rim / 2, 0.015)),
        ]
    )
    return Kind("plate", mesh, [box_part((0.06, 0.13, 0.03), (0, 0, 0.015))], DENSITY["plate"])


def bag() -> Kind:
    mesh = trimesh.util.concatenate([box((0.05, 0.1, 0.11), (0, 0, 0.055)), box((0.012, 0.1, 0.012), (0, 0, 0.116))])
    return Kind("bag", mesh, [box_part((0.05, 0.1, 0.122), (0, 0, 0.061))], DENSITY["bag"])


def book() -> Kind:
    mesh = trimesh.util.concatenate(
        [
            box((0.004, 0.12, 0.15), (0.0205, 0, 0.075)),
            box((0.004, 0.12, 0.15), (-0.0205, 0, 0.075)),
            box((0.045, 0.006, 0.15), (0, -0.057, 0.075)),
            box((0.037, 0.112, 0.144), (0, 0.002, 0.075)),
        ]
    )
    return Kind("book", mesh, [box_part((0.045, 0.12, 0.15), (0, 0, 0.075))], DENSITY["book"])


def fruit() -> Kind:
    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.029)
    ball.apply_scale((1.0, 1.0, 0.98))
    ball.apply_translation((0, 0, 0.0285))
    stem = trimesh.creation.cylinder(
        radius=0.002, height=0.012, sections=8, transform=trimesh.transformations.translation_matrix((0, 0, 0.06))
    )
    return Kind("fruit", trimesh.util.concatenate([ball, stem]), [cylinder_part(0.029, 0, 0.057)], DENSITY["fruit"])


def jar() -> Kind:
    body = lathe([(0, 0), (0.028, 0), (0.03, 0.01), (0.03, 0.075), (0.026, 0.083), (0, 0.083)])
    lid = lathe([(0, 0.081), (0.029, 0.081), (0.029, 0.1), (0, 0.1)])
    return Kind("jar", trimesh.util.concatenate([body, lid]), [cylinder_part(0.03, 0, 0.1)], DENSITY["jar"])


KINDS = [mug, cup, bottle, can, carton, small_box, bowl, plate, bag, book, fruit, jar]


def grasp_height(height: float) -> float:
    """Fingers close 2.5 cm below the top (the palm sits 3.5 cm above the grasp point), or at mid-height
    for low objects so the fingertips stay off the table."""
    return max(height / 2, height - 0.025)


def inertia(mass: float, extents: np.ndarray) -> list[float]:
    """Solid-box inertia (ixx, iyy, izz) of the bounding box: close enough for small rigid objects."""
    x, y, z = extents
    return [mass * (y * y + z * z) / 12, mass * (x * x + z * z) / 12, mass * (x * x + y * y) / 12]


def fmt(values) -> str:
    return " ".join(f"{v:.5g}" for v in values)


def part_mesh(part: Part, offset: np.ndarray) -> trimesh.Trimesh:
    """A collision part as a small convex mesh in the object's frame.

    Convex meshes (not implicit cylinders) let the simulator clip faces against the finger pads and
    report several contact points per finger, which is what keeps a held object from pivoting."""
    center = np.array(part.center) - offset
    transform = trimesh.transformations.translation_matrix(center)
    if part.shape == "box":
        return trimesh.creation.box(extents=2 * np.array(part.half_extents), transform=transform)
    return trimesh.creation.cylinder(
        radius=part.radius, height=part.length, sections=COLLISION_SECTIONS, transform=transform
    )


def urdf(kind: Kind, mass: float, extents: np.ndarray, collision_files: list[str]) -> str:
    """URDF with the detailed mesh as visual and convex part meshes as collision, frame at the box centre."""
    ixx, iyy, izz = inertia(mass, extents)
    collisions = [
        f'    <collision>\n      <geometry><mesh filename="{name}"/></geometry>\n    </collision>'
        for name in collision_files
    ]
    return "\n".join(
        [
            '<?xml version="1.0"?>',
            f'<robot name="{kind.name}">',
            '  <link name="base">',
            '    <contact><lateral_friction value="0.8"/><spinning_friction value="0.001"/></contact>',
            "    <inertial>",
            '      <origin xyz="0 0 0"/>',
            f'      <mass value="{mass}"/>',
            f'      <inertia ixx="{ixx:.4g}" ixy="0" ixz="0" iyy="{iyy:.4g}" iyz="0" izz="{izz:.4g}"/>',
            "    </inertial>",
            "    <visual>",
            f'      <geometry><mesh filename="{kind.name}.obj"/></geometry>',
            '      <material name="grey"><color rgba="0.6 0.6 0.6 1"/></material>',
            "    </visual>",
            *collisions,
            "  </link>",
            "</robot>",
            "",
        ]
    )


def collision_bounds(parts: list[Part]) -> np.ndarray:
    lows, highs = [], []
    for part in parts:
        c = np.array(part.center)
        half = (
            np.array(part.half_extents)
            if part.shape == "box"
            else np.array([part.radius, part.radius, part.length / 2])
        )
        lows.append(c - half)
        highs.append(c + half)
    return np.array([np.min(lows, axis=0), np.max(highs, axis=0)])


def rounded(values) -> list[float]:
    return [round(float(v), 5) for v in values]


def build(out: Path = OUT) -> dict:
    """Write every kind's visual OBJ, collision OBJs and URDF into `out`; return the catalogue."""
    catalogue = {}
    for make in KINDS:
        kind = make()
        bounds = collision_bounds(kind.parts)
        offset = np.array([0.0, 0.0, bounds.mean(axis=0)[2]])
        extents = bounds[1] - bounds[0]
        width = min(extents[0], extents[1])
        mass = round(kind.density * sum(part_mesh(part, offset).volume for part in kind.parts), 3)
        if width > 0.0605 or not 0.05 <= mass <= 0.6:
            raise ValueError(f"{kind.name}: {width:.3f} m across the grasp axis or {mass} kg does not fit the gripper")
        mesh = kind.mesh.copy()
        mesh.apply_translation(-offset)
        mesh.export(out / f"{kind.name}.obj", file_type="obj", include_normals=True, include_texture=False)
        collision_files = []
        for i, part in enumerate(kind.parts):
            name = f"{kind.name}_collision_{i}.obj"
            part_mesh(part, offset).export(out / name, file_type="obj", include_normals=False, include_texture=False)
            collision_files.append(name)
        (out / f"{kind.name}.urdf").write_text(urdf(kind, mass, extents, collision_files))
        height = kind.grasp if kind.grasp is not None else grasp_height(float(extents[2]))
        grasp = np.array([0.0, 0.0, bounds[0][2] + height]) - offset
        catalogue[kind.name] = {
            "urdf": f"{kind.name}.urdf",
            "mesh": f"{kind.name}.obj",
            "collision": collision_files,
            "size": rounded(extents),
            "centre": rounded(bounds.mean(axis=0) - offset),
            "mass": mass,
            "inertia": [round(v, 8) for v in inertia(mass, extents)],
            "grasp_point": rounded(grasp),
            "round": all(part.shape == "cylinder" for part in kind.parts),
        }
    (out / "catalogue.json").write_text(json.dumps(catalogue, indent=1, sort_keys=True) + "\n")
    log.info("wrote %d kinds to %s", len(catalogue), out)
    return catalogue


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    build()
