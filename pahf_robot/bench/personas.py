"""Personas: what each simulated user wants in each situation, before and after their preferences shift.

A persona file (`personas/<name>.yaml`) lists per context the cue sentences the user says, the item they
want brought, the place where that situation's things are put away, and why. Its `shift:` section lists
only the contexts whose item and/or place change in phases 3-4; the schema is in scenarios/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from pahf_robot.core.errors import InputError

_SHIFT_FIELDS = ("item", "place", "reason", "place_reason")


@dataclass(frozen=True)
class Preference:
    """What one user wants in one context: `item` to be brought, `place` for putting things away."""

    context: str
    cues: tuple[str, ...]
    item: str
    place: str
    reason: str
    place_reason: str = ""


@dataclass
class Persona:
    """A simulated user; `shifted` is the full preference table in force from phase 3 on."""

    name: str
    description: str
    preferences: dict[str, Preference]
    shifted: dict[str, Preference]

    def preference(self, context: str, phase: int) -> Preference:
        table = self.shifted if phase >= 3 else self.preferences
        return table[context]

    @property
    def contexts(self) -> list[str]:
        return list(self.preferences)

    @property
    def changed_contexts(self) -> list[str]:
        return [c for c in self.preferences if self.preferences[c] != self.shifted[c]]

    @property
    def shift_share(self) -> float:
        """Fraction of contexts whose preference changes in phases 3-4."""
        return len(self.changed_contexts) / len(self.preferences) if self.preferences else 0.0


def _text(value: Any, path: Path, field: str) -> str:
    if value is None:
        raise InputError(path, "missing", field=field)
    if not isinstance(value, str) or not value.strip():
        raise InputError(path, f"expected a non-empty string, got {type(value).__name__}", field=field)
    return value.strip()


def _mapping(value: Any, path: Path, field: str) -> dict:
    if value is None:
        raise InputError(path, "missing", field=field)
    if not isinstance(value, dict) or not value:
        raise InputError(path, f"expected a non-empty mapping, got {type(value).__name__}", field=field)
    return value


def _preference(context: str, raw: Any, path: Path) -> Preference:
    where = f"preferences.{context}"
    raw = _mapping(raw, path, where)
    _known_keys(raw, _PREFERENCE_KEYS, path, where)
    cues = raw.get("cues")
    if cues is None:
        raise InputError(path, "missing", field=f"{where}.cues")
    if not isinstance(cues, list) or not cues:
        raise InputError(path, "expected a non-empty list of sentences", field=f"{where}.cues")
    return Preference(
        context=context,
        cues=tuple(_text(c, path, f"{where}.cues[{i}]") for i, c in enumerate(cues)),
        item=_text(raw.get("item"), path, f"{where}.item"),
        place=_text(raw.get("place"), path, f"{where}.place"),
        reason=_text(raw.get("reason"), path, f"{where}.reason"),
        place_reason=_text(raw.get("place_reason"), path, f"{where}.place_reason"),
    )


def _shifted(preferences: dict[str, Preference], raw: Any, path: Path) -> dict[str, Preference]:
    shifted = dict(preferences)
    if raw is None:
        return shifted
    raw = _mapping(raw, path, "shift")
    for context, change in raw.items():
        where = f"shift.{context}"
        if context not in preferences:
            raise InputError(path, "context not among the preferences", field=where)
        change = _mapping(change, path, where)
        unknown = sorted(set(change) - set(_SHIFT_FIELDS))
        if unknown:
            raise InputError(path, f"unknown key(s) {', '.join(map(str, unknown))}", field=where)
        values = {k: _text(v, path, f"{where}.{k}") for k, v in change.items()}
        before = preferences[context]
        after = replace(before, **values)
        if (after.item, after.place) == (before.item, before.place):
            raise InputError(path, "a shift must change the item or the place", field=where)
        if after.item != before.item and "reason" not in values:
            raise InputError(path, "missing (the item changes)", field=f"{where}.reason")
        if after.place != before.place and "place_reason" not in values:
            raise InputError(path, "missing (the place changes)", field=f"{where}.place_reason")
        shifted[context] = after
    return shifted


MAX_PERSONA_BYTES = 1 << 20
"""A persona is a page of text; a bigger file is a mistake, and parsing it would take long."""
_TOP_KEYS = ("name", "description", "preferences", "shift")
_PREFERENCE_KEYS = ("cues", "item", "reason", "place", "place_reason")


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (plain YAML keeps the last one silently)."""


def _mapping_once(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_once)


def _known_keys(raw: dict, known: tuple[str, ...], path: Path, field: str | None) -> None:
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:  # a typo such as `shfit:` would otherwise mean "no shift"
        raise InputError(path, f"unknown key(s) {', '.join(unknown)} (known: {', '.join(known)})", field=field)


def load_persona(path: str | Path) -> Persona:
    """Read and validate one persona file; any problem is an InputError naming the field."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_PERSONA_BYTES:
            raise InputError(path, f"{path.stat().st_size} bytes; a persona file holds at most {MAX_PERSONA_BYTES}")
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        raise InputError(path, f"invalid YAML{where}" + (f": {problem}" if problem else "")) from exc
    except RecursionError:
        raise InputError(path, "invalid YAML: nested too deeply") from None
    if not isinstance(raw, dict):
        raise InputError(path, f"expected a mapping at the top, got {type(raw).__name__}")
    _known_keys(raw, _TOP_KEYS, path, None)
    name = _text(raw.get("name"), path, "name")
    if name != path.stem:
        raise InputError(path, f"'{name}' differs from the file name '{path.stem}'", field="name")
    prefs = {
        str(context): _preference(str(context), value, path)
        for context, value in _mapping(raw.get("preferences"), path, "preferences").items()
    }
    return Persona(
        name=name,
        description=_text(raw.get("description"), path, "description"),
        preferences=prefs,
        shifted=_shifted(prefs, raw.get("shift"), path),
    )


def load_personas(folder: str | Path) -> dict[str, Persona]:
    """Every persona file in `folder` by name; an absent folder holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    personas = [load_persona(p) for p in files]
    return {p.name: p for p in personas}
