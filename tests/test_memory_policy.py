"""The update policy: decide() alone, then apply() against a real store."""

from dataclasses import asdict

import pytest

from memory.embedders import HashingEmbedder
from memory.notes import Note
from memory.policy import SAME_SITUATION, WELL_SUPPORTED, Fact, MemoryOp, apply, decide, normalise_value
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
    assert normalise_value(a) == normalise_value(b)


def test_normalisation_keeps_different_values_apart():
    assert normalise_value("top shelf") != normalise_value("bottom shelf")


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
