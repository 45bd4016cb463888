"""The held-out benchmark, written blind and frozen: memory must pay off on data we did not shape."""

from __future__ import annotations

import json

from pahf_robot.core.paths import SCENARIOS
from pahf_robot.run.config import RunConfig
from pahf_robot.run.runner import run

PERSONAS = ["ingrid", "tomas", "priya", "oskar"]


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
