"""`--workers N`: (mode, user) units sharded over processes, one PyBullet client and embedder each.

Units are independent (each user's phases are sequential, users are not), every episode has its own seed,
and memory records carry no database-wide ids, so the records equal a sequential run's. Records stream back
through a queue as they happen, so `--resume` works the same as in a sequential run.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue as queue_module
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from pahf_robot.protocol import RunConfig, run_user

log = logging.getLogger(__name__)

_worker: dict = {}


def _init_worker(config: RunConfig, records) -> None:
    from pahf_robot.runner import build_worker
    from pahf_robot.scenarios import load_benchmark

    _worker["config"] = config
    _worker["benchmark"] = load_benchmark(Path(config.scenarios) if config.scenarios else None)
    _worker["embedder"], _worker["reasoner"], _worker["executor"] = build_worker(config)
    _worker["records"] = records


def _run_unit(mode: str, user: str, run_dir: str, done: set[tuple]) -> None:
    w = _worker
    run_user(mode, user, w["config"], w["benchmark"], w["reasoner"], w["embedder"], w["executor"], Path(run_dir),
             done, w["records"].put)


def run_parallel(
    config: RunConfig, units: list[tuple[str, str]], run_dir: Path, done: set[tuple], on_record: Callable[[dict], None]
) -> list[dict]:
    """Run the units on `config.workers` processes; returns the units that failed, with their error."""
    context = multiprocessing.get_context("spawn")
    failures: list[dict] = []
    with context.Manager() as manager:
        records = manager.Queue()

        def drain(timeout: float) -> None:
            try:
                on_record(records.get(timeout=timeout))
                while True:
                    on_record(records.get_nowait())
            except queue_module.Empty:
                pass

        with ProcessPoolExecutor(
            config.worker_count(), mp_context=context, initializer=_init_worker, initargs=(config, records)
        ) as pool:
            pending = {
                pool.submit(_run_unit, mode, user, str(run_dir), {k for k in done if k[:2] == (mode, user)}): (mode, user)
                for mode, user in units
            }
            futures = dict(pending)
            while pending:
                drain(timeout=0.2)
                finished, _ = wait(list(pending), timeout=0, return_when=FIRST_COMPLETED)
                for future in finished:
                    pending.pop(future)
                    error = future.exception()
                    if error is not None:
                        mode, user = futures[future]
                        log.error("worker running persona %s (mode %s) failed: %s", user, mode, error)
                        failures.append({"mode": mode, "user": user, "error": f"{type(error).__name__}: {error}"})
        drain(timeout=0.5)
    return failures
