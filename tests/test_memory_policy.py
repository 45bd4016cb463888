"""The update policy: decide() alone, then apply() against a real store."""

from dataclasses import asdict

import pytest

from memory.embedders import HashingEmbedder
from memory.notes import Note, normalise
from memory.policy import (
    SAME_SITUATION,
    WELL_SUPPORTED,
    Fact,
    MemoryDecision,
    MemoryOp,
    apply,
    check_decision,
    decide,
    proposed,
    same_value,
)
from memory.store import MemoryStore

SLEEPY = "I can barely keep my eyes open, could you bring me something to drink?"


def note(id=1, kind="object", value="herbal tea", support=1, superseded_by=None) -> Note:
    return Note(id, "alice", SLEEPY, kind, value, f"wants {value}", "clarification", support, 0.0, 0.0, superseded_by)


def fact(value="herbal tea", kind="object", explicit=False) -> Fact:
    return Fact(SLEEPY, kind, value, f"wants {value}", "feedback", explicit_correction=explicit)


def test_add_when_memory_is_empty():
    decision = decide(fact(), [])
    assert (decision.op, decision.note_id) == ("ADD", None)


def test_add_when_nothing_is_about_the_same_situation():
    assert decide(fact(), [(note(), SAME_SITUATION - 0.01)]).op == "ADD"


def test_add_when_the_same_situation_note_is_of_another_kind():
    assert decide(fact(kind="place", value="top shelf"), [(note(kind="object"), 0.99)]).op == "ADD"


def test_superseded_notes_are_ignored():
    assert decide(fact(), [(note(superseded_by=7), 0.99)]).op == "ADD"


def test_none_and_reinforce_when_the_value_is_already_known():
    decision = decide(fact(value="The  Herbal Tea."), [(note(id=4), 0.95)])
    assert (decision.op, decision.note_id, decision.support_delta) == ("NONE", 4, 1)


def test_update_when_the_value_changed():
    decision = decide(fact(value="black coffee"), [(note(id=4), 0.95)])
    assert (decision.op, decision.note_id) == ("UPDATE", 4)


def test_opposite_places_are_different_values_despite_high_cosine():
    decision = decide(fact(kind="place", value="bottom shelf"), [(note(kind="place", value="top shelf"), 0.97)])
    assert decision.op == "UPDATE"


def test_the_closest_note_decides():
    similar = [(note(id=1, value="black coffee"), 0.90), (note(id=2, value="herbal tea"), 0.97)]
    decision = decide(fact(value="herbal tea"), similar)
    assert (decision.op, decision.note_id) == ("NONE", 2)


def test_well_supported_note_is_kept_against_one_contradiction():
    decision = decide(fact(value="black coffee"), [(note(id=3, support=WELL_SUPPORTED), 0.95)])
    assert (decision.op, decision.note_id, decision.reason, decision.support_delta) == (
        "NONE",
        3,
        "kept: well supported",
        -1,
    )


def test_explicit_correction_overturns_a_well_supported_note():
    decision = decide(fact(value="black coffee", explicit=True), [(note(id=3, support=10), 0.95)])
    assert (decision.op, decision.note_id) == ("UPDATE", 3)


@pytest.mark.parametrize(
    ("a", "b"),
    [("Top Shelf", "the top shelf"), ("a  glass of water", "glass of water"), ("ice-cold water", "ice cold water")],
)
def test_values_are_normalised(a, b):
    assert same_value(a, b) and normalise(a) == normalise(b)


def test_normalisation_keeps_different_values_apart():
    assert not same_value("top shelf", "bottom shelf")


def test_apply_learns_confirms_drifts_and_resists_noise(tmp_path):
    with MemoryStore(tmp_path / "m.db", HashingEmbedder()) as store:
        added = apply(store, "alice", fact())
        assert isinstance(added, MemoryOp) and added.op == "ADD" and added.previous_note_id is None
        confirmed = apply(store, "alice", fact(value="Herbal tea"))
        assert (confirmed.op, confirmed.note_id) == ("NONE", added.note_id)
        assert store.get("alice", added.note_id).support == 2

        drift = apply(store, "alice", fact(value="black coffee"))
        assert (drift.op, drift.previous_note_id, drift.value) == ("UPDATE", added.note_id, "black coffee")
        assert store.get("alice", added.note_id).superseded_by == drift.note_id
        assert [n.value for n, _ in store.search("alice", SLEEPY)] == ["black coffee"]

        for _ in range(WELL_SUPPORTED - 1):
            apply(store, "alice", fact(value="black coffee"))
        assert store.get("alice", drift.note_id).support == WELL_SUPPORTED
        kept = apply(store, "alice", fact(value="energy drink"))
        assert (kept.op, kept.reason, kept.value) == ("NONE", "kept: well supported", "black coffee")
        assert store.get("alice", drift.note_id).support == WELL_SUPPORTED - 1

        corrected = apply(store, "alice", fact(value="energy drink", explicit=True))
        assert corrected.op == "UPDATE"
        assert asdict(corrected)["value"] == "energy drink"
        assert len(store.notes("alice", include_superseded=True)) == 3
        assert apply(store, "bob", fact()).op == "ADD"


@pytest.mark.parametrize(
    ("value", "explicit", "similar"),
    [
        ("herbal tea", False, []),
        ("herbal tea", False, [(note(id=4), 0.95)]),
        ("black coffee", False, [(note(id=4), 0.95)]),
        ("black coffee", False, [(note(id=4, support=WELL_SUPPORTED), 0.95)]),
        ("black coffee", True, [(note(id=4, support=WELL_SUPPORTED), 0.95)]),
        ("black coffee", False, [(note(id=4), SAME_SITUATION - 0.1), (note(id=5, kind="place"), 0.99)]),
    ],
)
def test_the_policy_keeps_its_own_rules(value, explicit, similar):
    assert (
        check_decision(fact(value, explicit=explicit), similar, decide(fact(value, explicit=explicit), similar)) is None
    )


@pytest.mark.parametrize(
    ("decision", "similar", "explicit", "complaint"),
    [
        (MemoryDecision("DELETE", 4, ""), [(note(id=4), 0.95)], False, "unknown operation"),
        (MemoryDecision("UPDATE", 9, ""), [(note(id=4), 0.95)], False, "active note"),
        (MemoryDecision("NONE", None, ""), [(note(id=4), 0.95)], False, "active note"),
        (MemoryDecision("UPDATE", 4, ""), [(note(id=4, superseded_by=5), 0.95)], False, "active note"),
        (MemoryDecision("UPDATE", 4, ""), [(note(id=4, kind="place"), 0.95)], False, "active note"),
        (MemoryDecision("UPDATE", 4, ""), [(note(id=4, value="Black Coffee"), 0.95)], False, "already holds"),
        (MemoryDecision("UPDATE", 4, ""), [(note(id=4, support=WELL_SUPPORTED), 0.95)], False, "well supported"),
        (MemoryDecision("ADD", None, ""), [(note(id=4, value="black coffee"), SAME_SITUATION)], False, "already holds"),
    ],
)
def test_check_decision_names_the_broken_rule(decision, similar, explicit, complaint):
    problem = check_decision(fact("black coffee", explicit=explicit), similar, decision)
    assert problem is not None and complaint in problem and "\n" not in problem


@pytest.mark.parametrize(
    ("decision", "similar", "explicit"),
    [
        (MemoryDecision("UPDATE", 4, ""), [(note(id=4, support=WELL_SUPPORTED), 0.95)], True),
        (MemoryDecision("UPDATE", 4, ""), [(note(id=4), 0.60)], False),
        (MemoryDecision("NONE", 4, ""), [(note(id=4, support=WELL_SUPPORTED), 0.95)], False),
        (MemoryDecision("ADD", None, ""), [(note(id=4, value="black coffee"), SAME_SITUATION - 0.01)], False),
        (MemoryDecision("ADD", None, ""), [(note(id=4), 0.99)], False),
    ],
)
def test_check_decision_accepts_choices_within_the_rules(decision, similar, explicit):
    assert check_decision(fact("black coffee", explicit=explicit), similar, decision) is None


def test_a_proposed_none_confirms_only_a_note_with_the_same_value():
    similar = [(note(id=4, value="black coffee"), 0.95), (note(id=5), 0.90)]
    assert proposed(fact("Black coffee"), similar, "NONE", 4, "same").support_delta == 1
    assert proposed(fact("Black coffee"), similar, "NONE", 5, "unrelated").support_delta == 0
    assert proposed(fact("Black coffee"), similar, "ADD", 5, "new") == MemoryDecision("ADD", None, "new")


def test_apply_carries_out_a_valid_proposal_and_overrules_an_invalid_one(tmp_path):
    with MemoryStore(tmp_path / "m.db", HashingEmbedder()) as store:
        first = apply(store, "alice", fact())
        for _ in range(WELL_SUPPORTED - 1):
            apply(store, "alice", fact())
        seen: list[list] = []

        def overturn(f, similar):
            seen.append(similar)
            return MemoryDecision("UPDATE", first.note_id, "llm: overturn")

        kept = apply(store, "alice", fact("black coffee"), decider=overturn, candidates_threshold=0.0)
        assert (kept.op, kept.reason, kept.value) == ("NONE", "kept: well supported", "herbal tea")
        assert [n.id for n, _ in seen[0]] == [first.note_id]
        corrected = apply(store, "alice", fact("black coffee", explicit=True), decider=overturn)
        assert (corrected.op, corrected.previous_note_id, corrected.reason) == (
            "UPDATE",
            first.note_id,
            "llm: overturn",
        )
