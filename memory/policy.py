"""How a newly learned preference changes memory, in the spirit of mem0: one explicit operation per fact.

`decide` is a pure function of the fact and the closest existing notes, so it is tested on its own and
shared by every reasoner; `apply` runs it against a store. Values are compared as normalised strings,
never by cosine ("top shelf" and "bottom shelf" embed at 0.89).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from memory.notes import Note

if TYPE_CHECKING:
    from memory.store import MemoryStore

SAME_SITUATION = 0.85
"""Cosine between situations above which two task texts count as the same situation. High on purpose:
a wrong UPDATE erases a preference of a different situation, a wrong ADD only leaves a near-duplicate."""

WELL_SUPPORTED = 3
"""Support at which one contradicting signal no longer overturns a note (learned once, confirmed twice)."""

_ARTICLES = {"a", "an", "the"}
_TOKEN = re.compile(r"\w+")

Op = Literal["ADD", "UPDATE", "NONE"]


@dataclass(frozen=True)
class Fact:
    """A preference just learned from a clarification answer or post-action feedback."""

    situation: str
    kind: str
    value: str
    text: str
    source: str
    explicit_correction: bool = False


@dataclass(frozen=True)
class Decision:
    """What to do with a fact. For NONE, `support_delta` is +1 (confirmed) or -1 (contradicted but kept)."""

    op: Op
    note_id: int | None
    reason: str
    support_delta: int = 0


@dataclass(frozen=True)
class MemoryOp:
    """What `apply` did, for logs: the note written or reinforced, and the one it replaced."""

    op: Op
    note_id: int
    previous_note_id: int | None
    value: str
    reason: str = ""


def normalise_value(value: str) -> str:
    """Case, articles, punctuation and spacing do not make a different preference."""
    return " ".join(token for token in _TOKEN.findall(value.lower()) if token not in _ARTICLES)


def same_value(a: str, b: str) -> bool:
    return normalise_value(a) == normalise_value(b)


def decide(
    fact: Fact,
    similar: list[tuple[Note, float]],
    same_situation: float = SAME_SITUATION,
    well_supported: int = WELL_SUPPORTED,
) -> Decision:
    """ADD, UPDATE or NONE for `fact`, given scored candidate notes (any order, any kind)."""
    candidates = [
        (note, score)
        for note, score in similar
        if note.kind == fact.kind and note.superseded_by is None and score >= same_situation
    ]
    if not candidates:
        return Decision("ADD", None, "no note about this situation")
    closest, score = max(candidates, key=lambda pair: (pair[1], -pair[0].id))
    if same_value(closest.value, fact.value):
        return Decision("NONE", closest.id, f"already known (similarity {score:.2f})", support_delta=1)
    if closest.support >= well_supported and not fact.explicit_correction:
        return Decision("NONE", closest.id, "kept: well supported", support_delta=-1)
    return Decision("UPDATE", closest.id, f"preference changed from {closest.value!r} to {fact.value!r}")


def apply(
    store: MemoryStore,
    user_id: str,
    fact: Fact,
    same_situation: float = SAME_SITUATION,
    well_supported: int = WELL_SUPPORTED,
) -> MemoryOp:
    """Find the notes about the fact's situation, decide, and carry the decision out on `store`."""
    similar = store.find_similar(user_id, fact.situation, same_situation, kind=fact.kind)
    decision = decide(fact, similar, same_situation, well_supported)
    if decision.op == "ADD":
        note = store.add(user_id, fact.situation, fact.kind, fact.value, fact.text, fact.source)
        return MemoryOp("ADD", note.id, None, note.value, decision.reason)
    if decision.op == "UPDATE":
        note = store.supersede(
            user_id, decision.note_id, situation=fact.situation, value=fact.value, text=fact.text, source=fact.source
        )
        return MemoryOp("UPDATE", note.id, decision.note_id, note.value, decision.reason)
    note = store.reinforce(user_id, decision.note_id, decision.support_delta)
    return MemoryOp("NONE", note.id, None, note.value, decision.reason)
