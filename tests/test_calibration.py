"""The offline reasoner's defaults are what `benchmarks/calibrate.py` fits on bundled phase-1 data, with the
default embedder: a default that drifts from its fit (or a fit that no longer reproduces) fails here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from memory.embedders import MPNetEmbedder
from pahf_robot.agent.offline import OfflineSettings
from pahf_robot.bench.scenarios import load_benchmark

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _calibrate():
    sys.path.insert(0, str(BENCHMARKS))  # calibrate.py imports its sibling oracle_memory.py, as when run
    try:
        spec = importlib.util.spec_from_file_location("calibrate", BENCHMARKS / "calibrate.py")
        script = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(script)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return script


def test_the_default_task_temperature_is_the_one_leave_one_out_over_phase_1_picks():
    fitted, scores = _calibrate().fit_task_temperature(load_benchmark(None), MPNetEmbedder(cache_size=1 << 16))
    assert OfflineSettings().task_temperature == fitted
    assert scores[fitted] > min(scores.values())  # the grid tells temperatures apart: the pick is not a tie
