"""Scale-out: sequential, --workers 2 and Ray give identical records; a failing persona is reported alone."""

from __future__ import annotations

import json

from pahf_robot.bench.scenarios import PHASE_FILES
from pahf_robot.cli import main
from pahf_robot.run.config import RunConfig
from pahf_robot.run.records import EPISODES_FILE
from pahf_robot.run.runner import RESULTS_FILE, run
from tests.conftest import comparable, read_episodes, small_benchmark


def test_sequential_workers_and_ray_give_identical_records(tmp_path):
    bench = small_benchmark(tmp_path / "bench", per_phase=4)
    base = dict(
        scenarios=str(bench), sim="none", embedder="hashing", learning_iter=2, seed=4, modes=["pahf", "post-only"]
    )
    runs = {
        "sequential": RunConfig(**base, workers=1),
        "workers": RunConfig(**base, workers=2),
        "ray": RunConfig(**base, workers=2, executor="ray"),
    }
    records = {}
    for name, config in runs.items():
        results = run(config, tmp_path / name, progress=False)
        assert "failed" not in results
        records[name] = comparable(read_episodes(tmp_path / name / EPISODES_FILE))
    assert len(records["sequential"]) == 2 * 2 * 4 * (2 + 1 + 2 + 1)
    assert records["workers"] == records["sequential"]
    assert records["ray"] == records["sequential"]


def test_a_scene_too_crowded_for_the_table_is_refused_before_any_worker_starts(tmp_path, capsys):
    """One persona's scene holds more objects than the table fits: that used to fail its worker mid-run; now
    the run refuses it at load, naming file, scenario and field, and writes no episode."""
    bench = small_benchmark(tmp_path / "bench", per_phase=1)
    first = bench / PHASE_FILES[1]
    rows = json.loads(first.read_text())
    crowded = next(r for r in rows if r["user"] == "bo" and r["user_intent_location"] == "pick-up")
    crowded["scene_objects"] += [f"spare cup {i}" for i in range(9)]
    first.write_text(json.dumps(rows))
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "--scenarios",
            str(bench),
            "--sim",
            "pybullet",
            "--embedder",
            "hashing",
            "--modes",
            "pahf",
            "--learning-iter",
            "1",
            "--workers",
            "2",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{PHASE_FILES[1]}: scenario {crowded['index']}: field 'scene_objects'" in err[0]
    assert "at most 8 objects" in err[0]
    assert not (out / EPISODES_FILE).exists() and not (out / RESULTS_FILE).exists()


def test_a_killed_worker_fails_its_units_in_one_line_each_and_resume_completes_the_run(tmp_path, monkeypatch):
    """SIGKILL one worker process after the first record: Python's process pool then fails every unit still
    in flight, so each is reported (mode and user), the run ends with its records on disk, and `--resume`
    finishes it with the records an uninterrupted run writes. No memory mode, so the kill can never land
    between a memory write and its record; physics, so a worker is surely still busy when it is killed."""
    import multiprocessing
    import os
    import signal

    from pahf_robot.run import runner

    bench = small_benchmark(tmp_path / "bench", per_phase=2)
    config = RunConfig(
        scenarios=str(bench), embedder="hashing", learning_iter=1, seed=4, modes=["no-memory"], workers=2
    )
    real_run_parallel = runner.run_parallel

    def killing_one_worker(config, units, run_dir, done, on_record, benchmark):
        killed = []

        def record_then_kill(record):
            on_record(record)
            workers = [p for p in multiprocessing.active_children() if p.name.startswith("SpawnProcess")]
            if not killed and workers:
                killed.append(workers[0].pid)
                os.kill(workers[0].pid, signal.SIGKILL)

        return real_run_parallel(config, units, run_dir, done, record_then_kill, benchmark)

    monkeypatch.setattr(runner, "run_parallel", killing_one_worker)
    broken = run(config, tmp_path / "killed", progress=False)
    monkeypatch.setattr(runner, "run_parallel", real_run_parallel)
    total = 2 * 2 * 4
    assert broken["failed"] and broken["episodes"] < total
    assert all(set(failure) == {"mode", "user", "error"} for failure in broken["failed"])
    resumed = run(config, tmp_path / "killed", progress=False, resume=True)
    assert "failed" not in resumed and resumed["episodes"] == total
    whole = run(config, tmp_path / "whole", progress=False)
    assert comparable(read_episodes(tmp_path / "killed" / EPISODES_FILE)) == comparable(
        read_episodes(tmp_path / "whole" / EPISODES_FILE)
    )
    assert whole["episodes"] == total
