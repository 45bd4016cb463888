"""How a newly learned preference changes memory, in the spirit of mem0: one explicit operation per fact.

`decide` is a pure function of the fact and the closest existing notes, so it is tested on its own and
shared by every reasoner; `apply` runs it against a store. A reasoner may propose its own decision (an LLM
does); `check_decision` holds any proposal to the same rules, so no reasoner overturns what they protect.
Values are compared as normalised strings, never by cosine ("top shelf" and "bottom shelf" embed at 0.89).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from memory.notes import Note, same_name

if TYPE_CHECKING:
    from memory.store import MemoryStore

SAME_SITUATION = 0.85
"""Cosine between situations above which two task texts count as the same situation. High on purpose:
a wrong UPDATE erases a preference of a different situation, a wrong ADD only leaves a near-duplicate."""

WELL_SUPPORTED = 3
"""Support at which one contradicting signal no longer overturns a note (learned once, confirmed twice)."""


Op = Literal["ADD", "UPDATE", "NONE"]
OPS = ("ADD", "UPDATE", "NONE")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fact:
    """A preference just learned from a clarification answer or post-action feedback."""

    situation: str
    kind: str
    value: str
    text: str
    source: str
    explicit_correction: bool = False
    stance: str = "prefer"


@dataclass(frozen=True)
class MemoryDecision:
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


def same_value(a: str, b: str) -> bool:
    """Case, leading articles, punctuation and spacing do not make a different preference."""
    return same_name(a, b)


def decide(
    fact: Fact,
    similar: list[tuple[Note, float]],
    same_situation: float = SAME_SITUATION,
    well_supported: int = WELL_SUPPORTED,
) -> MemoryDecision:
    """ADD, UPDATE or NONE for `fact`, given scored candidate notes (any order, any kind).

    A note about the same option decides first: the same stance confirms it, the opposite stance ("not the
    tea" against "wants the tea") replaces it. Otherwise a preference replaces the situation's closest
    preference, while an objection to one option leaves the preferences for others alone.
    """
    candidates = [(note, score) for note, score in candidates_of(fact, similar) if score >= same_situation]
    same_option = [(note, score) for note, score in candidates if same_value(note.value, fact.value)]
    rivals = [(note, score) for note, score in candidates if note.stance == "prefer"]
    pool = same_option or (rivals if fact.stance == "prefer" else [])
    if not pool:
        return MemoryDecision("ADD", None, "no note about this situation")
    closest, score = max(pool, key=lambda pair: (pair[1], -pair[0].id))
    if same_value(closest.value, fact.value) and closest.stance == fact.stance:
        return MemoryDecision("NONE", closest.id, f"already known (similarity {score:.2f})", support_delta=1)
    if closest.support >= well_supported and not fact.explicit_correction:
        return MemoryDecision("NONE", closest.id, "kept: well supported", support_delta=-1)
    return MemoryDecision(
        "UPDATE", closest.id, f"changed from {_said(closest.stance, closest.value)} to {_said(fact.stance, fact.value)}"
    )


def _said(stance: str, value: str) -> str:
    return repr(value) if stance == "prefer" else f"not {value!r}"


def _holds(note: Note, fact: Fact) -> bool:
    """The note already says what the fact says: same option, same stance."""
    return note.stance == fact.stance and same_value(note.value, fact.value)


def candidates_of(fact: Fact, similar: list[tuple[Note, float]]) -> list[tuple[Note, float]]:
    """The notes a decision may name: active and of the fact's kind, in the order given."""
    return [(note, score) for note, score in similar if note.kind == fact.kind and note.superseded_by is None]


def proposed(
    fact: Fact, similar: list[tuple[Note, float]], op: str, note_id: int | None, reason: str
) -> MemoryDecision:
    """A decision made outside `decide`: NONE confirms the named note only when it holds the fact's value.

    Unlike `decide`, a proposed NONE never weakens a note: the proposer judged the fact not to bear on it.
    """
    if op == "ADD":
        return MemoryDecision("ADD", None, reason)
    named = next((note for note, _ in candidates_of(fact, similar) if note.id == note_id), None)
    confirms = op == "NONE" and named is not None and _holds(named, fact)
    return MemoryDecision(op, note_id, reason, support_delta=1 if confirms else 0)


def check_decision(
    fact: Fact,
    similar: list[tuple[Note, float]],
    decision: MemoryDecision,
    same_situation: float = SAME_SITUATION,
    well_supported: int = WELL_SUPPORTED,
) -> str | None:
    """Why `decision` breaks the update rules for `fact`, in one line, or None when it keeps them."""
    if decision.op not in OPS:
        return f"unknown operation {decision.op!r}; use one of {', '.join(OPS)}"
    candidates = candidates_of(fact, similar)
    if decision.op == "ADD":
        for note, score in candidates:
            if score >= same_situation and _holds(note, fact):
                return f"note {note.id} already holds {note.value!r} for this situation; use NONE"
        return None
    note = next((note for note, _ in candidates if note.id == decision.note_id), None)
    if note is None:
        known = ", ".join(str(n.id) for n, _ in candidates) or "none"
        return f"{decision.op} must name an active note of kind {fact.kind!r} (ids: {known}), not {decision.note_id!r}"
    if decision.op == "UPDATE" and _holds(note, fact):
        return f"note {note.id} already holds {note.value!r}; use NONE"
    if decision.op == "UPDATE" and note.support >= well_supported and not fact.explicit_correction:
        return f"note {note.id} is well supported (support {note.support}) and the fact is no explicit correction"
    return None


def apply(
    store: MemoryStore,
    user_id: str,
    fact: Fact,
    same_situation: float = SAME_SITUATION,
    well_supported: int = WELL_SUPPORTED,
    decider: Callable[[Fact, list[tuple[Note, float]]], MemoryDecision] | None = None,
    candidates_threshold: float | None = None,
) -> MemoryOp:
    """Find the notes about the fact's situation, decide, and carry the decision out on `store`.

    `decider` (e.g. an LLM reasoner) replaces `decide`; a decision that breaks the rules falls back to
    `decide`. `candidates_threshold` (default `same_situation`) may be lowered to show a decider more notes.
    """
    threshold = same_situation if candidates_threshold is None else candidates_threshold
    similar = store.find_similar(user_id, fact.situation, threshold, kind=fact.kind)
    decision = decide(fact, similar, same_situation, well_supported)
    if decider is not None:
        proposal = decider(fact, similar)
        problem = check_decision(fact, similar, proposal, same_situation, well_supported)
        if problem is None:
            decision = proposal
        else:
            log.warning("memory decision for %s rejected (%s); the policy decides", user_id, problem)
    try:
        return _carry_out(store, user_id, fact, decision)
    except KeyError as gone:  # the note went away since it was found: `memory forget` ran meanwhile
        log.warning("%s; the fact is added as a new note", gone.args[0] if gone.args else gone)
        return _carry_out(store, user_id, fact, MemoryDecision("ADD", None, f"{decision.reason}; that note was gone"))


def _carry_out(store: MemoryStore, user_id: str, fact: Fact, decision: MemoryDecision) -> MemoryOp:
    if decision.op == "ADD":
        note = store.add(user_id, fact.situation, fact.kind, fact.value, fact.text, fact.source, fact.stance)
        return MemoryOp("ADD", note.id, None, note.value, decision.reason)
    if decision.op == "UPDATE":
        note = store.supersede(
            user_id,
            decision.note_id,
            situation=fact.situation,
            value=fact.value,
            text=fact.text,
            source=fact.source,
            stance=fact.stance,
        )
        return MemoryOp("UPDATE", note.id, decision.note_id, note.value, decision.reason)
    note = store.reinforce(user_id, decision.note_id, decision.support_delta)
    return MemoryOp("NONE", note.id, None, note.value, decision.reason)
