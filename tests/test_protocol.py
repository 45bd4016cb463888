"""The PAHF loop and protocol: channel rules per mode, determinism, resume, and the run CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memory.embedders import HashingEmbedder
from memory.store import MemoryStore
from pahf_robot.agent.offline import OfflineReasoner
from pahf_robot.agent.planner import MODES, Planner
from pahf_robot.bench.scenarios import load_benchmark
from pahf_robot.cli import main
from pahf_robot.core.types import Outcome
from pahf_robot.human.rule import SimulatedHuman
from pahf_robot.run import protocol
from pahf_robot.run.config import RunConfig
from pahf_robot.run.records import EPISODES_FILE
from pahf_robot.run.runner import RESULTS_FILE, load_run_config, run
from tests.conftest import comparable, read_episodes, small_benchmark


def decision_only(tmp_path: Path, per_phase: int = 6, **overrides) -> RunConfig:
    bench = small_benchmark(tmp_path / "bench", per_phase)
    options = dict(scenarios=str(bench), sim="none", embedder="hashing", learning_iter=2)
    options.update(overrides)
    return RunConfig(**options)


def test_each_mode_keeps_its_channel_rules(tmp_path):
    results = run(decision_only(tmp_path), tmp_path / "run", progress=False)
    records = read_episodes(tmp_path / "run" / EPISODES_FILE)
    by_mode = {m: [r for r in records if r["mode"] == m] for m in MODES}
    assert all(by_mode.values())
    for r in records:
        if r["phase"] in (2, 4):
            assert r["question"] is None and r["feedback"] is None and not r["memory_ops"]
    assert not any(r["memory_ops"] for r in by_mode["no-memory"])
    assert not (tmp_path / "run" / "memory" / "no-memory.db").exists()
    assert not any(r["question"] for r in by_mode["post-only"])
    assert not any(r["feedback"] for r in by_mode["pre-only"])
    assert any(r["memory_ops"] for r in by_mode["pre-only"])
    assert all(r["decision"] == "ask" for r in by_mode["pre-only"] if r["memory_ops"])
    assert any(r["memory_ops"] for r in by_mode["post-only"])
    assert all(r["decision"] == "act" and r["feedback"] for r in by_mode["post-only"] if r["memory_ops"])
    assert any(r["question"] for r in by_mode["pahf"]) and any(r["feedback"] for r in by_mode["pahf"])
    phases = results["modes"]["pahf"]["phases"]
    assert set(phases) == {"1", "2", "3", "4"}
    assert set(phases["2"]) >= {
        "success_rate",
        "preference_accuracy",
        "execution_success",
        "questions_per_episode",
        "feedback_per_episode",
    }
    assert len(results["modes"]["pahf"]["acpe"]["1"]) == 2


def test_memory_learned_in_phase_one_pays_off_in_phase_two(tmp_path):
    # whole personas, so that every phase-2 situation was met in phase 1
    results = run(decision_only(tmp_path, per_phase=24, modes=["pahf", "no-memory"]), tmp_path / "run", progress=False)
    modes = results["modes"]
    assert (
        modes["pahf"]["phases"]["2"]["preference_accuracy"] > modes["no-memory"]["phases"]["2"]["preference_accuracy"]
    )


class FumblingExecutor:
    """Drops every object: stands in for a physical failure so the planner's reaction can be isolated."""

    def execute(self, view, target, seed):
        return Outcome(success=False, failure="dropped", steps=0)


def test_an_execution_failure_never_becomes_a_preference(tmp_path):
    embedder = HashingEmbedder()
    benchmark = load_benchmark(small_benchmark(tmp_path / "bench"))
    scenario = next(s for s in benchmark.for_user("alex", 1) if s.kind == "bring")
    with MemoryStore(tmp_path / "m.db", embedder) as store:
        planner = Planner(OfflineReasoner(embedder), store, MODES["post-only"])
        human = SimulatedHuman(benchmark.personas["alex"], seed=1)
        view = scenario.view()
        executor = FumblingExecutor()
        wrong_choice_seen = right_choice_seen = False
        for seed in range(6):
            turn = planner.run(
                view,
                ask_human=None,
                execute=lambda t, seed=seed: executor.execute(view, t, seed),
                give_feedback=lambda t, o: human.feedback(scenario, t, o),
            )
            right = turn.target == scenario.target()
            right_choice_seen |= right
            wrong_choice_seen |= not right
            for op in turn.memory_ops:
                assert op["value"] == scenario.target_object, "only a correction may be learned, never the drop"
        assert right_choice_seen
        assert all(n.value == scenario.target_object for n in store.notes("alex"))


def test_same_seed_gives_identical_records(tmp_path):
    config = decision_only(tmp_path, modes=["pahf", "post-only"], seed=5)
    run(config, tmp_path / "a", progress=False)
    run(config, tmp_path / "b", progress=False)
    a = read_episodes(tmp_path / "a" / EPISODES_FILE)
    b = read_episodes(tmp_path / "b" / EPISODES_FILE)
    assert a and comparable(a) == comparable(b)


def test_resume_continues_an_interrupted_run_exactly(tmp_path, monkeypatch):
    config = decision_only(tmp_path, modes=["pahf"], seed=2)
    run(config, tmp_path / "whole", progress=False)

    real_episode = protocol._run_episode
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 17:
            raise KeyboardInterrupt
        return real_episode(*args, **kwargs)

    monkeypatch.setattr(protocol, "_run_episode", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(config, tmp_path / "cut", progress=False)
    assert len(read_episodes(tmp_path / "cut" / EPISODES_FILE)) == 17
    monkeypatch.setattr(protocol, "_run_episode", real_episode)

    run(load_run_config(tmp_path / "cut"), tmp_path / "cut", progress=False)
    whole = read_episodes(tmp_path / "whole" / EPISODES_FILE)
    resumed = read_episodes(tmp_path / "cut" / EPISODES_FILE)
    assert comparable(resumed) == comparable(whole)


def test_cli_run_writes_results_and_plots(tmp_path, capsys):
    bench = small_benchmark(tmp_path / "bench", per_phase=3)
    out = tmp_path / "out"
    code = main(
        [
            "run",
            "--scenarios",
            str(bench),
            "--sim",
            "none",
            "--embedder",
            "hashing",
            "--modes",
            "pahf,no-memory",
            "--personas",
            "alex",
            "--phases",
            "1,2",
            "--learning-iter",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    results = json.loads((out / RESULTS_FILE).read_text())
    assert set(results["modes"]) == {"pahf", "no-memory"}
    assert results["episodes"] == 2 * 2 * 3
    assert (out / "success_per_phase.png").stat().st_size > 0
    assert "phase 2" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content, needle",
    [
        ("modes: [pahf\n", "invalid YAML"),
        ("colour: blue\n", "field 'colour'"),
        ("modes: pahf,telepathy\n", "telepathy"),
        ("learning_iter: three\n", "field 'learning_iter'"),
        ("phases: [1, two]\n", "field 'phases'"),
    ],
)
def test_bad_launch_file_is_one_line_error(tmp_path, capsys, content, needle):
    launch = tmp_path / "bad.yaml"
    launch.write_text(content)
    bench = small_benchmark(tmp_path / "bench", per_phase=2)
    code = main(
        ["run", "--config", str(launch), "--scenarios", str(bench), "--sim", "none", "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1 and needle in err and "Traceback" not in err


def test_unknown_persona_is_one_line_error(tmp_path, capsys):
    bench = small_benchmark(tmp_path / "bench", per_phase=2)
    code = main(
        ["run", "--scenarios", str(bench), "--sim", "none", "--personas", "nobody", "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and "nobody" in err


def test_physics_end_to_end_agrees_with_decision_only_runs(tmp_path):
    """Two personas with real grasps and the default MiniLM embedder; the choices match a `--sim none` run."""
    bench = small_benchmark(tmp_path / "bench", per_phase=3)
    base = dict(scenarios=str(bench), modes=["pahf", "no-memory"], learning_iter=1, seed=7, workers=1)
    physics = run(RunConfig(**base, sim="pybullet"), tmp_path / "physics", progress=False)
    decisions = run(RunConfig(**base, sim="none"), tmp_path / "none", progress=False)
    records = read_episodes(tmp_path / "physics" / EPISODES_FILE)
    assert len(records) == 2 * 2 * 3 * 4
    assert all(r["outcome"]["steps"] > 0 for r in records)
    for mode in base["modes"]:
        # execution over a mode's 24 episodes: one failed scene is 1 of 6 in a phase, and repeats in every
        # pass of it (a scenario keeps its table), so the bar is over the whole run
        executed = [r["execution_success"] for r in records if r["mode"] == mode]
        assert sum(executed) / len(executed) >= 0.9
        for phase in ("1", "2", "3", "4"):
            ran = physics["modes"][mode]["phases"][phase]
            assert ran["preference_accuracy"] == decisions["modes"][mode]["phases"][phase]["preference_accuracy"]


def test_launch_file_accepts_single_values_for_list_options(tmp_path):
    launch = tmp_path / "one.yaml"
    launch.write_text("phases: 1\nmodes: pahf\nlearning_iter: 1\nsim: none\nembedder: hashing\nnoise: 0\n")
    bench = small_benchmark(tmp_path / "bench", per_phase=2)
    out = tmp_path / "o"
    assert main(["run", "--config", str(launch), "--scenarios", str(bench), "--out", str(out), "--no-progress"]) == 0
    results = json.loads((out / RESULTS_FILE).read_text())
    assert list(results["modes"]) == ["pahf"] and list(results["modes"]["pahf"]["phases"]) == ["1"]
