"""Seeded generator of the bundled benchmark, written in the PAHF embodied schema.

Every persona in personas/ gets 24 scenarios per phase: per context a mix of "bring me" tasks (pick an item
and hand it over) and "put it away" tasks (pick the context's object and choose a place). Set A (phases 1
and 3) and set B (phases 2 and 4) describe the same situations with different sentences and rename every
item to a near-synonym, so phase 2 measures generalisation rather than recall. Phases 3-4 use the shifted
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

from pahf_robot.core.errors import InputError
from pahf_robot.core.paths import PERSONAS, SCENARIOS
from pahf_robot.bench.personas import Persona, load_personas
from pahf_robot.bench.scenarios import PHASE_FILES, PICK_UP

log = logging.getLogger(__name__)

SCENARIOS_PER_CONTEXT = 3
PLACE_HEAVY_CONTEXTS = 2
"""Per persona and phase, this many contexts get two put-away tasks and one bring task; the rest get
two bring tasks and one put-away task (8 contexts: 14 bring + 10 place = 58% bring)."""

ITEMS: dict[str, str] = {
    "black coffee": "dark roast coffee",
    "green tea": "sencha tea",
    "orange juice": "citrus juice",
    "croissant": "butter pastry",
    "yogurt cup": "yoghurt pot",
    "espresso shot": "double espresso",
    "champagne bottle": "sparkling wine",
    "chocolate cake": "fudge cake",
    "sparkling cider": "fizzy apple juice",
    "cupcake": "frosted muffin",
    "craft beer": "pale ale",
    "ice cream tub": "gelato tub",
    "chicken soup": "chicken broth",
    "honey lemon tea": "lemon ginger tea",
    "ginger ale": "ginger soda",
    "throat lozenges": "cough drops",
    "plain crackers": "saltine crackers",
    "ice-cold water with ice": "chilled water with ice",
    "iced tea": "cold brew tea",
    "popsicle": "ice lolly",
    "watermelon slice": "melon wedge",
    "lemon soda": "fizzy lemonade",
    "energy drink": "caffeinated drink",
    "dark chocolate": "bittersweet chocolate",
    "mixed nuts": "trail mix",
    "instant noodles": "cup noodles",
    "protein shake": "protein smoothie",
    "sports drink": "electrolyte drink",
    "banana": "ripe banana",
    "coconut water": "coconut drink",
    "chocolate milk": "cocoa milk",
    "protein bar": "energy bar",
    "herbal tea": "chamomile tea",
    "stress ball": "squeeze ball",
    "scented candle": "aroma candle",
    "red wine": "merlot",
    "hot cocoa": "hot chocolate",
    "tomato soup": "tomato bisque",
    "mulled cider": "spiced apple cider",
    "wool socks": "knit socks",
    "potato chips": "potato crisps",
    "granola bar": "muesli bar",
    "green apple": "granny smith apple",
    "cheese sticks": "string cheese",
    "pretzels": "pretzel twists",
    "rice cakes": "puffed rice cakes",
    "popcorn": "buttered popcorn",
    "nachos": "tortilla chips",
    "pizza slice": "pizza wedge",
    "candy mix": "pick and mix",
    "cold beer": "lager bottle",
    "warm milk": "hot milk",
    "sleep mask": "eye mask",
    "paperback novel": "pocket novel",
    "glass of water": "cup of water",
    "lavender spray": "lavender mist",
    "chocolate pudding": "chocolate mousse",
    "mint tea": "peppermint tea",
    "fruit salad": "fruit cup",
    "digestive biscuits": "tea biscuits",
    "juice box": "juice carton",
    "gummy bears": "fruit gummies",
    "animal crackers": "animal biscuits",
    "picture book": "storybook",
    # objects put away after a situation
    "cereal box": "breakfast cereal",
    "coffee beans": "ground coffee",
    "leftover cake": "spare cake slices",
    "extra cupcakes": "spare muffins",
    "cough syrup": "cough medicine",
    "cold tablets": "flu pills",
    "ice packs": "cooling gel packs",
    "water jug": "water pitcher",
    "sticky notes": "post-it pad",
    "highlighter pens": "marker pens",
    "water bottle": "sports bottle",
    "gym towel": "sweat towel",
    "journal": "diary",
    "essential oil": "aroma oil",
    "wool gloves": "knit gloves",
    "wool scarf": "knit scarf",
    "crackers box": "cracker packet",
    "peanut butter jar": "nut butter jar",
    "remote control": "TV remote",
    "playing cards": "card deck",
    "reading glasses": "spectacles",
    "hand cream": "moisturiser tube",
    "ketchup bottle": "tomato sauce bottle",
    "salt shaker": "salt cellar",
    "building blocks": "toy blocks",
    "toy car": "toy truck",
}
"""Every set-A name and its set-B near-synonym."""

PLACES = (
    "top shelf",
    "middle shelf",
    "bottom shelf",
    "kitchen cabinet",
    "drawer",
    "fridge",
    "pantry bin",
    "counter left zone",
    "counter right zone",
)
OPPOSITE_PLACE = {
    "top shelf": "bottom shelf",
    "bottom shelf": "top shelf",
    "counter left zone": "counter right zone",
    "counter right zone": "counter left zone",
    "fridge": "pantry bin",
    "pantry bin": "fridge",
}


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


CATALOG: dict[str, ContextSpec] = {
    c.name: c
    for c in (
        ContextSpec(
            "drowsy_morning",
            (
                "I just woke up this morning and can barely keep my eyes open.",
                "My alarm went off way too early this morning.",
                "I'm still half asleep this morning and need to wake up.",
                "I'm so groggy this morning, I only got up a minute ago.",
            ),
            (
                "Morning came too soon and I'm yawning nonstop.",
                "It's early morning and my head is still foggy.",
                "My brain hasn't woken up yet this morning.",
                "I overslept and feel sluggish this morning.",
            ),
            "black coffee",
            ("green tea", "orange juice", "croissant", "yogurt cup", "espresso shot"),
            ("oat latte", "grapefruit juice"),
            ("cereal box", "coffee beans"),
            (
                "kitchen cabinet",
                "pantry bin",
                "top shelf",
                "middle shelf",
                "counter left zone",
                "counter right zone",
                "fridge",
            ),
        ),
        ContextSpec(
            "celebration",
            (
                "I just got the promotion I was hoping for, let's celebrate!",
                "We won the match, time to celebrate!",
                "It's my birthday today, let's celebrate!",
                "I passed my exams with top marks, time to celebrate!",
            ),
            (
                "Big news: the job offer came through, let's celebrate!",
                "Our team took the championship, time for a party!",
                "It's our anniversary and we're celebrating.",
                "I finally handed in my thesis and I'm celebrating!",
            ),
            "champagne bottle",
            ("chocolate cake", "sparkling cider", "cupcake", "craft beer", "ice cream tub"),
            ("prosecco", "macarons"),
            ("leftover cake", "extra cupcakes"),
            (
                "fridge",
                "counter left zone",
                "counter right zone",
                "top shelf",
                "middle shelf",
                "bottom shelf",
                "kitchen cabinet",
            ),
        ),
        ContextSpec(
            "illness",
            (
                "I've come down with a nasty cold.",
                "My throat is sore and I keep sneezing, I'm sick.",
                "I think I have the flu, I feel feverish.",
                "My nose is stuffed up and I feel ill.",
            ),
            (
                "I'm sick with a runny nose.",
                "I woke up with a scratchy throat and a fever.",
                "I keep coughing and my temperature is up, I'm ill.",
                "Some flu bug has knocked me out, I feel awful.",
            ),
            "chicken soup",
            ("honey lemon tea", "ginger ale", "orange juice", "throat lozenges", "plain crackers"),
            ("vitamin water", "miso soup"),
            ("cough syrup", "cold tablets"),
            ("kitchen cabinet", "drawer", "top shelf", "fridge", "counter right zone", "middle shelf"),
        ),
        ContextSpec(
            "hot_weather",
            (
                "It's boiling hot outside today, the heat is awful.",
                "This heat wave is unbearable.",
                "I'm sweating buckets in this scorching heat.",
                "The air conditioning broke and it's sweltering hot in here.",
            ),
            (
                "The thermometer says thirty-eight degrees, it's so hot.",
                "I'm melting in this summer heat.",
                "It's a hot scorcher and the fan isn't helping.",
                "I came in from the blazing sun and I'm roasting in this heat.",
            ),
            "ice-cold water with ice",
            ("iced tea", "popsicle", "watermelon slice", "lemon soda", "ice cream tub"),
            ("frozen yogurt", "cucumber water"),
            ("ice packs", "water jug"),
            (
                "fridge",
                "bottom shelf",
                "counter left zone",
                "counter right zone",
                "kitchen cabinet",
                "middle shelf",
            ),
        ),
        ContextSpec(
            "late_work",
            (
                "I'm working late to finish a report before the deadline.",
                "The deadline is tomorrow and I'm still working.",
                "It's late but I have to keep working for a few more hours.",
                "I'm staying late at my desk to prepare the presentation.",
            ),
            (
                "I'll be working at my desk for hours to finish this project.",
                "Work piled up and I have to keep going late.",
                "My boss expects the slides first thing, so I'm still working.",
                "Another long evening of work at the laptop, the deadline is close.",
            ),
            "energy drink",
            ("espresso shot", "dark chocolate", "mixed nuts", "instant noodles", "black coffee"),
            ("cold brew coffee", "beef jerky"),
            ("sticky notes", "highlighter pens"),
            ("drawer", "top shelf", "middle shelf", "counter left zone", "counter right zone"),
        ),
        ContextSpec(
            "after_workout",
            (
                "I just got back from a long training run.",
                "I finished a tough workout at the gym.",
                "My legs are wrecked after a long bike ride.",
                "That exercise class really made me sweat.",
            ),
            (
                "I'm back from training and my muscles are tired from the workout.",
                "I just did an hour of weightlifting at the gym.",
                "I swam laps all afternoon for exercise and I'm spent.",
                "Football practice is over and I'm out of breath from running.",
            ),
            "protein shake",
            ("sports drink", "banana", "coconut water", "chocolate milk", "protein bar"),
            ("recovery bar", "isotonic water"),
            ("water bottle", "gym towel"),
            ("bottom shelf", "counter right zone", "drawer", "middle shelf", "counter left zone"),
        ),
        ContextSpec(
            "anxiety",
            (
                "I'm really anxious about tomorrow's interview.",
                "I'm so stressed before the exam.",
                "Everything is piling up and I feel stressed out.",
                "I'm nervous and tense and can't sit still.",
            ),
            (
                "I've got nervous butterflies about the big meeting.",
                "My heart is racing with worry and stress.",
                "I'm anxious and on edge.",
                "The pressure is getting to me and I'm stressed.",
            ),
            "herbal tea",
            ("dark chocolate", "stress ball", "scented candle", "red wine", "ice cream tub"),
            ("lavender tea", "fidget cube"),
            ("journal", "essential oil"),
            ("middle shelf", "drawer", "top shelf", "counter left zone", "kitchen cabinet"),
        ),
        ContextSpec(
            "rainy_cold",
            (
                "It's pouring rain and I'm soaked.",
                "The weather outside is icy and wet today.",
                "I'm freezing, it's been raining all day.",
                "Snow is falling and my fingers are numb from the cold weather.",
            ),
            (
                "I got caught in the rain on the way home.",
                "It's grey, rainy and chilly out there.",
                "The storm made the whole house feel frosty and cold.",
                "My teeth are chattering after walking through the freezing rain.",
            ),
            "hot cocoa",
            ("tomato soup", "mulled cider", "wool socks", "black coffee", "honey lemon tea"),
            ("chai latte", "fleece slippers"),
            ("wool gloves", "wool scarf"),
            ("drawer", "bottom shelf", "counter right zone", "top shelf", "middle shelf"),
        ),
        ContextSpec(
            "hungry_snack",
            (
                "Lunch was ages ago and I'm hungry.",
                "I'm starving and the next meal is hours away.",
                "I'm peckish and could go for a little snack.",
                "I skipped lunch and I'm hungry now.",
            ),
            (
                "My tummy is rumbling, I'm hungry between meals.",
                "A small snack would tide me over, I'm hungry.",
                "It's mid-afternoon and I'm craving a snack.",
                "I'm feeling hungry and could munch on a snack.",
            ),
            "potato chips",
            ("granola bar", "green apple", "cheese sticks", "pretzels", "rice cakes"),
            ("veggie straws", "cheese crackers"),
            ("crackers box", "peanut butter jar"),
            (
                "pantry bin",
                "kitchen cabinet",
                "top shelf",
                "counter left zone",
                "counter right zone",
                "bottom shelf",
            ),
        ),
        ContextSpec(
            "movie_night",
            (
                "My friends are coming over to watch a movie.",
                "We're streaming the match with friends on the couch.",
                "My friends are here for a board game evening.",
                "A few buddies dropped by to watch a series with me.",
            ),
            (
                "My friends are piling onto the sofa for a film marathon.",
                "We're having a movie watch party with friends in the living room.",
                "My pals and I are playing cards with a film on.",
                "Some friends are here to share snacks and watch a show.",
            ),
            "popcorn",
            ("nachos", "pizza slice", "candy mix", "cold beer", "lemon soda"),
            ("sour candy", "root beer"),
            ("remote control", "playing cards"),
            (
                "middle shelf",
                "drawer",
                "top shelf",
                "counter left zone",
                "counter right zone",
                "bottom shelf",
            ),
        ),
        ContextSpec(
            "before_sleep",
            (
                "I'm about to go to bed.",
                "Lights out soon, I'm heading to bed.",
                "I'm winding down before I go to sleep.",
                "I'm in my pyjamas and ready for bed.",
            ),
            (
                "Time to get ready for bed and sleep.",
                "I'm settling under the covers to sleep.",
                "I'm relaxing in bed before drifting off to sleep.",
                "Bedtime is here and I'm going to sleep.",
            ),
            "warm milk",
            ("herbal tea", "sleep mask", "paperback novel", "glass of water", "lavender spray"),
            ("valerian tea", "earplugs"),
            ("reading glasses", "hand cream"),
            ("drawer", "top shelf", "middle shelf", "counter right zone", "counter left zone"),
        ),
        ContextSpec(
            "dinner_cleanup",
            (
                "Dinner is over and the table is a mess.",
                "We just finished dinner and the kitchen needs cleaning.",
                "The dinner plates are cleared, now it's time to clean up.",
                "Dinner's done and there are dishes everywhere.",
            ),
            (
                "The dinner is finished and the dishes are piling up.",
                "We've eaten dinner and the kitchen is a disaster.",
                "Everyone's done with dinner and the table needs clearing.",
                "It's after dinner and the counters are cluttered with dishes.",
            ),
            "chocolate pudding",
            ("mint tea", "fruit salad", "espresso shot", "red wine", "digestive biscuits"),
            ("lemon sorbet", "cheesecake slice"),
            ("ketchup bottle", "salt shaker"),
            (
                "kitchen cabinet",
                "fridge",
                "counter left zone",
                "counter right zone",
                "pantry bin",
                "top shelf",
            ),
        ),
        ContextSpec(
            "kids_visiting",
            (
                "The kids from my family are coming over this afternoon.",
                "The grandkids will be here any minute.",
                "My sister dropped off her children for the day.",
                "The neighbour's kids are visiting.",
            ),
            (
                "The children from next door are playing here today.",
                "My nephews are little kids and they're staying with us this weekend.",
                "A bunch of kids are running around the living room.",
                "The young cousins just arrived, the kids are so excited.",
            ),
            "juice box",
            ("gummy bears", "animal crackers", "picture book", "chocolate milk", "green apple"),
            ("apple sauce pouch", "sticker book"),
            ("building blocks", "toy car"),
            ("bottom shelf", "top shelf", "drawer", "middle shelf", "counter right zone"),
        ),
    )
}

REQUESTS = {
    ("A", "bring"): (
        "Could you bring me something?",
        "Can you get me something from the table?",
        "Please fetch me something.",
        "Would you hand me something to have?",
        "Grab me something, please.",
    ),
    ("B", "bring"): (
        "Would you pass me a little something?",
        "Pick something out for me and bring it over.",
        "Mind getting me something over here?",
        "I'd love it if you could bring me something.",
        "Something from the table for me, please?",
    ),
    ("A", "place"): (
        "Please put the {obj} away.",
        "Could you put the {obj} away?",
        "Can you tidy away the {obj}?",
        "Please put away the {obj} for me.",
    ),
    ("B", "place"): (
        "Would you store the {obj} for me?",
        "Find the right spot for the {obj}, please.",
        "Stow the {obj} in the usual spot, please.",
        "Could you clear the {obj} away to the usual place?",
    ),
}

SCENE_TEXT = {
    ("A", "bring"): (
        "On the table: {objects}.",
        "The table holds {objects}.",
        "Within reach are {objects}.",
    ),
    ("B", "bring"): (
        "Laid out on the counter are {objects}.",
        "You can see {objects} on the tray.",
        "Items available: {objects}.",
    ),
    ("A", "place"): (
        "The {obj} is on the table. Storage nearby: {places}.",
        "On the table: the {obj}. The storage spots are {places}.",
    ),
    ("B", "place"): (
        "You are next to the {obj}. Spots available: {places}.",
        "Left on the counter: the {obj}; close by are {places}.",
    ),
}


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


def check_persona(persona: Persona, path: Path) -> None:
    """A persona must use catalog contexts, items and places so every name has its set-B synonym."""
    for table, label in ((persona.preferences, "preferences"), (persona.shifted, "shift")):
        for context, pref in table.items():
            spec = CATALOG.get(context)
            if spec is None:
                raise InputError(path, "unknown context", field=f"{label}.{context}", entry="persona")
            if pref.item not in ITEMS or pref.item in {n for s in CATALOG.values() for n in s.put_away}:
                raise InputError(
                    path, f"'{pref.item}' is not a catalog item", field=f"{label}.{context}.item"
                )
            if pref.place not in spec.places:
                raise InputError(
                    path, f"'{pref.place}' is not a place for {context}", field=f"{label}.{context}.place"
                )
            clash = [c for c in pref.cues if any(c == b for b in spec.cues_b)]
            if clash:
                raise InputError(path, "a cue repeats a set-B sentence", field=f"{label}.{context}.cues")
    if len(persona.preferences) * SCENARIOS_PER_CONTEXT < 20:
        raise InputError(
            path, "fewer than 7 contexts give fewer than 20 scenarios per phase", field="preferences"
        )


def _name(item: str, text_set: str) -> str:
    return item if text_set == "A" else ITEMS[item]


def _bring_options(
    rng: random.Random, persona: Persona, context: str, phase: int, text_set: str
) -> list[str]:
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
        for kind, cue in zip(kinds, cues):
            if kind == "bring":
                options = _bring_options(rng, persona, context, phase, text_set)
                obj, location = _name(pref.item, text_set), PICK_UP
                request = rng.choice(REQUESTS[(text_set, kind)])
                scene = rng.choice(SCENE_TEXT[(text_set, kind)]).format(objects=_listing(options))
                scene_objects = options
            else:
                obj = _name(rng.choice(spec.put_away), text_set)
                places = _place_options(rng, pref.place, context)
                location = pref.place
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
    parser = argparse.ArgumentParser(
        prog="python -m pahf_robot.bench.generate", description=__doc__.splitlines()[0]
    )
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
