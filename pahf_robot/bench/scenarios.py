"""Scenarios in the PAHF embodied schema, and the four-phase benchmark built from a folder of them.

One loader serves the bundled benchmark (written by `pahf_robot.bench.generate`) and any folder holding the
four PAHF files. Bundled data is loaded strictly: any inconsistency is an InputError. External PAHF data
is loaded leniently: scenarios whose wanted object or place is not in the scene (about 1% of the
published files), or whose scene is empty, are skipped with one summary warning; a missing field, a
wrong type or invalid JSON is still an InputError.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.layout import HAND_OVER
from memory.notes import same_name
from pahf_robot.bench.personas import Persona, load_personas
from pahf_robot.core.errors import InputError, display_path
from pahf_robot.core.paths import PERSONAS, SCENARIOS
from pahf_robot.core.types import Target

log = logging.getLogger(__name__)

PICK_UP = "pick-up"
"""`user_intent_location` of a bring-me task in the PAHF files."""

PHASE_FILES = {
    1: "original_scenarios_A.json",
    2: "original_scenarios_B.json",
    3: "evolved_scenarios_A.json",
    4: "evolved_scenarios_B.json",
}

_FIELDS: dict[str, type] = {
    "index": int,
    "scene": str,
    "task": str,
    "context": str,
    "user": str,
    "user_intent_object": str,
    "user_intent_location": str,
    "scene_objects": list,
}


@dataclass(frozen=True)
class TaskView:
    """What the agent may see of a scenario: never the target or the context label."""

    user: str
    task: str
    scene: str
    objects: tuple[str, ...]
    places: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    """One task with its ground truth; `places` is empty for bring-me tasks (target_place is HAND_OVER)."""

    index: int
    user: str
    phase: int
    task: str
    scene: str
    objects: tuple[str, ...]
    places: tuple[str, ...]
    target_object: str
    target_place: str
    context: str

    @property
    def kind(self) -> str:
        return "bring" if self.target_place == HAND_OVER else "place"

    def view(self) -> TaskView:
        return TaskView(user=self.user, task=self.task, scene=self.scene, objects=self.objects, places=self.places)

    def target(self) -> Target:
        return Target(object=self.target_object, place=self.target_place)


@dataclass
class Benchmark:
    """Scenarios per phase (1-4) and the personas known for their users (may be empty)."""

    scenarios: dict[int, list[Scenario]]
    personas: dict[str, Persona] = field(default_factory=dict)
    source: str = ""
    skipped: list[Skipped] = field(default_factory=list)
    """Scenarios a lenient load left out (the run writes them to its directory)."""

    def users(self) -> list[str]:
        return sorted({s.user for phase in self.scenarios.values() for s in phase})

    def for_user(self, user: str, phase: int) -> list[Scenario]:
        return [s for s in self.scenarios.get(phase, []) if s.user == user]


@dataclass(frozen=True)
class Skipped:
    """A scenario left out of a lenient load, and why."""

    file: str
    index: int
    why: str


class _Unusable(Exception):
    """A well-formed scenario whose ground truth is not in its scene."""

    def __init__(self, field_name: str, why: str):
        super().__init__(why)
        self.field_name = field_name
        self.why = why


def _match(name: str, options: list[str]) -> str | None:
    """The scene's own spelling of `name`: exact, else the one `same_name` says it is."""
    if name in options:
        return name
    return next((o for o in options if same_name(o, name)), None)


def _check_fields(raw: Any, path: Path, position: int) -> dict:
    if not isinstance(raw, dict):
        raise InputError(path, f"expected an object, got {type(raw).__name__}", index=f"#{position}")
    index = raw.get("index")
    label = index if isinstance(index, int) and not isinstance(index, bool) else f"#{position}"
    for name, kind in _FIELDS.items():
        if name not in raw:
            raise InputError(path, "missing", index=label, field=name)
        value = raw[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InputError(path, f"expected {kind.__name__}, got {type(value).__name__}", index=label, field=name)
    for i, obj in enumerate(raw["scene_objects"]):
        if not isinstance(obj, str) or not obj.strip():
            raise InputError(path, "expected a non-empty string", index=label, field=f"scene_objects[{i}]")
    for name in ("task", "user", "user_intent_object", "user_intent_location"):
        if not raw[name].strip():
            raise InputError(path, "empty", index=label, field=name)
    return raw


def _scenario(raw: dict, phase: int) -> Scenario:
    scene_objects = list(raw["scene_objects"])
    if not scene_objects:
        raise _Unusable("scene_objects", "empty scene")
    wanted = _match(raw["user_intent_object"], scene_objects)
    if wanted is None:
        raise _Unusable("user_intent_object", f"wanted object '{raw['user_intent_object']}' not in the scene")
    location = raw["user_intent_location"]
    if location.strip().casefold() == PICK_UP:
        objects, places, place = tuple(scene_objects), (), HAND_OVER
    else:
        places_list = [o for o in scene_objects if o != wanted]
        place = _match(location, places_list)
        if place is None:
            raise _Unusable("user_intent_location", f"wanted place '{location}' not in the scene")
        objects, places = (wanted,), tuple(places_list)
    return Scenario(
        index=raw["index"],
        user=raw["user"].strip(),
        phase=phase,
        task=raw["task"].strip(),
        scene=raw["scene"],
        objects=objects,
        places=places,
        target_object=wanted,
        target_place=place,
        context=raw["context"],
    )


def load_scenarios(path: str | Path, phase: int, *, strict: bool = True) -> tuple[list[Scenario], list[Skipped]]:
    """Read one PAHF-schema file. Unusable scenarios raise in strict mode, else come back as skipped."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(path, "missing file") from exc
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise InputError(path, f"invalid JSON{where}") from exc
    except RecursionError:
        raise InputError(path, "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(path, f"invalid JSON: {str(exc).split(';')[0]}") from None
    if not isinstance(data, list):
        raise InputError(path, f"expected a JSON list of scenarios, got {type(data).__name__}")
    if not data:  # it would silently drop its phase
        raise InputError(path, "no scenarios (an empty list); leave the phase out with --phases instead")
    scenarios: list[Scenario] = []
    skipped: list[Skipped] = []
    seen: set[int] = set()
    for position, raw in enumerate(data):
        raw = _check_fields(raw, path, position)
        if raw["index"] in seen:
            raise InputError(path, "duplicate index", index=raw["index"], field="index")
        seen.add(raw["index"])
        try:
            scenarios.append(_scenario(raw, phase))
        except _Unusable as exc:
            if strict:
                raise InputError(path, exc.why, index=raw["index"], field=exc.field_name) from None
            skipped.append(Skipped(display_path(path), raw["index"], exc.why))
    if data and not scenarios:
        raise InputError(path, "no usable scenario (every target is missing from its scene)")
    return scenarios, skipped


def _summarise(skipped: list[Skipped], total: int) -> str:
    """One short line: counts per file and reason (the names are in the run directory's list)."""
    counts: dict[str, dict[str, int]] = {}
    for s in skipped:
        reason = re.sub(r" '[^']*'", "", s.why)
        counts.setdefault(s.file, {}).setdefault(reason, 0)
        counts[s.file][reason] += 1
    listed = "; ".join(
        f"{f}: " + ", ".join(f"{n} {reason}" for reason, n in reasons.items()) for f, reasons in counts.items()
    )
    return f"skipped {len(skipped)} of {total} scenarios whose target is not in the scene ({listed})"


def _check_known(s: Scenario, known: dict[str, Persona], path: Path, persona_dir: Path) -> None:
    """With persona files in use, each scenario's user and context must come from one of them."""
    if s.user not in known:
        where = display_path(persona_dir / f"{s.user}.yaml")
        raise InputError(path, f"unknown user '{s.user}' (no {where})", index=s.index, field="user")
    if s.context not in known[s.user].preferences:
        raise InputError(path, f"'{s.context}' is not a context of {s.user}", index=s.index, field="context")


def load_benchmark(
    folder: str | Path | None = None, *, personas: str | Path | None = None, strict: bool | None = None
) -> Benchmark:
    """The four phases from `folder` (None: the bundled scenarios/), with personas attached by user name.

    `strict` defaults to True for the bundled set (and then every user must have a persona file) and
    False for an external folder.
    """
    bundled = folder is None
    folder = Path(SCENARIOS if folder is None else folder)
    strict = bundled if strict is None else strict
    if not folder.is_dir():
        raise InputError(folder, "not a folder with the four PAHF scenario files")
    persona_dir = Path(PERSONAS if personas is None else personas)
    known = load_personas(persona_dir)
    scenarios: dict[int, list[Scenario]] = {}
    skipped: list[Skipped] = []
    for phase, name in PHASE_FILES.items():
        scenarios[phase], lost = load_scenarios(folder / name, phase, strict=strict)
        skipped += lost
        if strict and known:
            for s in scenarios[phase]:
                _check_known(s, known, folder / name, persona_dir)
    if skipped:
        total = sum(len(v) for v in scenarios.values()) + len(skipped)
        log.warning("%s", _summarise(skipped, total))
    users = {s.user for phase in scenarios.values() for s in phase}
    return Benchmark(
        scenarios=scenarios,
        personas={u: known[u] for u in sorted(users) if u in known},
        source=display_path(folder),
        skipped=skipped,
    )
