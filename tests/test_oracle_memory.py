"""`benchmarks/oracle_memory.py` measures what a perfect memory gives: asked about the very tasks it
remembers, it must be right every time, and it must score the test phase against that phase's truth."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from memory.embedders import HashingEmbedder
from pahf_robot.agent.offline import OfflineReasoner
from pahf_robot.agent.reasoning import chosen_option
from pahf_robot.bench.scenarios import load_benchmark

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "oracle_memory.py"
HELDOUT = Path(__file__).resolve().parents[1] / "scenarios" / "heldout"


def load_script():
    spec = importlib.util.spec_from_file_location("oracle_memory", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = script  # dataclasses look their module up there
    spec.loader.exec_module(script)
    return script


def test_a_perfect_memory_of_the_same_tasks_is_always_right_and_a_paraphrase_is_not():
    script = load_script()
    reasoner = OfflineReasoner(HashingEmbedder())
    benchmark = load_benchmark(HELDOUT)
    paraphrased = script.ceiling(benchmark, reasoner, 1)
    paraphrases = benchmark.scenarios[2]
    benchmark.scenarios[2] = benchmark.scenarios[1]
    same = script.ceiling(benchmark, reasoner, 1)
    assert same.success == 1.0 and not same.lost
    assert paraphrased.success < 0.9  # word-disjoint set B is not read perfectly by hashed words
    assert sum(paraphrased.lost.values()) == round((1 - paraphrased.success) * len(paraphrases))
    assert set(paraphrased.lost) <= {"object name", "object situation", "place name", "place situation"}
    assert not same.misses and len(paraphrased.misses) == sum(paraphrased.lost.values())
    first = next(s for s in paraphrases if paraphrased.misses[0].startswith(f"{s.user} {s.context} "))
    assert f"wanted {chosen_option(first.view(), first.target())!r}" in paraphrased.misses[0]


def test_the_hub_penalty_changes_which_remembered_task_is_closest_and_leaves_the_plain_ceiling_alone():
    script = load_script()
    reasoner = OfflineReasoner(HashingEmbedder())
    benchmark = load_benchmark(HELDOUT)
    plain = script.ceiling(benchmark, reasoner, 1)
    corrected = {mode: script.ceiling(benchmark, reasoner, 1, mode) for mode in ("phase", "so-far")}
    assert reasoner.situations.__class__ is not script.HubCorrected  # the reasoner is handed back as it was
    assert script.ceiling(benchmark, reasoner, 1).success == plain.success
    assert all(result.lost != plain.lost for result in corrected.values())
