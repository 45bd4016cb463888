"""Seeded generator of the bundled benchmark, written in the PAHF embodied schema.

Every persona in personas/ gets 24 scenarios per phase: per context a mix of "bring me" tasks (pick an item
and hand it over) and "put it away" tasks (pick the context's object and choose a place). Set A (phases 1
and 3) and set B (phases 2 and 4) describe the same situations with different sentences, rename every item
to a synonym sharing no word with it where English has one, and every place to a paraphrase ("top shelf" ->
"upper shelf"), so phase 2 measures generalisation rather than recall. Phases 3-4 use the shifted
preferences. Run `python -m pahf_robot.bench.generate [--seed S] [--out DIR]`; the output is byte-identical for
a seed.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path

from pahf_robot.bench.personas import Persona, load_personas
from pahf_robot.bench.scenarios import PHASE_FILES, PICK_UP
from pahf_robot.core.errors import InputError
from pahf_robot.core.paths import PERSONAS, SCENARIOS

log = logging.getLogger(__name__)

SCENARIOS_PER_CONTEXT = 3
PLACE_HEAVY_CONTEXTS = 2
"""Per persona and phase, this many contexts get two put-away tasks and one bring task; the rest get
two bring tasks and one put-away task (8 contexts: 14 bring + 10 place = 58% bring)."""

CATALOGUE_FILE = "catalogue.json"
"""The shared catalogue of situations, item names and places, beside the benchmark it generates."""


@dataclass(frozen=True)
class ContextSpec:
    """One situation of the shared catalog.

    `obvious` is the item most people would pick, `items` other plausible ones (set-A names),
    `extra_b` distractors that appear only in set B, `put_away` the objects tidied in this situation,
    `places` the sensible places for them (`obvious_place` first).
    """

    name: str
    cues_a: tuple[str, ...]
    cues_b: tuple[str, ...]
    obvious: str
    items: tuple[str, ...]
    extra_b: tuple[str, ...]
    put_away: tuple[str, ...]
    places: tuple[str, ...]

    @property
    def obvious_place(self) -> str:
        return self.places[0]


def _texts(table: dict) -> dict[tuple[str, str], tuple[str, ...]]:
    """{"A": {"bring": [...]}} -> {("A", "bring"): (...)}: templates by text set and task kind."""
    return {(text_set, kind): tuple(texts) for text_set, kinds in table.items() for kind, texts in kinds.items()}


_DATA = json.loads((SCENARIOS / CATALOGUE_FILE).read_text(encoding="utf-8"))
ITEMS: dict[str, str] = _DATA["items"]
"""Every set-A name and its set-B near-synonym."""
PLACES: tuple[str, ...] = tuple(_DATA["places"])
PLACES_B: dict[str, str] = _DATA["places_b"]
"""Every place and its set-B paraphrase ("top shelf" -> "upper shelf"), so set B names no place as set A does."""
OPPOSITE_PLACE: dict[str, str] = _DATA["opposite_place"]
CATALOG: dict[str, ContextSpec] = {
    name: ContextSpec(name, **{k: v if isinstance(v, str) else tuple(v) for k, v in spec.items()})
    for name, spec in _DATA["contexts"].items()
}
REQUESTS = _texts(_DATA["requests"])
SCENE_TEXT = _texts(_DATA["scene_text"])


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _contains(a: str, b: str) -> bool:
    return re.search(rf"\b{re.escape(b.lower())}\b", a.lower()) is not None


def _clashes(name: str, chosen: list[str]) -> bool:
    """True when a name contains, or is contained in, a chosen one: corrections would then be ambiguous."""
    return any(_contains(name, c) or _contains(c, name) for c in chosen)


def check_catalog() -> None:
    """Fail early on a catalog that would make a set-B text repeat set A or leave a name without synonym."""
    b_names = list(ITEMS.values())
    if len(set(b_names)) != len(b_names) or set(b_names) & set(ITEMS):
        raise ValueError("catalog: set-B names must be unique and differ from every set-A name")
    for spec in CATALOG.values():
        for name in (spec.obvious, *spec.items, *spec.put_away):
            if name not in ITEMS:
                raise ValueError(f"catalog: {spec.name}: '{name}' has no set-B synonym")
        if set(spec.cues_a) & set(spec.cues_b):
            raise ValueError(f"catalog: {spec.name}: set A and set B share a cue")
        if not set(spec.places) <= set(PLACES):
            raise ValueError(f"catalog: {spec.name}: unknown place")
    if set(PLACES_B) != set(PLACES) or set(PLACES_B.values()) & set(PLACES):
        raise ValueError("catalog: every place needs one set-B paraphrase that is no set-A place")


def check_persona(persona: Persona, path: Path) -> None:
    """A persona must use catalog contexts, items and places so every name has its set-B synonym."""
    for table, label in ((persona.preferences, "preferences"), (persona.shifted, "shift")):
        for context, pref in table.items():
            spec = CATALOG.get(context)
            if spec is None:
                raise InputError(path, "unknown context", field=f"{label}.{context}", entry="persona")
            if pref.item not in ITEMS or pref.item in {n for s in CATALOG.values() for n in s.put_away}:
                raise InputError(path, f"'{pref.item}' is not a catalog item", field=f"{label}.{context}.item")
            if pref.place not in spec.places:
                raise InputError(path, f"'{pref.place}' is not a place for {context}", field=f"{label}.{context}.place")
            clash = [c for c in pref.cues if any(c == b for b in spec.cues_b)]
            if clash:
                raise InputError(path, "a cue repeats a set-B sentence", field=f"{label}.{context}.cues")
    if len(persona.preferences) * SCENARIOS_PER_CONTEXT < 20:
        raise InputError(path, "fewer than 7 contexts give fewer than 20 scenarios per phase", field="preferences")


def _name(item: str, text_set: str) -> str:
    return item if text_set == "A" else ITEMS[item]


def _bring_options(rng: random.Random, persona: Persona, context: str, phase: int, text_set: str) -> list[str]:
    """The wanted item, the obvious one, and 1-2 distractors (often the user's own pick for another context)."""
    spec = CATALOG[context]
    wanted = persona.preference(context, phase).item
    chosen = [_name(wanted, text_set)]
    if spec.obvious != wanted:
        chosen.append(_name(spec.obvious, text_set))
    size = max(rng.choice((3, 4)), len(chosen) + 1)
    own = [persona.preference(c, phase).item for c in persona.contexts if c != context]
    own = [_name(i, text_set) for i in dict.fromkeys(own)]
    plausible = [_name(i, text_set) for i in spec.items]
    if text_set == "B":
        plausible += list(spec.extra_b)
    while len(chosen) < size:
        pool = own if own and rng.random() < 0.5 else plausible
        pool = [n for n in pool if not _clashes(n, chosen)]
        if not pool:
            pool = [n for n in plausible if not _clashes(n, chosen)]
        chosen.append(rng.choice(pool))
    rng.shuffle(chosen)
    return chosen


def _place_name(place: str, text_set: str) -> str:
    return PLACES_B[place] if text_set == "B" else place


def _place_options(rng: random.Random, wanted: str, context: str) -> list[str]:
    """2-4 places: the wanted one, the usual one for the context, often the wanted one's opposite."""
    spec = CATALOG[context]
    chosen = [wanted]
    if spec.obvious_place != wanted:
        chosen.append(spec.obvious_place)
    size = max(rng.choices((2, 3, 4), weights=(1, 4, 4))[0], len(chosen))
    opposite = OPPOSITE_PLACE.get(wanted)
    if opposite and opposite not in chosen and len(chosen) < size and rng.random() < 0.7:
        chosen.append(opposite)
    pool = [p for p in spec.places if p not in chosen] or [p for p in PLACES if p not in chosen]
    while len(chosen) < size:
        pick = rng.choice(pool)
        pool.remove(pick)
        chosen.append(pick)
    rng.shuffle(chosen)
    return chosen


def _persona_phase(persona: Persona, phase: int, seed: int) -> list[dict]:
    text_set = "A" if phase in (1, 3) else "B"
    # Phases 1/2 (and 3/4) share the plan of which contexts get which task kinds: same situations.
    plan_rng = random.Random(f"{seed}:{persona.name}:plan:{(phase + 1) // 2}")
    heavy = set(plan_rng.sample(persona.contexts, min(PLACE_HEAVY_CONTEXTS, len(persona.contexts))))
    rng = random.Random(f"{seed}:{persona.name}:phase:{phase}")
    rows = []
    for context in persona.contexts:
        spec = CATALOG[context]
        pref = persona.preference(context, phase)
        kinds = ["place", "place", "bring"] if context in heavy else ["bring", "bring", "place"]
        cue_pool = list(dict.fromkeys(pref.cues + spec.cues_a)) if text_set == "A" else list(spec.cues_b)
        cues = rng.sample(cue_pool, SCENARIOS_PER_CONTEXT)
        for kind, cue in zip(kinds, cues, strict=True):
            if kind == "bring":
                options = _bring_options(rng, persona, context, phase, text_set)
                obj, location = _name(pref.item, text_set), PICK_UP
                request = rng.choice(REQUESTS[(text_set, kind)])
                scene = rng.choice(SCENE_TEXT[(text_set, kind)]).format(objects=_listing(options))
                scene_objects = options
            else:
                obj = _name(rng.choice(spec.put_away), text_set)
                places = [_place_name(p, text_set) for p in _place_options(rng, pref.place, context)]
                location = _place_name(pref.place, text_set)
                request = rng.choice(REQUESTS[(text_set, kind)]).format(obj=obj)
                scene = rng.choice(SCENE_TEXT[(text_set, kind)]).format(obj=obj, places=_listing(places))
                scene_objects = [obj, *places]
            rows.append(
                {
                    "scene": scene,
                    "task": f"{cue} {request}",
                    "context": context,
                    "user": persona.name,
                    "user_intent_object": obj,
                    "user_intent_location": location,
                    "scene_objects": scene_objects,
                }
            )
    rng.shuffle(rows)
    return rows


def generate(personas: dict[str, Persona], seed: int = 0) -> dict[int, list[dict]]:
    """All four phase files as lists of PAHF-schema dicts, indexed 0.. per file."""
    check_catalog()
    files: dict[int, list[dict]] = {}
    for phase in PHASE_FILES:
        rows = [row for name in sorted(personas) for row in _persona_phase(personas[name], phase, seed)]
        files[phase] = [{"index": i, **row} for i, row in enumerate(rows)]
    return files


def write(files: dict[int, list[dict]], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for phase, rows in files.items():
        path = out / PHASE_FILES[phase]
        path.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pahf_robot.bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seed; the same seed gives byte-identical files")
    parser.add_argument("--out", type=Path, default=SCENARIOS, help="output folder (default: scenarios/)")
    parser.add_argument("--personas", type=Path, default=PERSONAS, help="persona folder (default: personas/)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        personas = load_personas(args.personas)
        if not personas:
            raise InputError(args.personas, "no persona files (*.yaml)")
        for persona in personas.values():
            check_persona(persona, args.personas / f"{persona.name}.yaml")
    except InputError as exc:
        log.error("%s", exc)
        return 2
    files = generate(personas, args.seed)
    for path in write(files, args.out):
        log.info("wrote %s", path)
    bring = sum(r["user_intent_location"] == PICK_UP for rows in files.values() for r in rows)
    total = sum(len(rows) for rows in files.values())
    log.info("%d personas, %d scenarios (%.0f%% bring me)", len(personas), total, 100 * bring / total)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
