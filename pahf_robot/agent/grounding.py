"""Text grounding shared by reasoners: situations out of task texts, names in free text to scene options.

Sentence embeddings place opposites close together ("top shelf" / "bottom shelf" score 0.89 with MiniLM),
so every similarity between option names here passes through an explicit antonym check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from memory.embedders import Embedder

_ARTICLES = {"a", "an", "the", "my", "some", "your"}

_OPPOSITES = [
    ("top", "bottom"),
    ("upper", "lower"),
    ("high", "low"),
    ("higher", "lower"),
    ("hot", "cold"),
    ("warm", "cold"),
    ("hot", "iced"),
    ("hot", "chilled"),
    ("warm", "chilled"),
    ("left", "right"),
    ("front", "back"),
    ("inside", "outside"),
    ("indoor", "outdoor"),
    ("open", "closed"),
    ("full", "empty"),
    ("light", "dark"),
    ("sweet", "savory"),
    ("sweet", "salty"),
    ("big", "small"),
    ("large", "small"),
]
_OPPOSITE_OF: dict[str, set[str]] = {}
for _a, _b in _OPPOSITES:
    _OPPOSITE_OF.setdefault(_a, set()).add(_b)
    _OPPOSITE_OF.setdefault(_b, set()).add(_a)

_REQUEST_MARKERS = re.compile(
    r"\b(could you|can you|would you|will you|please|bring|grab|get me|fetch|hand me|pass me|"
    r"put|place|store|stash|tidy|set|leave|move|find me|give me|i'?d like|i need|i want|mind)\b",
    re.IGNORECASE,
)
_CLAUSE_SPLIT = re.compile(r"(?<=[.!?;])\s+|,\s+(?=(?:could|can|would|will|please|so|and)\b)|\s+-+\s+|:\s+")


def normalise(name: str) -> str:
    """Lower-case, strip punctuation and leading articles, so "The Herbal tea." equals "herbal tea"."""
    words = re.findall(r"[a-z0-9']+", name.lower())
    while words and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def opposed(a: str, b: str) -> bool:
    """True when one name carries a word whose opposite the other carries and not vice versa."""
    wa, wb = words_of(a), words_of(b)
    for word in wa - wb:
        if _OPPOSITE_OF.get(word, set()) & (wb - wa):
            return True
    return False


def situation_of(task: str) -> str:
    """The part of a task text that describes the user's situation, without the request itself.

    Requests ("could you bring me something to drink?") are shared by every situation and would
    dominate a sentence embedding; the situation clauses are what separates "drowsy" from "hot day".
    """
    clauses = [c.strip(" ,.!?;") for c in _CLAUSE_SPLIT.split(task) if c.strip(" ,.!?;")]
    situational = [c for c in clauses if not _REQUEST_MARKERS.search(c)]
    return ". ".join(situational) if situational else task.strip()


def mentioned_options(text: str, options: Sequence[str]) -> list[str]:
    """Options named verbatim in `text`, longest first, skipping names contained in a longer match."""
    haystack = f" {normalise(text)} "
    found = [o for o in options if normalise(o) and f" {normalise(o)} " in haystack]
    found.sort(key=lambda o: -len(normalise(o)))
    kept: list[str] = []
    for option in found:
        if not any(normalise(option) in normalise(longer) for longer in kept):
            kept.append(option)
    return kept


class Grounder:
    """Maps a remembered or spoken name onto the options present in the scene."""

    def __init__(self, embedder: Embedder, min_similarity: float = 0.45):
        self.embedder = embedder
        self.min_similarity = min_similarity

    def scores(self, name: str, options: Sequence[str]) -> np.ndarray:
        """Similarity of `name` to each option in [0, 1]: 1 for the same name, 0 for opposites."""
        if not options:
            return np.zeros(0, dtype=np.float32)
        vectors = self.embedder.embed([name, *options])
        sims = np.clip(vectors[1:] @ vectors[0], 0.0, 1.0)
        key = normalise(name)
        for i, option in enumerate(options):
            if normalise(option) == key:
                sims[i] = 1.0
            elif opposed(name, option):
                sims[i] = 0.0
        return sims

    def ground(self, name: str, options: Sequence[str]) -> tuple[str | None, float]:
        """Best option for `name` and its score, or (None, score) when nothing is close enough."""
        sims = self.scores(name, options)
        if sims.size == 0:
            return None, 0.0
        best = int(np.argmax(sims))
        score = float(sims[best])
        return (options[best] if score >= self.min_similarity else None), score

    def ground_text(self, text: str, options: Sequence[str], exclude: Sequence[str] = ()) -> str | None:
        """The option a sentence asks for: a verbatim mention first, else the closest name by meaning."""
        candidates = [o for o in options if normalise(o) not in {normalise(e) for e in exclude}]
        named = mentioned_options(text, candidates)
        if named:
            return named[0]
        option, _ = self.ground(text, candidates)
        return option
