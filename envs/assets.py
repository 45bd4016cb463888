"""Free-text object names -> generated asset kinds, colours and the asset catalogue.

Scenario objects are free text ("herbal tea", "a book about birds"); the simulator has a dozen
generated shapes. The mapping is keyword based so it is deterministic and explainable, with a
box as the fallback for names no rule knows.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent
DATA_ROOT = _CHECKOUT if (_CHECKOUT / "scenarios").is_dir() else Path(sys.prefix) / "share" / "pahf-robot"
"""The bundled data folders: beside the packages in a checkout (editable install), else under
`<prefix>/share/pahf-robot`, where a wheel install puts them."""
ASSETS = DATA_ROOT / "assets"

DEFAULT_KIND = "box"

# Words naming a container win over words naming contents ("a bowl of soup" is a bowl,
# "a box of cereal" a box), so containers are looked up first.
CONTAINER_WORDS: dict[str, tuple[str, ...]] = {
    "mug": ("mug",),
    "cup": ("cup", "glass", "tumbler"),
    "bottle": ("bottle", "flask", "thermos"),
    "can": ("can", "tin"),
    "carton": ("carton",),
    "box": ("box", "case", "package", "packet", "container", "kit", "tupperware"),
    "bowl": ("bowl", "ramekin"),
    "plate": ("plate", "dish", "tray", "platter", "saucer"),
    "bag": ("bag", "pouch", "sack"),
    "book": ("book", "novel", "magazine", "notebook", "journal", "diary", "paperback", "cookbook"),
    "jar": ("jar", "pot"),
}

CONTENT_WORDS: dict[str, tuple[str, ...]] = {
    "mug": ("tea", "coffee", "infusion", "chamomile", "cocoa", "latte", "espresso", "cappuccino", "chocolate", "broth"),
    "cup": ("water", "ice", "juice", "smoothie", "milkshake", "lemonade", "yogurt", "pudding"),
    "can": ("soda", "cola", "beer", "energy", "drink", "sparkling", "seltzer", "tonic", "tuna"),
    "bottle": (
        "wine",
        "oil",
        "sauce",
        "ketchup",
        "shampoo",
        "lotion",
        "sunscreen",
        "syrup",
        "vinegar",
        "spray",
        "soap",
        "sanitizer",
        "medicine",
        "kombucha",
        "whiskey",
    ),
    "carton": ("milk", "cream", "eggs"),
    "jar": (
        "vitamins",
        "vitamin",
        "pills",
        "supplements",
        "honey",
        "jam",
        "butter",
        "spices",
        "pickles",
        "candle",
        "salsa",
        "mints",
        "cream cheese",
    ),
    "bag": (
        "chips",
        "crisps",
        "walnuts",
        "nuts",
        "almonds",
        "cashews",
        "peanuts",
        "popcorn",
        "pretzels",
        "snacks",
        "snack",
        "bread",
        "rice",
        "flour",
        "candy",
        "gummies",
        "trail mix",
        "coffee beans",
        "granola",
    ),
    "bowl": ("soup", "salad", "cereal", "oatmeal", "noodles", "ramen", "porridge", "stew"),
    "plate": (
        "pizza",
        "cake",
        "pie",
        "sandwich",
        "toast",
        "leftover",
        "leftovers",
        "pasta",
        "sushi",
        "dessert",
        "cookies",
        "biscuits",
        "pastry",
        "croissant",
        "muffin",
        "brownie",
    ),
    "fruit": (
        "apple",
        "orange",
        "pear",
        "peach",
        "lemon",
        "lime",
        "tomato",
        "avocado",
        "mango",
        "kiwi",
        "plum",
        "fruit",
        "ball",
        "onion",
        "potato",
        "grapefruit",
        "tangerine",
        "mandarin",
        "egg",
    ),
    "box": (
        "charger",
        "cable",
        "tissues",
        "remote",
        "phone",
        "battery",
        "batteries",
        "headphones",
        "earbuds",
        "wallet",
        "keys",
        "glasses",
        "cards",
        "bandages",
        "crackers",
        "matches",
    ),
    "book": ("guide", "atlas", "comic", "manual", "bible", "poems", "recipes", "encyclopedia"),
}


@dataclass(frozen=True)
class AssetSpec:
    """One generated kind as the simulator and the controller need it (lengths in metres)."""

    kind: str
    urdf: str
    mesh: str
    size: tuple[float, float, float]
    centre: tuple[float, float, float]
    """Centre of the bounding box `size` measures, in the body frame (off the origin for the mug's handle)."""
    mass: float
    inertia: tuple[float, float, float]
    grasp_point: tuple[float, float, float]
    collision: tuple[str, ...]
    round: bool
    """Round objects can be grasped from any side (any gripper yaw)."""


PREPOSITIONS = re.compile(r" (with|of|for|about|from|in|on|and|to) ")


def _words(name: str) -> str:
    return " " + " ".join(re.findall(r"[a-z]+", name.lower())) + " "


def _find(text: str, table: dict[str, tuple[str, ...]]) -> str | None:
    """The kind whose keyword ends last in the text (English puts the head noun last)."""
    best: tuple[int, str] | None = None
    for kind, keywords in table.items():
        for word in keywords:
            for form in (word, word + "s", word + "es"):
                at = text.rfind(f" {form} ")
                if at >= 0 and (best is None or at + len(form) > best[0]):
                    best = (at + len(form), kind)
    return best[1] if best else None


def asset_for(name: str) -> str:
    """Asset kind for a free-text object name.

    The phrase before the first preposition is the head ("water" in "water with ice"); containers
    are preferred to contents ("a bowl of soup" is a bowl); unknown names become a box.
    """
    text = _words(name)
    head = PREPOSITIONS.split(text, maxsplit=1)[0] + " "
    for part in (head, text):
        for table in (CONTAINER_WORDS, CONTENT_WORDS):
            kind = _find(part, table)
            if kind:
                return kind
    return DEFAULT_KIND


def colour_for(name: str) -> tuple[float, float, float, float]:
    """A saturated RGBA colour fixed by the name, so the same object looks the same in every episode."""
    digest = hashlib.sha256(name.strip().lower().encode()).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    value = 0.65 + 0.3 * digest[2] / 255
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, value)
    return (round(r, 3), round(g, 3), round(b, 3), 1.0)


@cache
def catalogue() -> dict[str, AssetSpec]:
    """Specs of every generated kind, read once from assets/catalogue.json."""
    raw = json.loads((ASSETS / "catalogue.json").read_text())
    return {
        kind: AssetSpec(
            kind=kind,
            urdf=str(ASSETS / entry["urdf"]),
            mesh=str(ASSETS / entry["mesh"]),
            size=tuple(entry["size"]),
            centre=tuple(entry["centre"]),
            mass=entry["mass"],
            inertia=tuple(entry["inertia"]),
            grasp_point=tuple(entry["grasp_point"]),
            collision=tuple(str(ASSETS / name) for name in entry["collision"]),
            round=entry["round"],
        )
        for kind, entry in raw.items()
    }


def asset_kinds() -> list[str]:
    """Every kind, in a fixed order (the index is the kind id used in observations)."""
    return sorted(catalogue())
