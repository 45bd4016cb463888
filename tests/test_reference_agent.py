"""The reference agent of issue 12 (`benchmarks/reference_agent.py`) behaves as the issue describes it, so
the comparison in the README is against that agent and not a weaker one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from memory.embedders import HashingEmbedder

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_agent.py"
OPTIONS = ("herbal tea", "black coffee", "orange juice")
TIRED = "I slept two hours and have an exam at nine. Could you bring me something to drink?"


@pytest.fixture(scope="module")
def reference():
    spec = importlib.util.spec_from_file_location("reference_agent", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_asks_when_nothing_close_is_remembered_and_then_acts_from_memory(reference):
    agent = reference.NearestTaskAgent(HashingEmbedder(), threshold=0.6)
    asked = []
    chosen, did_ask = agent.act(TIRED, OPTIONS, lambda options: asked.append(options) or "Black coffee, please.")
    assert (chosen, did_ask, asked) == ("black coffee", True, [OPTIONS])
    again, did_ask = agent.act(TIRED, ("orange juice", "herbal tea", "black coffee"), lambda options: pytest.fail())
    assert (again, did_ask) == ("black coffee", False)


def test_a_correction_replaces_the_notes_of_similar_tasks(reference):
    agent = reference.NearestTaskAgent(HashingEmbedder(), threshold=0.6)
    agent.act(TIRED, OPTIONS, lambda options: "black coffee")
    agent.hear(TIRED, OPTIONS, "black coffee", asked=False, feedback="No, I wanted the orange juice.")
    assert agent.items == ["orange juice"]
    assert agent.act(TIRED, OPTIONS, None) == ("orange juice", False)


def test_feedback_that_names_no_other_option_is_taken_as_approval(reference):
    agent = reference.NearestTaskAgent(HashingEmbedder(), threshold=0.6)
    chosen, _ = agent.act(TIRED, OPTIONS, None)
    agent.hear(TIRED, OPTIONS, chosen, asked=False, feedback="Thanks!")
    assert agent.items == [chosen]
