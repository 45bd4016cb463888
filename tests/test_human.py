import re

import pytest

from envs.layout import HAND_OVER
from pahf_robot.bench.scenarios import Scenario, load_benchmark
from pahf_robot.core.types import Outcome, Target
from pahf_robot.human.rule import SimulatedHuman


def names(text, option):
    return re.search(rf"(?<!\w){re.escape(option.lower())}(?!\w)", text.lower()) is not None


@pytest.fixture(scope="module")
def bench():
    return load_benchmark()


def sample(bench, phases=(1, 2, 3, 4), users=4):
    return [s for u in bench.users()[:users] for p in phases for s in bench.for_user(u, p)]


def wanted(s):
    return s.target_place if s.kind == "place" else s.target_object


def options(s):
    return s.places if s.kind == "place" else s.objects


def choose(s, option):
    return Target(s.target_object, option) if s.kind == "place" else Target(option, HAND_OVER)


def test_answers_name_the_target_exactly_and_only_it(bench):
    for s in sample(bench):
        human = SimulatedHuman(bench.personas[s.user], seed=s.index)
        text = human.answer(s, "Which one would you like?")
        assert wanted(s) in text
        assert not [o for o in options(s) if o != wanted(s) and names(text, o)]
        assert 1 <= text.count(".") + text.count("?") + text.count("!") <= 3


def test_answers_vary_and_are_seeded(bench):
    scenarios = sample(bench, phases=(1,), users=2)
    first = [SimulatedHuman(bench.personas[s.user], seed=3).answer(s, "?") for s in scenarios]
    again = [SimulatedHuman(bench.personas[s.user], seed=3).answer(s, "?") for s in scenarios]
    assert first == again
    openings = {t.split(" the ")[0] for t in first}
    assert len(openings) >= 4


def test_correction_names_the_right_option_never_the_wrong_one(bench):
    for s in sample(bench):
        human = SimulatedHuman(bench.personas[s.user], seed=s.index)
        for wrong in options(s):
            if wrong == wanted(s):
                continue
            text = human.feedback(s, choose(s, wrong), Outcome(success=True))
            assert names(text, wanted(s)), text
            assert not names(text, wrong), text


def test_failure_after_right_choice_is_no_correction(bench):
    for s in sample(bench):
        human = SimulatedHuman(bench.personas[s.user], seed=s.index)
        for kind in ("dropped", "missed_grasp", "unreachable", "timeout", "misplaced", None):
            text = human.feedback(s, s.target(), Outcome(success=False, failure=kind))
            assert not any(names(text, o) for o in (*options(s), s.target_object)), text
    assert human.corrections_given == 0


def test_wrong_choice_and_failure_mention_both(bench):
    s = next(s for s in sample(bench) if s.kind == "bring")
    wrong = next(o for o in s.objects if o != s.target_object)
    text = SimulatedHuman(bench.personas[s.user]).feedback(s, choose(s, wrong), Outcome(False, "dropped"))
    assert names(text, s.target_object) and not names(text, wrong)
    assert "dropped" in text or "slipped" in text


def test_thanks_on_success_and_feedback_switch(bench):
    s = bench.scenarios[1][0]
    human = SimulatedHuman(bench.personas[s.user])
    text = human.feedback(s, s.target(), Outcome(success=True))
    assert "thank" in text.lower()
    assert not any(names(text, o) for o in options(s) if o != wanted(s))
    assert human.feedback(s, s.target(), None) is not None
    assert human.feedback_given == 2
    human.feedback_enabled = False
    assert human.feedback(s, choose(s, options(s)[0]), Outcome(True)) is None
    assert human.feedback_given == 2


def test_noise_spoils_about_the_given_fraction(bench):
    scenarios = sample(bench, users=20)
    human = SimulatedHuman(None, noise=0.2, seed=11)
    spoiled = wrong_named = 0
    for s in scenarios:
        text = human.answer(s, "?")
        if text is None or wanted(s) not in text:
            spoiled += 1
            if text is not None:
                wrong_named += 1
                assert any(names(text, o) for o in options(s) if o != wanted(s))
    rate = spoiled / len(scenarios)
    assert 0.15 <= rate <= 0.25, rate
    assert wrong_named > 0 and spoiled - wrong_named > 0
    assert human.questions_answered == len(scenarios) - (spoiled - wrong_named)
    assert all(SimulatedHuman(None).answer(s, "?") for s in scenarios[:50])


def test_without_persona_answers_from_ground_truth():
    s = Scenario(
        index=0,
        user="Wren",
        phase=1,
        task="Something to drink?",
        scene="",
        objects=("lime soda", "warm broth"),
        places=(),
        target_object="lime soda",
        target_place=HAND_OVER,
        context="Thirsty",
    )
    human = SimulatedHuman(None, seed=2)
    assert all("lime soda" in human.answer(s, "Which?") for _ in range(20))
    text = human.feedback(s, Target("warm broth", HAND_OVER), Outcome(True))
    assert "lime soda" in text and "warm broth" not in text
    with pytest.raises(ValueError):
        SimulatedHuman(None, noise=1.5)
