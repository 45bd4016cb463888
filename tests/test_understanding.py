"""How the offline reasoner reads people and what the planner does with it: refusals are never approval,
parts of names and descriptions are grounded or followed up, at most two questions an episode, and a bare
"no" is remembered as "not that here" and used."""

from __future__ import annotations

import pytest

from envs.layout import HAND_OVER
from memory.embedders import MiniLMEmbedder
from memory.notes import Note
from memory.store import MemoryStore
from pahf_robot.agent.lexicon import KIND_OF, Lexicon
from pahf_robot.agent.offline import OfflineReasoner, names_seen
from pahf_robot.agent.planner import MAX_QUESTIONS, MODES, Planner
from pahf_robot.agent.reasoning import PreferenceSignal, Unclear
from pahf_robot.agent.situations import situation_key
from pahf_robot.bench.scenarios import TaskView, load_benchmark
from pahf_robot.core.types import Outcome, Target
from pahf_robot.human.rule import SimulatedHuman

DRINKS = TaskView("alex", "I'm so tired, could you bring me something?", "", ("black coffee", "herbal tea", "cola"), ())
TEAS = TaskView("alex", "Something to drink, please.", "", ("green tea", "herbal tea", "black coffee"), ())
SHELVES = TaskView("alex", "Put the mug away.", "", ("mug",), ("top shelf", "bottom shelf", "fridge"))


@pytest.fixture(scope="module")
def reasoner():
    return OfflineReasoner(MiniLMEmbedder(cache_size=4096))


def served(option):
    return Target(option, HAND_OVER)


@pytest.mark.parametrize(
    "feedback",
    ["No, that's not what I wanted.", "Wrong one.", "Nope.", "Too sweet for me right now.", "Hmm, no."],
)
def test_a_refusal_is_never_approval(reasoner, feedback):
    reading = reasoner.interpret_feedback(DRINKS, served("cola"), Outcome(True), feedback)
    refused = PreferenceSignal("object", "cola", explicit=True, stance="avoid")
    assert reading == refused or (isinstance(reading, Unclear) and reading.rejected == "cola")


def test_a_correction_by_part_of_a_name_excludes_the_choice(reasoner):
    reading = reasoner.interpret_feedback(TEAS, served("green tea"), Outcome(True), "Not that one, the other tea.")
    assert reading == PreferenceSignal("object", "herbal tea", explicit=True)


def test_a_description_of_what_is_not_wanted_points_away_from_it(reasoner):
    reading = reasoner.interpret_feedback(DRINKS, served("black coffee"), Outcome(True), "Something without caffeine.")
    assert not (isinstance(reading, PreferenceSignal) and reading.stance == "prefer" and reading.value != "herbal tea")
    assert reading is not None


def test_thanks_is_approval_but_not_a_correction(reasoner):
    reading = reasoner.interpret_feedback(DRINKS, served("cola"), Outcome(True), "Perfect, thank you!")
    assert reading == PreferenceSignal("object", "cola", explicit=False)


def test_a_drop_is_no_verdict(reasoner):
    assert (
        reasoner.interpret_feedback(DRINKS, served("cola"), Outcome(False, "dropped"), "Oh no, you dropped it.") is None
    )


def test_parts_of_names_and_descriptions_are_grounded_or_left_open(reasoner):
    assert reasoner.interpret_answer(DRINKS, "Which?", "The tea, please.").value == "herbal tea"
    assert reasoner.interpret_answer(TEAS, "Which?", "The tea, please.") == Unclear(("green tea", "herbal tea"))
    assert reasoner.interpret_answer(TEAS, "Which?", "The herbal one.").value == "herbal tea"
    up_high = reasoner.interpret_answer(SHELVES, "Where?", "Up high, please.")
    assert up_high == PreferenceSignal("place", "top shelf", explicit=True) or (
        isinstance(up_high, Unclear) and "top shelf" in up_high.options
    )
    cold = reasoner.interpret_answer(SHELVES, "Where?", "Somewhere cold, please.")
    assert cold == PreferenceSignal("place", "fridge", explicit=True)


def test_wordnet_keeps_opposites_apart_and_knows_kinds():
    lexicon = Lexicon.load()
    assert lexicon.opposed("upper shelf", "lower shelf") and lexicon.opposed("front door", "back door")
    assert not lexicon.opposed("top shelf", "upper shelf")
    assert lexicon.relatedness("reading glasses", "spectacles") >= KIND_OF
    assert lexicon.relatedness("fizzy water", "seltzer") > lexicon.relatedness("fizzy water", "cola")


def test_wordnet_tells_kinds_of_one_thing_apart_by_their_modifiers():
    """Two rooms are not the same room, two stands not the same stand, unless their modifiers agree."""
    lexicon = Lexicon.load()
    assert lexicon.relatedness("utility room", "boiler room") < KIND_OF
    assert lexicon.relatedness("shoe rack", "footwear stand") >= KIND_OF > lexicon.relatedness("shoe rack", "hat stand")
    assert lexicon.relatedness("top shelf", "upper shelf") >= KIND_OF > lexicon.relatedness("top shelf", "middle shelf")
    # the head comes before a preposition: a shelf above the fireplace is a mantel, not a ledge of the larder
    above_fireplace = "shelf above the fireplace"
    assert (
        lexicon.relatedness(above_fireplace, "mantel") >= KIND_OF > lexicon.relatedness(above_fireplace, "larder ledge")
    )


def test_natural_answers_are_rarely_grounded_wrong(reasoner):
    """Over the bundled phase-1 scenarios, first answers are grounded right or followed up; few go wrong."""
    bench = load_benchmark()
    wrong = 0
    scenarios = bench.scenarios[1][:240]
    for s in scenarios:
        answer = SimulatedHuman(bench.personas[s.user], seed=s.index, style="natural").answer(s, "Which one?")
        reading = reasoner.interpret_answer(s.view(), "Which one?", answer)
        meant = s.target_place if s.kind == "place" else s.target_object
        wrong += isinstance(reading, PreferenceSignal) and reading.value != meant
    assert wrong / len(scenarios) < 0.05


class Scripted:
    """A person who says the given lines in order, and counts what it was asked."""

    def __init__(self, *lines):
        self.lines = list(lines)
        self.asked = []

    def __call__(self, question):
        self.asked.append(question)
        return self.lines.pop(0) if self.lines else "The tea."


def test_an_unclear_answer_gets_one_follow_up(tmp_path, reasoner):
    with MemoryStore(tmp_path / "m.db", reasoner.embedder) as store:
        person = Scripted("The tea, please.", "The herbal one.")
        turn = Planner(reasoner, store, MODES["pahf"]).run(TEAS, person, lambda t: Outcome(True), None)
    assert turn.questions == 2 and len(person.asked) == 2
    assert turn.target == served("herbal tea")


def test_never_more_than_two_questions(tmp_path, reasoner):
    with MemoryStore(tmp_path / "m.db", reasoner.embedder) as store:
        person = Scripted("The tea.", "The tea.", "The tea.")
        turn = Planner(reasoner, store, MODES["pahf"]).run(
            TEAS, person, lambda t: Outcome(True), lambda t, o: "No, not that."
        )
    assert turn.questions == MAX_QUESTIONS == len(person.asked)


def test_a_bare_no_is_remembered_and_used(tmp_path, reasoner):
    """post-only cannot ask which one was wanted, so "not that here" is all it learns, and it must act on it."""
    planner = None
    with MemoryStore(tmp_path / "m.db", reasoner.embedder) as store:
        planner = Planner(reasoner, store, MODES["post-only"])
        first = planner.run(DRINKS, None, lambda t: Outcome(True), lambda t, o: "No, not that.")
        refused = first.target.object
        assert [op["stance"] for op in first.memory_ops] == ["avoid"]
        assert store.notes("alex")[0].stance == "avoid" and store.notes("alex")[0].value == refused
        again = planner.run(DRINKS, None, lambda t: Outcome(True), None)
    assert again.target.object != refused


def test_with_two_options_a_no_means_the_other(tmp_path, reasoner):
    pair = TaskView("alex", "Put the mug away.", "", ("mug",), ("top shelf", "fridge"))
    with MemoryStore(tmp_path / "m.db", reasoner.embedder) as store:
        planner = Planner(reasoner, store, MODES["post-only"])
        first = planner.run(pair, None, lambda t: Outcome(True), lambda t, o: "Wrong spot.")
        other = next(p for p in pair.places if p != first.target.place)
        assert planner.run(pair, None, lambda t: Outcome(True), None).target.place == other


def _remembered(value, seen, task="I need a pick-me-up before my run. Bring me something."):
    return Note(1, "alex", situation_key(task, seen), "object", value, "", "clarification", 1, 0.0, 0.0)


def test_a_remembered_item_is_matched_one_to_one_with_its_remembered_scene(reasoner):
    """ "energy drink" alone is closest to the lemon soda and the iced coffee; remembered beside a fizzy
    lemonade and a cold brew, which those two stand for, it can only be the caffeine can."""
    scene = ("caffeine can", "lemon soda", "iced coffee")
    view = TaskView("alex", "Bring me something for my run, I'm flagging.", "", scene, ())
    alone = reasoner.decide(view, [(_remembered("energy drink", ["energy drink"]), 1.0)], may_ask=False)
    assert alone.target.object != "caffeine can"
    beside = _remembered("energy drink", ["energy drink", "fizzy lemonade", "cold brew coffee"])
    assert reasoner.decide(view, [(beside, 1.0)], may_ask=False).target.object == "caffeine can"


def test_a_remembered_item_whose_counterpart_is_taken_does_not_vote(reasoner):
    """The sparkling water is the remembered glass of water's, so it is not the black coffee's either; with
    another option still open and nothing else to tell them apart, the black coffee says nothing."""
    note = _remembered("black coffee", ["black coffee", "glass of water"])
    assert (
        reasoner._stands_for(note, ("chamomile infusion", "americano", "sparkling water"), names_seen([note]), {})
        is None
    )
    alone = _remembered("black coffee", [])
    assert reasoner._stands_for(alone, ("americano", "sparkling water"), names_seen([alone]), {}) == (
        1,
        pytest.approx(0.36, abs=0.05),
    )


def test_the_one_option_no_other_remembered_name_accounts_for_is_the_wanted_item(reasoner):
    """Mutual exclusivity by elimination: the herbal tea is the chamomile and the glass of water is the
    sparkling water, so the americano, however unlike "black coffee" its name, is what was wanted."""
    note = _remembered("black coffee", ["black coffee", "herbal tea", "glass of water"])
    options = ("chamomile infusion", "americano", "sparkling water")
    assert reasoner.grounder.similarities("black coffee", options)[1] < reasoner.settings.item_floor
    assert reasoner._stands_for(note, options, names_seen([note]), {}) == (1, reasoner.settings.item_floor)
    view = TaskView("alex", "I need a lift before my run.", "", options, ())
    assert reasoner.decide(view, [(note, 1.0)], may_ask=False).target.object == "americano"


def test_names_remembered_from_other_tables_take_part_in_the_elimination(reasoner):
    """The black coffee was remembered beside a herbal tea only, so on its own table nothing accounts for the
    sparkling water, and "black coffee" alone is closer to it than to the americano. A glass of water
    remembered in another situation accounts for it, and the americano is left."""
    note = _remembered("black coffee", ["black coffee", "herbal tea"])
    water = _remembered(
        "glass of water", ["glass of water", "lemon cake"], task="The guests are arriving for dinner tonight."
    )
    options = ("chamomile infusion", "americano", "sparkling water")
    assert (reasoner._stands_for(note, options, names_seen([note]), {}) or (None,))[0] != 1
    assert reasoner._stands_for(note, options, names_seen([note, water]), {}) == (1, reasoner.settings.item_floor)
    view = TaskView("alex", "I need a lift before my run.", "", options, ())
    assert reasoner.decide(view, [(note, 1.0), (water, 1.0)], may_ask=False).target.object == "americano"
