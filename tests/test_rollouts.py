"""One rollout simulated once per run: real PyBullet is deterministic, the cache reuses outcomes only where
that holds, and a cached run's records equal an uncached run's."""

from __future__ import annotations

import pytest

from pahf_robot.act.executors import PhysicsExecutor
from pahf_robot.act.rollouts import ROLLOUTS_FILE
from pahf_robot.bench.scenarios import load_benchmark
from pahf_robot.core.types import Target
from pahf_robot.run import protocol
from pahf_robot.run.config import RunConfig
from pahf_robot.run.records import EPISODES_FILE
from pahf_robot.run.runner import run
from tests.conftest import comparable, read_episodes, small_benchmark


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    return load_benchmark(small_benchmark(tmp_path_factory.mktemp("bench"), per_phase=2)).scenarios[1]


def another_target(scenario) -> Target:
    """A wrong choice in the same scene: another object, or (a place task has one object) another place."""
    objects = [name for name in scenario.objects if name != scenario.target_object]
    if objects:
        return Target(objects[0], scenario.target_place)
    return Target(scenario.target_object, next(name for name in scenario.places if name != scenario.target_place))


def counting_resets(executor: PhysicsExecutor) -> list[int]:
    """Count the env resets (each one is a simulated rollout) without changing what they do."""
    calls = []
    real_reset = executor.env.reset

    def reset(*args, **kwargs):
        calls.append(1)
        return real_reset(*args, **kwargs)

    executor.env.reset = reset
    return calls


def test_the_same_rollout_gives_the_same_outcome_whatever_ran_before(scenarios):
    first, other = scenarios[0], scenarios[1]
    executor = PhysicsExecutor()
    try:
        before = executor.execute(first.view(), first.target(), seed=11)
        executor.execute(other.view(), other.target(), seed=12)
        again = executor.execute(first.view(), first.target(), seed=11)
    finally:
        executor.close()
    assert before.steps > 0
    assert again == before


def test_the_cache_simulates_each_rollout_once_and_is_shared_by_file(scenarios, tmp_path):
    view, target, other = scenarios[0].view(), scenarios[0].target(), another_target(scenarios[0])
    path = tmp_path / ROLLOUTS_FILE
    executor = PhysicsExecutor()
    resets = counting_resets(executor)
    try:
        executor.use_rollouts(path)
        first = executor.execute(view, target, seed=3)
        assert executor.execute(view, target, seed=3) == first
        executor.execute(view, other, seed=3)
        executor.execute(view, target, seed=4)  # another scene: simulated
        assert len(resets) == 3
        second = PhysicsExecutor()  # another worker process opens the same file
        second_resets = counting_resets(second)
        try:
            second.use_rollouts(path)
            assert second.execute(view, target, seed=3) == first
            assert second_resets == []
        finally:
            second.close()
    finally:
        executor.close()


@pytest.mark.parametrize(
    "options",
    [dict(gui=True), dict(record="videos"), dict(driver="remote"), dict(sim="none"), dict(reuse_rollouts=False)],
)
def test_watched_remote_or_opted_out_rollouts_are_never_looked_up(options):
    assert RunConfig().caches_rollouts()
    assert not RunConfig(**options).caches_rollouts()


def test_scenes_differ_by_scenario_and_people_by_pass():
    assert protocol.scene_seed(0, "alex", 1, 5) != protocol.scene_seed(0, "alex", 1, 6)
    assert protocol.scene_seed(0, "alex", 1, 5) != protocol.scene_seed(0, "alex", 3, 5)
    assert protocol.scene_seed(0, "alex", 1, 5) != protocol.scene_seed(1, "alex", 1, 5)
    assert len({protocol.episode_seed(0, "alex", 1, pass_index, 5) for pass_index in (1, 2, 3)}) == 3


def test_a_cached_run_writes_the_records_an_uncached_run_writes(tmp_path):
    bench = small_benchmark(tmp_path / "bench", per_phase=2)
    base = dict(scenarios=str(bench), modes=["pahf", "no-memory"], phases=[1, 2], learning_iter=2, seed=3, workers=1)
    cached = run(RunConfig(**base), tmp_path / "cached", progress=False)
    fresh = run(RunConfig(**base, reuse_rollouts=False), tmp_path / "fresh", progress=False)
    records = read_episodes(tmp_path / "cached" / EPISODES_FILE)
    assert comparable(records) == comparable(read_episodes(tmp_path / "fresh" / EPISODES_FILE))
    assert len(records) == 2 * 2 * (2 * 2 + 2)
    scenes = {}
    for r in records:  # one table per scenario, in every mode and pass
        scenes.setdefault((r["user"], r["phase"], r["index"]), set()).add(r["seed"])
    assert all(len(seeds) == 1 for seeds in scenes.values())
    distinct = {(r["seed"], r["target"]["object"], r["target"]["place"]) for r in records}
    assert cached["physics"] == {"rollouts_simulated": len(distinct), "outcomes_reused": len(records) - len(distinct)}
    assert len(distinct) < len(records)
    assert fresh["physics"] == {"rollouts_simulated": len(records), "outcomes_reused": 0}
    assert not (tmp_path / "fresh" / ROLLOUTS_FILE).exists()
