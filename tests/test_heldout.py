"""The held-out benchmark, written blind and frozen: memory must pay off on data we did not shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pahf_robot.bench.scenarios import load_benchmark
from pahf_robot.core.paths import SCENARIOS
from pahf_robot.run.config import RunConfig
from pahf_robot.run.runner import run

PERSONAS = ["ingrid", "tomas", "priya", "oskar"]
DEV = Path(__file__).resolve().parents[1] / "benchmarks" / "dev_scenarios"


@pytest.mark.parametrize("folder", [SCENARIOS / "heldout", DEV], ids=["held-out", "dev"])
def test_the_blind_benchmarks_load_whole(folder):
    """Both blind sets are read by the loader every PAHF folder goes through, with no scenario skipped:
    12 people x 24 scenarios in each of the four phases, every target in its scene."""
    benchmark = load_benchmark(folder)
    for phase in (1, 2, 3, 4):
        scenarios = benchmark.scenarios[phase]
        assert len(scenarios) == 288 and len({s.user for s in scenarios}) == 12
        for s in scenarios:
            view = s.view()
            assert s.target_object in view.objects and (s.kind == "bring" or s.target_place in view.places)


def test_pahf_beats_no_memory_by_30_points_in_phase_4_on_the_held_out_set(tmp_path):
    """Word-disjoint paraphrase needs meaning, so this runs the default MiniLM embedder (hashing is at chance)."""
    config = RunConfig(
        scenarios=str(SCENARIOS / "heldout"),
        sim="none",
        modes=["pahf", "no-memory"],
        personas=PERSONAS,
        human="natural",
    )
    results = run(config, tmp_path / "run", progress=False)
    phase4 = {mode: results["modes"][mode]["phases"]["4"]["success_rate"] for mode in ("pahf", "no-memory")}
    assert phase4["pahf"] - phase4["no-memory"] >= 0.30, phase4
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["config"]["human"] == "natural"
    assert all(r["questions"] <= 2 for r in map(json.loads, (tmp_path / "run" / "episodes.jsonl").open()))
