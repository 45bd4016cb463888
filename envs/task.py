"""The pick-and-place task, apart from any robot: the scene, the target and the success test.

As in panda-gym, the task is pure (no simulator, no driver): `TabletopEnv` joins it to a robot driver,
turning the scene into bodies and the bodies' measured state into `is_success`. Names are free text
from a scenario; places are laid out by `envs.layout`, objects get kinds from `envs.assets`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from envs.assets import asset_for, catalogue
from envs.layout import MAX_OBJECTS, PlaceSpec, layout_places

DEFAULT_SCENE = {"objects": ["mug", "apple", "a book about birds"], "places": ["top shelf", "recycling bin"]}
"""Used when reset gets no scene, so `gymnasium.make` plus `check_env` work with no options."""

RESTING_SPEED = 0.05
"""An object slower than this (m/s) is at rest."""


@dataclass(frozen=True)
class PickAndPlaceTask:
    """Objects by name and asset kind (in slot order), laid-out places, and the (object, place) to achieve."""

    objects: tuple[str, ...]
    kinds: tuple[str, ...]
    places: tuple[PlaceSpec, ...]
    target: tuple[str, str] | None = None

    @classmethod
    def from_options(cls, scene: Any, target: Any = None) -> PickAndPlaceTask:
        """Validate a reset's scene and target (ValueError naming what is wrong) and lay out the places."""
        objects, places = _parse_scene(scene)
        task = cls(tuple(objects), tuple(asset_for(name) for name in objects), tuple(layout_places(places)))
        return task.with_target(target)

    def with_target(self, target: Any) -> PickAndPlaceTask:
        """The same scene with another target: {"object": .., "place": ..}, a Target-like object, or None."""
        if target is None:
            return replace(self, target=None)
        if hasattr(target, "object") and hasattr(target, "place"):
            target = {"object": target.object, "place": target.place}
        if not isinstance(target, dict) or set(target) != {"object", "place"}:
            raise ValueError(f"target must be {{'object': name, 'place': name}}, got {target!r}")
        objects, places = list(self.objects), [spec.name for spec in self.places]
        if target["object"] not in objects:
            raise ValueError(f"unknown target object {target['object']!r}; the scene has {objects}")
        if target["place"] not in places:
            raise ValueError(f"unknown target place {target['place']!r}; the scene has {places}")
        return replace(self, target=(target["object"], target["place"]))

    @property
    def target_slot(self) -> int:
        """The slot of the target object (the task must have a target)."""
        return self.objects.index(self.target[0])

    def in_target_place(self, position: Sequence[float], scale: float = 1.0) -> bool:
        """Whether the target object, centred at `position` and `scale` times its kind's size, stands
        inside its place's region."""
        if self.target is None:
            return False
        x, y, z = position
        spec = next(s for s in self.places if s.name == self.target[1])
        size = [scale * v for v in catalogue()[self.kinds[self.target_slot]].size]
        return (
            abs(x - spec.x) <= spec.region[0]
            and abs(y - spec.y) <= spec.region[1]
            and spec.surface < z < spec.surface + max(size) / 2 + 0.02
        )

    def is_success(self, position: Sequence[float], speed: float, touching: bool, scale: float = 1.0) -> bool:
        """The target object rests (slow, untouched by the robot) inside its place's region."""
        return self.in_target_place(position, scale) and speed < RESTING_SPEED and not touching


def _parse_scene(scene: Any) -> tuple[list[str], list[str | dict]]:
    if not isinstance(scene, dict):
        raise ValueError(f"scene must be a dict with 'objects' and 'places', got {scene!r}")
    unknown = set(scene) - {"objects", "places"}
    if unknown:
        raise ValueError(f"unknown scene keys {sorted(unknown)}; expected 'objects' and 'places'")
    names = scene.get("objects") or []
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"scene objects must be a list of names, got {names!r}")
    names = list(names)
    if not names:
        raise ValueError("the scene has no objects: give at least one name in scene['objects']")
    if any(not name.strip() for name in names):
        raise ValueError("object names must not be empty")
    if len(set(names)) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"duplicate object names in the scene: {duplicates}")
    if len(names) > MAX_OBJECTS:
        raise ValueError(f"{len(names)} objects do not fit on the table: at most {MAX_OBJECTS}")
    places = scene.get("places") or []
    if isinstance(places, str):
        raise ValueError(f"scene places must be a list, got {places!r}")
    return names, list(places)
