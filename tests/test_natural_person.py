"""The natural simulated person: talks like people, never hands the learner an answer key by accident."""

from collections import Counter

import pytest

from envs.layout import HAND_OVER
from pahf_robot.bench.scenarios import Scenario, load_benchmark
from pahf_robot.core.types import Outcome, Target
from pahf_robot.human.phrasing import BARE_NEGATIVES, BARE_PLACE_NEGATIVES, Phrasing, attributes_of, partial_names
from pahf_robot.human.rule import SimulatedHuman


@pytest.fixture(scope="module")
def bench():
    return load_benchmark()


def wanted(s):
    return s.target_place if s.kind == "place" else s.target_object


def options(s):
    return s.places if s.kind == "place" else s.objects


def a_wrong_choice(s):
    other = next(o for o in options(s) if o != wanted(s))
    return (Target(s.target_object, other) if s.kind == "place" else Target(other, HAND_OVER)), other


def test_first_answers_mix_names_parts_and_descriptions(bench):
    exact = 0
    answers = []
    for s in bench.scenarios[1]:
        text = SimulatedHuman(bench.personas[s.user], seed=s.index, style="natural").answer(s, "Which one?")
        answers.append(text)
        exact += wanted(s).lower() in text.lower()
    share = exact / len(answers)
    assert 0.3 < share < 0.7, share  # names are common, but far from always
    assert any(text.startswith("Something") for text in answers)


def test_a_bare_refusal_never_names_what_was_wanted(bench):
    kinds = Counter()
    for s in bench.scenarios[3]:
        chosen, other = a_wrong_choice(s)
        text = SimulatedHuman(bench.personas[s.user], seed=s.index, style="natural").feedback(s, chosen, Outcome(True))
        if text in BARE_NEGATIVES or text in BARE_PLACE_NEGATIVES:
            kinds["bare"] += 1
            assert wanted(s).lower() not in text.lower()
        kinds["all"] += 1
        assert other.lower() not in text.lower() or text.startswith("No. ")  # never praises the wrong one
    assert 0.1 < kinds["bare"] / kinds["all"] < 0.3


def test_the_second_question_gets_a_precise_answer(bench):
    for s in bench.scenarios[1][:200]:
        human = SimulatedHuman(bench.personas[s.user], seed=s.index, style="natural")
        human.answer(s, "Which one?")
        second = human.answer(s, "Which one do you mean?")
        words = {w for p in partial_names(wanted(s)) for w in p.replace(" one", "").split()}
        assert wanted(s).lower() in second.lower() or any(w in second.lower() for w in words)


def test_parts_and_descriptions_come_from_the_name():
    assert partial_names("herbal tea") == ["tea", "herbal one"]
    assert partial_names("glass of water") == ["water"]
    assert partial_names("banana") == []
    assert "cold" in attributes_of("iced lemonade") and "high" in attributes_of("top shelf")
    phrasing = Phrasing(__import__("random").Random(0))
    # a description is only used when no other option shares the attribute
    assert phrasing.description("iced tea", ["iced coffee", "hot cocoa"], place=False) is None
    assert phrasing.description("iced tea", ["hot cocoa", "cola"], place=False).text in (
        "something cold",
        "something chilled",
    )


def test_external_folders_work_without_personas():
    s = Scenario(
        0, "zoe", 1, "I'm parched.", "", ("sparkling water", "hot cocoa"), (), "sparkling water", HAND_OVER, "x"
    )
    human = SimulatedHuman(None, seed=3, style="natural")
    assert human.answer(s, "Which one?")
    assert human.feedback(s, Target("hot cocoa", HAND_OVER), Outcome(True))


def test_exact_person_stays_an_answer_key(bench):
    for s in bench.scenarios[1][:100]:
        text = SimulatedHuman(bench.personas[s.user], seed=s.index, style="exact").answer(s, "Which one?")
        assert wanted(s) in text
