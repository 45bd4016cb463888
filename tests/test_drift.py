"""Noticing that a person has changed: after a correction overturns a well-supported note, the robot asks
before relying on notes that may be stale, and trusts them again once more of them have held than changed."""

from __future__ import annotations

import pytest

from memory.embedders import MiniLMEmbedder
from memory.policy import WELL_SUPPORTED
from memory.store import MemoryStore
from pahf_robot.agent.offline import OfflineReasoner
from pahf_robot.agent.planner import DOUBT, MODES, Planner, Turn
from pahf_robot.agent.reasoning import PreferenceSignal
from pahf_robot.bench.scenarios import TaskView
from pahf_robot.core.types import Outcome

DRINKS = ("black coffee", "herbal tea", "cola", "orange juice")
SITUATIONS = [
    ("I can barely keep my eyes open this morning. Bring me something.", "black coffee"),
    ("I'm winding down for bed now. Bring me something.", "herbal tea"),
    ("I just came back from a long run. Bring me something.", "orange juice"),
    ("We're watching the match with friends. Bring me something.", "cola"),
    ("I have a sore throat today. Bring me something.", "herbal tea"),
    ("I'm cramming for tomorrow's exam. Bring me something.", "black coffee"),
    ("The sun is blazing outside. Bring me something.", "cola"),
]


@pytest.fixture(scope="module")
def reasoner():
    return OfflineReasoner(MiniLMEmbedder(cache_size=4096))


@pytest.fixture
def planner(tmp_path, reasoner):
    with MemoryStore(tmp_path / "m.db", reasoner.embedder) as store:
        yield Planner(reasoner, store, MODES["pahf"])


def view(task: str) -> TaskView:
    return TaskView("alex", task, "", DRINKS, ())


def serve(planner: Planner, situation: int) -> Turn:
    """One task of a situation, with a person who answers any question with what they want there."""
    task, value = SITUATIONS[situation]
    return planner.run(view(task), lambda question: f"The {value}, please.", lambda t: Outcome(True), None)


def tell(planner: Planner, task: str, value: str, times: int = 1) -> None:
    for _ in range(times):
        planner._remember(view(task), PreferenceSignal("object", value, explicit=True), source="clarification")


def well_known_then_changed(planner: Planner) -> None:
    """Every situation confirmed until well supported, then the first one corrected."""
    for task, value in SITUATIONS:
        tell(planner, task, value, times=WELL_SUPPORTED)
    tell(planner, SITUATIONS[0][0], "cola")


def test_a_well_supported_note_is_acted_on_without_asking(planner):
    for task, value in SITUATIONS:
        tell(planner, task, value, times=WELL_SUPPORTED)
    turn = serve(planner, 1)
    assert turn.questions == 0 and turn.target.object == SITUATIONS[1][1]


def test_after_a_change_the_robot_asks_before_relying_on_another_situations_old_note(planner):
    well_known_then_changed(planner)
    turn = serve(planner, 1)
    assert turn.questions == 1 and turn.rationale == DOUBT
    assert turn.target.object == SITUATIONS[1][1]


def test_an_answer_since_the_change_makes_that_note_trusted_again(planner):
    well_known_then_changed(planner)
    serve(planner, 1)
    again = serve(planner, 1)
    assert again.questions == 0 and again.target.object == SITUATIONS[1][1]


def settled(planner: Planner) -> None:
    """One change, then two other situations asked about and found unchanged: more held than changed."""
    well_known_then_changed(planner)
    for situation in (1, 2):
        assert serve(planner, situation).questions == 1


def test_while_as_many_old_notes_changed_as_held_the_robot_keeps_asking(planner):
    well_known_then_changed(planner)
    assert serve(planner, 1).questions == 1
    turn = serve(planner, 2)
    assert turn.questions == 1 and turn.rationale == DOUBT


def test_once_more_old_notes_have_held_than_changed_the_rest_are_trusted(planner):
    settled(planner)
    turn = serve(planner, -1)
    assert turn.questions == 0 and turn.target.object == SITUATIONS[-1][1]


def test_a_person_who_changed_twice_is_doubted_longer(planner):
    """Two changes, two old notes held since: still as likely stale as not, so the robot asks again."""
    well_known_then_changed(planner)
    tell(planner, SITUATIONS[4][0], "orange juice")
    assert SITUATIONS[-1][1] not in (SITUATIONS[0][1], SITUATIONS[4][1])  # not doubted for its value alone
    for situation in (1, 2):
        assert serve(planner, situation).questions == 1
    turn = serve(planner, -1)
    assert turn.questions == 1 and turn.rationale == DOUBT


def test_notes_holding_the_overturned_value_stay_doubted_after_settling(planner):
    """The same preference remembered under another situation is what a change most likely reaches."""
    settled(planner)
    assert SITUATIONS[-2][1] == SITUATIONS[0][1]
    turn = serve(planner, -2)
    assert turn.questions == 1 and turn.rationale == DOUBT
