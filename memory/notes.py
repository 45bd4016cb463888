"""Plain records of the memory: what one note says and what a new note is made of."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

KINDS = ("object", "place")
""""object": which item to bring for a request; "place": where an item is put away."""

STANCES = ("prefer", "avoid")
""""prefer": the user wants `value` in this situation; "avoid": the user turned `value` down here ("not that")."""

SOURCES = ("clarification", "feedback")
"""Where a preference was learned: an answer to the robot's question, or feedback after acting."""


@dataclass(frozen=True)
class Note:
    """One remembered preference of one user, keyed for retrieval on the `situation` it applies to.

    `superseded_by` is None while the note is active; once a newer preference replaces it, it names the
    replacing note and the old one is kept only as history.
    """

    id: int
    user_id: str
    situation: str
    kind: str
    value: str
    text: str
    source: str
    support: int
    created: float
    updated: float
    superseded_by: int | None = None
    stance: str = "prefer"

    @property
    def active(self) -> bool:
        return self.superseded_by is None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class NoteDraft:
    """The fields of a note before the store gives it an id; used for bulk inserts."""

    user_id: str
    situation: str
    kind: str
    value: str
    text: str
    source: str
    stance: str = "prefer"


def headline(situation: str) -> str:
    """The part of a situation that is embedded for search: its first line. A caller may keep details on
    further lines (a robot keeps what was on the table) that it weighs itself after the search, without
    moving the note's vector or paying to embed them."""
    return situation.partition("\n")[0]


_ARTICLES = ("a", "an", "the", "my", "some", "your")


def normalise(name: str) -> str:
    """The one key names are compared by, everywhere: case, punctuation, spacing and leading articles do not
    make a different thing, so "The Herbal tea." is "herbal tea"."""
    words = re.findall(r"[a-z0-9']+", name.lower())
    while words and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)


def same_name(a: str, b: str) -> bool:
    return normalise(a) == normalise(b)


def check_fields(user_id: str, kind: str, source: str, stance: str = "prefer") -> None:
    """Reject malformed notes before they reach the database."""
    if not isinstance(user_id, str) or not user_id:
        raise ValueError("user_id must be a non-empty string")
    if kind not in KINDS:
        raise ValueError(f"unknown note kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    if source not in SOURCES:
        raise ValueError(f"unknown note source {source!r}; valid sources: {', '.join(SOURCES)}")
    if stance not in STANCES:
        raise ValueError(f"unknown note stance {stance!r}; valid stances: {', '.join(STANCES)}")
