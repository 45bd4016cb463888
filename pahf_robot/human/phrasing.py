"""How the natural simulated person refers to things: in full, in part, by a description, or not at all.

People rarely repeat a scene's exact label. They say "the tea", "the herbal one", "something hot", "up
high"; after a wrong choice they often only say "No, not that." or why not ("Too sweet for me right now.").
Descriptions come from what the words of a name say about the thing (an iced drink is cold, a top shelf is
high), written here as general household knowledge for any name, not a list of any benchmark's items.
A description is only used when it fits the meant option and no other option in the scene.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

ATTRIBUTE_WORDS: dict[str, tuple[str, ...]] = {
    "hot": (
        "hot",
        "warm",
        "steaming",
        "toasted",
        "roasted",
        "mulled",
        "heated",
        "toast",
        "soup",
        "cocoa",
        "coffee",
        "espresso",
        "latte",
        "cappuccino",
        "broth",
        "porridge",
    ),
    "cold": ("iced", "ice", "cold", "chilled", "frozen", "frosty", "cool", "popsicle", "sorbet", "gelato", "smoothie"),
    "fizzy": (
        "sparkling",
        "fizzy",
        "soda",
        "cola",
        "tonic",
        "seltzer",
        "carbonated",
        "bubbly",
        "champagne",
        "prosecco",
        "lemonade",
        "kombucha",
    ),
    "sweet": (
        "chocolate",
        "candy",
        "cake",
        "cookie",
        "cookies",
        "honey",
        "caramel",
        "sweet",
        "sweets",
        "dessert",
        "muffin",
        "donut",
        "doughnut",
        "pie",
        "pudding",
        "brownie",
        "toffee",
        "marshmallow",
        "jam",
        "gummy",
        "gummies",
        "biscuit",
        "biscuits",
        "pastry",
        "croissant",
        "cupcake",
        "fudge",
    ),
    "salty": (
        "chips",
        "crisps",
        "pretzel",
        "pretzels",
        "crackers",
        "nuts",
        "peanuts",
        "popcorn",
        "salted",
        "nachos",
        "fries",
        "olives",
        "jerky",
        "salty",
    ),
    "caffeinated": ("coffee", "espresso", "energy", "cola", "latte", "cappuccino", "mate", "matcha", "caffeinated"),
    "caffeine-free": ("herbal", "chamomile", "decaf", "decaffeinated", "rooibos", "peppermint", "caffeine-free"),
    "alcoholic": (
        "wine",
        "beer",
        "whisky",
        "whiskey",
        "champagne",
        "cocktail",
        "cider",
        "prosecco",
        "gin",
        "rum",
        "vodka",
        "sake",
        "ale",
        "lager",
        "sherry",
        "brandy",
        "liqueur",
    ),
    "fruity": (
        "apple",
        "banana",
        "orange",
        "grapes",
        "berries",
        "strawberries",
        "melon",
        "watermelon",
        "mango",
        "pear",
        "peach",
        "kiwi",
        "fruit",
        "cherries",
        "pineapple",
        "plum",
        "clementine",
        "blueberries",
    ),
    "healthy": (
        "salad",
        "yogurt",
        "yoghurt",
        "oat",
        "oats",
        "granola",
        "vegetable",
        "vegetables",
        "carrot",
        "carrots",
        "celery",
        "hummus",
        "kale",
        "protein",
    ),
    "sugar-free": ("sugar-free", "diet", "unsweetened", "zero"),
    "soft": ("blanket", "pillow", "cushion", "plush", "teddy", "throw", "fleece", "slippers", "scarf"),
    "medicinal": (
        "pill",
        "pills",
        "tablets",
        "ibuprofen",
        "aspirin",
        "paracetamol",
        "lozenge",
        "lozenges",
        "medicine",
        "cough",
        "vitamins",
        "antacid",
        "bandage",
        "plaster",
        "thermometer",
    ),
    "plain": ("water",),
    "high": ("top", "upper", "high", "highest", "uppermost", "overhead", "above"),
    "low": ("bottom", "lower", "low", "lowest", "floor", "under", "beneath", "below"),
    "middle": ("middle", "centre", "center", "mid"),
    "chilled place": ("fridge", "refrigerator", "freezer", "cooler", "chiller", "icebox"),
    "closed": ("cabinet", "cupboard", "closet", "wardrobe", "pantry", "locker", "armoire"),
    "drawer": ("drawer", "drawers"),
    "open surface": ("counter", "table", "desk", "worktop", "countertop", "sideboard", "windowsill", "sill", "bench"),
    "left": ("left",),
    "right": ("right",),
    "container": ("bin", "basket", "box", "crate", "tray", "tub", "caddy", "hamper"),
    "hanging": ("hook", "hooks", "rack", "peg", "hanger", "rail"),
}
"""Which words of a name give a thing which attribute (general household knowledge)."""

OBJECT_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "hot": ("something hot", "something warm"),
    "cold": ("something cold", "something chilled"),
    "fizzy": ("something fizzy", "something bubbly"),
    "sweet": ("something sweet", "a sweet treat"),
    "salty": ("something salty", "something savoury to nibble"),
    "caffeinated": ("something with caffeine", "something to wake me up"),
    "caffeine-free": ("something without caffeine", "something caffeine-free"),
    "alcoholic": ("something alcoholic", "a proper grown-up drink"),
    "fruity": ("some fruit", "something fruity"),
    "healthy": ("something healthy", "something light and healthy"),
    "sugar-free": ("the one without sugar", "something sugar-free"),
    "soft": ("something soft", "something cosy"),
    "medicinal": ("some medicine", "something for how I feel"),
    "plain": ("just something plain", "nothing fancy, plain"),
}
PLACE_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "high": ("up high", "somewhere high up"),
    "low": ("down low", "somewhere low down"),
    "middle": ("in the middle", "at middle height"),
    "chilled place": ("somewhere cold", "where things stay cold"),
    "closed": ("behind a door", "somewhere closed away"),
    "drawer": ("in a drawer", "tucked into a drawer"),
    "open surface": ("out in the open", "out where I can see it"),
    "left": ("on the left", "over on the left side"),
    "right": ("on the right", "over on the right side"),
    "container": ("in the basket", "in a container"),
    "hanging": ("hanging up", "on a hook"),
}
OBJECT_COMPLAINTS: dict[str, tuple[str, ...]] = {
    "hot": ("Too hot for me right now.", "I don't want anything hot."),
    "cold": ("Too cold for me right now.", "Nothing cold, please."),
    "fizzy": ("Not something fizzy right now.", "I don't feel like bubbles."),
    "sweet": ("Too sweet for me right now.", "Nothing sweet, please."),
    "salty": ("Too salty for me right now.", "Not something salty."),
    "caffeinated": ("No caffeine for me right now.", "Not something with caffeine."),
    "caffeine-free": ("That won't keep me going.", "Too mild for what I need."),
    "alcoholic": ("No alcohol right now.", "Not a drink like that."),
    "fruity": ("Not fruit right now.", "I don't feel like fruit."),
    "healthy": ("Not something that healthy right now.", "Too virtuous for my mood."),
    "soft": ("I don't need anything soft.", "Not that kind of thing."),
    "medicinal": ("I don't need medicine.", "Not medicine, no."),
}
PLACE_COMPLAINTS: dict[str, tuple[str, ...]] = {
    "high": ("Not up there.", "Too high up."),
    "low": ("Not down there.", "Too low down."),
    "chilled place": ("It doesn't need to be cold.", "Not somewhere cold."),
    "closed": ("Not shut away like that.", "Not behind a door."),
    "open surface": ("Not out in the open.", "Don't leave it out."),
}
BARE_NEGATIVES = (
    "No, not that.",
    "Wrong one.",
    "That's not what I wanted.",
    "Hmm, no.",
    "Not that one, sorry.",
    "Nope.",
)
BARE_PLACE_NEGATIVES = ("No, not there.", "Wrong spot.", "That's not where it goes.", "Hmm, no.", "Nope, not there.")
FALLBACK_COMPLAINTS = ("No, I'm not in the mood for that.", "Hmm, no, not that today.")

_SPLITTERS = {"of", "with", "in", "on", "for", "from", "and"}


def attributes_of(name: str) -> set[str]:
    words = set(re.findall(r"[a-z0-9-]+", name.lower()))
    words |= {part for word in list(words) for part in word.split("-")}
    return {attribute for attribute, cues in ATTRIBUTE_WORDS.items() if words & set(cues)}


def partial_names(name: str) -> list[str]:
    """Shorter ways to say a name: its head noun ("the tea"), its modifiers ("the herbal one"), or what a
    "glass of water" holds ("the water")."""
    words = name.lower().split()
    if len(words) < 2:
        return []
    cut = next((i for i, w in enumerate(words) if w in _SPLITTERS), len(words))
    main, rest = words[:cut], [w for w in words[cut + 1 :] if w not in _SPLITTERS]
    forms = []
    if rest:
        forms.append(" ".join(rest))
    if len(main) >= 2:
        forms += [main[-1], " ".join(main[:-1]) + " one"]
    return forms


def _word_set(text: str) -> set[str]:
    return {w.removesuffix("s") for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in ("one", "the")}


@dataclass(frozen=True)
class Reference:
    """A way of referring to an option: `how` is "exact", "partial" or "description"."""

    how: str
    text: str


class Phrasing:
    """Chooses how to refer to an option among the scene's others, with a seeded random generator."""

    def __init__(self, rng: random.Random, unique_partial_share: float = 0.85):
        self.rng = rng
        self.unique_partial_share = unique_partial_share

    def exact(self, option: str) -> Reference:
        return Reference("exact", option)

    def partial(self, option: str, others: Sequence[str]) -> Reference | None:
        """Mostly a part that no other option shares; sometimes an ambiguous one, as people do."""
        forms = partial_names(option)
        if not forms:
            return None
        taken = set().union(*(_word_set(o) for o in others)) if others else set()
        unique = [f for f in forms if not (_word_set(f) & taken)]
        pool = unique if unique and self.rng.random() < self.unique_partial_share else forms
        return Reference("partial", self.rng.choice(pool))

    def description(self, option: str, others: Sequence[str], place: bool) -> Reference | None:
        """A description by an attribute the option has and no other option has."""
        table = PLACE_DESCRIPTIONS if place else OBJECT_DESCRIPTIONS
        taken = set().union(*(attributes_of(o) for o in others)) if others else set()
        usable = sorted(a for a in attributes_of(option) - taken if a in table)
        if not usable:
            return None
        return Reference("description", self.rng.choice(table[self.rng.choice(usable)]))

    def complaint(self, chosen: str, place: bool) -> str:
        """Why the chosen option is wrong, by one of its attributes; never names what was wanted."""
        table = PLACE_COMPLAINTS if place else OBJECT_COMPLAINTS
        usable = sorted(a for a in attributes_of(chosen) if a in table)
        if not usable:
            return self.rng.choice(FALLBACK_COMPLAINTS)
        return self.rng.choice(table[self.rng.choice(usable)])

    def refer(self, option: str, others: Sequence[str], place: bool, shares: dict[str, float]) -> Reference:
        """Draw a kind of reference by `shares`; a kind that does not apply falls back to a part, then the name."""
        how = self.rng.choices(list(shares), weights=list(shares.values()))[0]
        reference = None
        if how == "description":
            reference = self.description(option, others, place)
        if how in ("description", "partial") and reference is None:
            reference = self.partial(option, others)
        return reference or self.exact(option)
