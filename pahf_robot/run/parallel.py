"""Personas sharded over worker processes (`--workers N`) or Ray actors (`--executor ray`).

Units are (mode, user) pairs: a user's phases are sequential because memory carries over, users are
independent. Worker processes take a user's units together, one after another: the persona's texts are
then embedded once, and its rollouts simulated once (`pahf_robot.act.rollouts`), in one process, not in
every process that happens to take one of its modes. Ray actors still take one unit at a time. Every
episode has its own seeds and memory records carry no database-wide ids, so the records equal a
sequential run's. Records stream back through a queue as they happen, so `--resume`
works as in a sequential run. A unit that fails is reported with its persona; the others go on. Worker
processes and the queue's manager die with the run's process (`die_with_parent`), even when it is killed.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue as queue_module
import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing.managers import SyncManager
from pathlib import Path

from pahf_robot.bench.scenarios import Benchmark
from pahf_robot.run.config import RunConfig
from pahf_robot.run.records import EpisodeKey, EpisodeRecord
from pahf_robot.run.worker import Worker, unit_failure

log = logging.getLogger(__name__)


class UnitRunner:
    """A Worker in a process or Ray actor whose records go to a queue the parent process drains."""

    def __init__(self, config: RunConfig, sink, benchmark: Benchmark | None = None):
        self.worker = Worker(config, benchmark)
        self.sink = sink

    def run_unit(self, mode: str, user: str, run_dir: str, done: set[EpisodeKey]) -> None:
        self.worker.run_unit(mode, user, Path(run_dir), done, self.sink.put)

    def run_units(self, units: list[tuple[str, str]], run_dir: str, done: set[EpisodeKey]) -> list[dict]:
        return self.worker.run_units(units, Path(run_dir), done, self.sink.put)


def _drain(records, on_record: Callable[[EpisodeRecord], None], timeout: float) -> None:
    try:
        on_record(records.get(timeout=timeout))
        while True:
            on_record(records.get_nowait())
    except queue_module.Empty:
        pass


_process_runner: UnitRunner | None = None
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), so a killed run leaves no worker
    writing memory behind it; elsewhere, or if the parent is already gone, exit now."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        log.debug("no prctl here: workers cannot be tied to their parent")
    if os.getppid() != parent:
        os._exit(1)


def _init_process(config: RunConfig, records, parent: int, benchmark: Benchmark | None) -> None:
    global _process_runner
    die_with_parent(parent)
    _process_runner = UnitRunner(config, records, benchmark)


def _run_user_in_process(user: str, modes: list[str], run_dir: str, done: set[EpisodeKey]) -> list[dict]:
    """One user's units in this worker; a failing unit is reported and the user's other modes still run."""
    return _process_runner.run_units([(mode, user) for mode in modes], run_dir, done)


def _unit_done(done: set[EpisodeKey], mode: str, user: str) -> set[EpisodeKey]:
    return {k for k in done if k[:2] == (mode, user)}


def by_user(units: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The units' modes per user, in the units' order."""
    modes: dict[str, list[str]] = {}
    for mode, user in units:
        modes.setdefault(user, []).append(mode)
    return modes


def run_parallel(
    config: RunConfig,
    units: list[tuple[str, str]],
    run_dir: Path,
    done: set[EpisodeKey],
    on_record: Callable[[EpisodeRecord], None],
    benchmark: Benchmark | None = None,
) -> list[dict]:
    """Run the units on the configured executor; returns the units that failed, with their error. Workers
    get the parent's `benchmark` (loaded and checked once, its warnings said once) when it is given."""
    if config.executor == "ray":
        return _run_on_ray(config, units, run_dir, done, on_record, benchmark)
    context = multiprocessing.get_context("spawn")
    failures: list[dict] = []
    manager = SyncManager(ctx=context)
    manager.start(die_with_parent, (os.getpid(),))
    with manager:
        records = manager.Queue()
        with ProcessPoolExecutor(
            config.worker_count(),
            mp_context=context,
            initializer=_init_process,
            initargs=(config, records, os.getpid(), benchmark),
        ) as pool:
            pending = {
                pool.submit(_run_user_in_process, user, modes, str(run_dir), {k for k in done if k[1] == user}): (
                    user,
                    modes,
                )
                for user, modes in by_user(units).items()
            }
            while pending:
                _drain(records, on_record, timeout=0.2)
                finished, _ = wait(list(pending), timeout=0, return_when=FIRST_COMPLETED)
                for future in finished:
                    user, modes = pending.pop(future)
                    if future.exception() is None:
                        failures += future.result()
                    else:  # the worker process itself died: none of the user's units is known to be whole
                        failures += [unit_failure(mode, user, future.exception()) for mode in modes]
        _drain(records, on_record, timeout=0.5)
    return failures


def _run_on_ray(
    config: RunConfig,
    units: list[tuple[str, str]],
    run_dir: Path,
    done: set[EpisodeKey],
    on_record: Callable[[EpisodeRecord], None],
    benchmark: Benchmark | None = None,
) -> list[dict]:
    """Same sharding on Ray actors; on a cluster, the run directory must be on a shared filesystem."""
    try:
        import ray
        from ray.util.queue import Queue
    except ImportError:
        raise ValueError("--executor ray: Ray is not installed (pip install '.[ray]')") from None
    workers = config.worker_count()
    if config.ray_address:
        ray.init(address=config.ray_address, log_to_driver=False)
    else:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    failures: list[dict] = []
    try:
        records = Queue()
        actor_class = ray.remote(num_cpus=1)(UnitRunner)
        idle = [actor_class.remote(config, records, benchmark) for _ in range(workers)]
        todo = list(units)
        running: dict = {}
        while todo or running:
            while todo and idle:
                mode, user = todo.pop(0)
                actor = idle.pop()
                ref = actor.run_unit.remote(mode, user, str(run_dir.resolve()), _unit_done(done, mode, user))
                running[ref] = (actor, mode, user)
            _drain(records, on_record, timeout=0.2)
            ready, _ = ray.wait(list(running), num_returns=len(running), timeout=0)
            for ref in ready:
                actor, mode, user = running.pop(ref)
                try:
                    ray.get(ref)
                    idle.append(actor)
                except Exception as error:  # noqa: BLE001 - any worker failure is reported, not fatal
                    failures.append(unit_failure(mode, user, error))
                    idle.append(actor_class.remote(config, records, benchmark))
        _drain(records, on_record, timeout=0.5)
    finally:
        ray.shutdown()
    return failures
