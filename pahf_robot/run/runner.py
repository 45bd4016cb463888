"""The main job: run the protocol for every mode and user, stream records, then score and plot.

Records are appended and flushed one by one to `episodes.jsonl`, which is what makes `--resume` possible:
a rerun skips every episode already on disk and keeps the memory databases of the interrupted run.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from envs.layout import MAX_OBJECTS, MAX_PLACES
from pahf_robot.act.rollouts import count_rollouts
from pahf_robot.bench.scenarios import PHASE_FILES, Benchmark
from pahf_robot.run.config import RunConfig, one_line
from pahf_robot.run.metrics import llm_totals, summarise
from pahf_robot.run.parallel import run_parallel
from pahf_robot.run.plots import write_plots
from pahf_robot.run.protocol import completed_keys, count_episodes, memory_path, ordered_units, uses_memory
from pahf_robot.run.records import EPISODES_FILE, EpisodeRecord, cut_partial_line, memory_written, read_records
from pahf_robot.run.worker import Worker, load_run_benchmark, preflight

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
RESULTS_FILE = "results.json"
SKIPPED_FILE = "skipped_scenarios.json"
"""Every scenario a lenient load left out, with its file and reason (the warning only counts them)."""


def load_run_config(run_dir: Path, flag: str = "--resume") -> RunConfig:
    """The configuration a run directory was written with; `flag` names the option that pointed at it."""
    path = run_dir / CONFIG_FILE
    if not path.exists():
        where = f"{flag} {run_dir}" if flag else str(run_dir)
        raise ValueError(f"{where}: no {CONFIG_FILE} there, so it is not a run directory")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"{path}: not a readable run configuration (cut short or not JSON: {exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of run options, got {type(data).__name__}")
    try:
        return RunConfig.from_dict(data)
    except ValidationError as exc:
        raise ValueError(f"{path}: " + one_line(exc, lambda field: f"field '{field}'")) from None


def run_sequential(config, benchmark, units, run_dir, done, on_record) -> list[dict]:
    """Units one after another in this process; a failing unit is reported and the others still run."""
    worker = Worker(config, benchmark)
    try:
        return worker.run_units(units, run_dir, done, on_record)
    finally:
        worker.close()


def check_buildable(benchmark: Benchmark, config: RunConfig) -> None:
    """Scenes the physics cannot build (more objects or places than the table holds, one name twice) are
    refused before any episode, naming file, scenario and field, instead of failing a persona mid-run."""
    for phase in config.phases:
        for scenario in benchmark.scenarios.get(phase, []):
            if config.personas and scenario.user not in config.personas:
                continue
            where = f"{Path(benchmark.source) / PHASE_FILES[phase]}: scenario {scenario.index}: field 'scene_objects'"
            names = [*scenario.objects, *scenario.places]
            twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
            if twice is not None:
                raise ValueError(f"{where}: '{twice}' is named twice; the physics scene needs distinct names")
            if len(scenario.objects) > MAX_OBJECTS or len(scenario.places) > MAX_PLACES:
                raise ValueError(
                    f"{where}: {len(scenario.objects)} objects and {len(scenario.places)} places; the table holds "
                    f"at most {MAX_OBJECTS} objects and {MAX_PLACES} places (or run with --sim none)"
                )


def memory_start(config: RunConfig, run_dir: Path, resume: bool) -> str:
    """How this run's memory begins: "new" (empty), "reused" (--reuse-memory on an existing --memory-db) or
    "resumed". An existing --memory-db without --reuse-memory or --resume is refused in one line, so a run
    never starts from an earlier run's memory by accident."""
    if resume:
        return "resumed"
    if not config.memory_db:
        return "new"
    base = Path(config.memory_db)
    existing = [
        p for p in [base] + [memory_path(run_dir, config, m) for m in config.modes if uses_memory(m)] if p.exists()
    ]
    if not existing:
        return "new"
    if config.reuse_memory:
        return "reused"
    raise ValueError(
        f"--memory-db {base}: {existing[0]} already holds memory; pass --reuse-memory to start from it, "
        "--resume RUN_DIR to continue its run, or name a new file"
    )


def check_memory_in_step(run_dir: Path, done: set, accept: bool) -> None:
    """Refuse to resume when memory holds episodes the records do not (a kill between an episode's memory
    write and its record, or workers that outlived their run): continuing would learn them twice."""
    ahead = sorted(memory_written(run_dir) - done)
    if not ahead:
        return
    mode, user, phase, pass_index, index = ahead[0]
    what = (
        f"memory holds {len(ahead)} episode(s) missing from {EPISODES_FILE} (first: {mode} {user} phase "
        f"{phase} pass {pass_index} scenario {index})"
    )
    if accept:
        log.warning("%s: %s; continuing as asked (--reuse-memory): their notes count twice", run_dir, what)
        return
    raise ValueError(
        f"--resume {run_dir}: {what}; the run was cut between a memory write and its record, so continuing "
        "would learn them twice; start a new run, or add --reuse-memory to continue anyway"
    )


def write_config(config: RunConfig, run_dir: Path, start: str) -> None:
    """config.json: the options, how memory began (`memory_start`) and how often the run was resumed."""
    path = run_dir / CONFIG_FILE
    saved = {**config.to_dict(), "memory_start": start if start != "resumed" else "new", "resumed": 0}
    if start == "resumed" and path.exists():
        try:
            before = json.loads(path.read_text())
            saved["memory_start"] = before.get("memory_start", "new")
            saved["resumed"] = int(before.get("resumed", 0)) + 1
        except (ValueError, TypeError):
            saved["resumed"] = 1
    path.write_text(json.dumps(saved, indent=2) + "\n")


def run(config: RunConfig, run_dir: Path, progress: bool = True, resume: bool = False) -> dict:
    """Run (or continue, with `resume`) the protocol into `run_dir`; returns the results written to results.json."""
    benchmark = load_run_benchmark(config)
    config.check_usable(benchmark)
    if config.sim == "pybullet":
        check_buildable(benchmark, config)
    start = memory_start(config, run_dir, resume)
    preflight(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_config(config, run_dir, start)
    if benchmark.skipped:
        rows = [{"file": s.file, "index": s.index, "why": s.why} for s in benchmark.skipped]
        (run_dir / SKIPPED_FILE).write_text(json.dumps(rows, indent=1) + "\n")
    log.info("run directory %s; memory starts %s", run_dir, start)
    episodes_path = run_dir / EPISODES_FILE
    cut_partial_line(episodes_path)
    previous = read_records(episodes_path)
    done = completed_keys(previous)
    if resume:
        check_memory_in_step(run_dir, done, accept=config.reuse_memory)
    units = ordered_units(config, benchmark)
    users = sorted({user for _, user in units})
    total = count_episodes(config, benchmark, users)

    started = time.perf_counter()
    records = list(previous)
    with (
        episodes_path.open("a") as sink,
        tqdm(total=total, initial=len(done), desc="episodes", unit="ep", disable=not progress) as bar,
    ):

        def on_record(record: EpisodeRecord) -> None:
            sink.write(record.to_json() + "\n")
            sink.flush()
            records.append(record)
            bar.update(1)

        if config.worker_count() > 1 or config.executor == "ray":
            failures = run_parallel(config, units, run_dir, done, on_record, benchmark)
        else:
            failures = run_sequential(config, benchmark, units, run_dir, done, on_record)

    results = {
        "modes": summarise(records),
        "episodes": len(records),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "config": config.to_dict(),
        "benchmark": benchmark.source,
    }
    if llm := llm_totals(records):
        results["llm"] = llm
    if config.sim == "pybullet":
        simulated = count_rollouts(run_dir)
        results["physics"] = {
            "rollouts_simulated": len(records) if simulated is None else simulated,
            "outcomes_reused": 0 if simulated is None else len(records) - simulated,
        }
    if failures:
        results["failed"] = failures
    (run_dir / RESULTS_FILE).write_text(json.dumps(results, indent=2) + "\n")
    write_plots(results, run_dir)
    return results


def format_table(results: dict) -> str:
    """Mode x phase task success, plus the ACPE of the last learning pass and total cumulative error."""
    modes = results["modes"]
    phases = sorted({p for m in modes.values() for p in m["phases"]})
    header = f"{'mode':<10}" + "".join(f"{'phase ' + p:>10}" for p in phases)
    header += f"{'ACPE 1':>9}{'ACPE 3':>9}{'cum.err':>9}"
    lines = [header, "-" * len(header)]
    for mode, m in modes.items():
        cells = "".join(
            f"{m['phases'][p]['success_rate']:>10.3f}" if p in m["phases"] else f"{'-':>10}" for p in phases
        )
        acpe = "".join(f"{m['acpe'][p][-1]:>9.3f}" if m["acpe"].get(p) else f"{'-':>9}" for p in ("1", "3"))
        lines.append(f"{mode:<10}{cells}{acpe}{m['total_cumulative_error']:>9.2f}")
    return "\n".join(lines)
