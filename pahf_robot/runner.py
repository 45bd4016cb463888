"""The main job: run the protocol for every mode and user, stream records, then score and plot.

Records are appended and flushed one by one to `episodes.jsonl`, which is what makes `--resume` possible:
a rerun skips every episode already on disk and keeps the memory databases of the interrupted run.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from memory.embedders import EMBEDDERS
from pahf_robot.execution import make_executor
from pahf_robot.llm import llm_totals, preflight
from pahf_robot.metrics import summarise
from pahf_robot.protocol import (
    RunConfig,
    completed_keys,
    config_from_dict,
    count_episodes,
    ordered_units,
    run_user,
)
from pahf_robot.scenarios import load_benchmark

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
EPISODES_FILE = "episodes.jsonl"
RESULTS_FILE = "results.json"
EMBEDDING_CACHE = 1 << 16
"""Large enough to hold every text of the bundled benchmark, so each is embedded once per run."""


def make_reasoner(config: RunConfig, embedder):
    if config.reasoner == "offline":
        from pahf_robot.offline_reasoner import OfflineReasoner

        return OfflineReasoner(embedder)
    if config.reasoner == "llm":
        from pahf_robot.llm import shared_client
        from pahf_robot.llm.reasoner import LLMReasoner

        return LLMReasoner(shared_client(config.model, config.base_url))
    raise ValueError(f"--reasoner: unknown reasoner {config.reasoner!r} (choose from offline, llm)")


def read_records(path: Path) -> list[dict]:
    """Records already written; a last line cut short by a kill is dropped, not fatal."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("%s: ignoring a truncated last record", path)
    return records


def load_resumed_config(run_dir: Path) -> RunConfig:
    path = run_dir / CONFIG_FILE
    if not path.exists():
        raise ValueError(f"--resume {run_dir}: no {CONFIG_FILE} there, so it is not a run directory")
    return config_from_dict(json.loads(path.read_text()))


def build_worker(config: RunConfig):
    """The per-process pieces: embedder, reasoner and one executor (one PyBullet client)."""
    embedder = EMBEDDERS[config.embedder](cache_size=EMBEDDING_CACHE)
    return embedder, make_reasoner(config, embedder), make_executor(config)


def run_sequential(config, benchmark, units, run_dir, done, on_record) -> list[dict]:
    """Units one after another in this process; a failing unit is reported and the others still run."""
    embedder, reasoner, executor = build_worker(config)
    failures = []
    try:
        for mode, user in units:
            try:
                run_user(mode, user, config, benchmark, reasoner, embedder, executor, run_dir, done, on_record)
            except Exception as error:  # noqa: BLE001 - reported per persona, like a crashed worker
                log.error("persona %s (mode %s) failed: %s", user, mode, error)
                failures.append({"mode": mode, "user": user, "error": f"{type(error).__name__}: {error}"})
    finally:
        executor.close()
    return failures


def run(config: RunConfig, run_dir: Path, progress: bool = True) -> dict:
    """Run (or continue) the protocol into `run_dir` and return the results written to results.json."""
    benchmark = load_benchmark(Path(config.scenarios) if config.scenarios else None)
    config.validate(benchmark)
    preflight(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / CONFIG_FILE).write_text(json.dumps(asdict(config), indent=2) + "\n")
    episodes_path = run_dir / EPISODES_FILE
    previous = read_records(episodes_path)
    done = completed_keys(previous)
    units = ordered_units(config, benchmark)
    users = sorted({user for _, user in units})
    total = count_episodes(config, benchmark, users)

    started = time.perf_counter()
    records = list(previous)
    with episodes_path.open("a") as sink, tqdm(
        total=total, initial=len(done), desc="episodes", unit="ep", disable=not progress
    ) as bar:

        def on_record(record: dict) -> None:
            sink.write(json.dumps(record, sort_keys=True) + "\n")
            sink.flush()
            records.append(record)
            bar.update(1)

        if config.worker_count() > 1 or config.executor == "ray":
            from pahf_robot.parallel import run_parallel

            failures = run_parallel(config, units, run_dir, done, on_record)
        else:
            failures = run_sequential(config, benchmark, units, run_dir, done, on_record)

    results = {
        "modes": summarise(records),
        "episodes": len(records),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "config": asdict(config),
        "benchmark": benchmark.source,
    }
    if llm := llm_totals(records):
        results["llm"] = llm
    if failures:
        results["failed"] = failures
    (run_dir / RESULTS_FILE).write_text(json.dumps(results, indent=2) + "\n")
    from pahf_robot.plots import write_plots

    write_plots(results, run_dir)
    return results


def format_table(results: dict) -> str:
    """Mode x phase task success, plus the ACPE of the last learning pass and total cumulative error."""
    modes = results["modes"]
    phases = sorted({p for m in modes.values() for p in m["phases"]})
    header = f"{'mode':<10}" + "".join(f"{'phase ' + p:>10}" for p in phases) + f"{'ACPE 1':>9}{'ACPE 3':>9}{'cum.err':>9}"
    lines = [header, "-" * len(header)]
    for mode, m in modes.items():
        cells = "".join(f"{m['phases'][p]['success_rate']:>10.3f}" if p in m["phases"] else f"{'-':>10}" for p in phases)
        acpe = "".join(f"{m['acpe'][p][-1]:>9.3f}" if m["acpe"].get(p) else f"{'-':>9}" for p in ("1", "3"))
        lines.append(f"{mode:<10}{cells}{acpe}{m['total_cumulative_error']:>9.2f}")
    return "\n".join(lines)
