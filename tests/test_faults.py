"""What the fault probes broke: kills mid-run, cut files, and the resume that follows them. Real processes,
real files, real SQLite; every wait is on state (a file's lines, a process's existence), never on time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pahf_robot.run.records import EPISODES_FILE, MEMORY_LOG, memory_written
from tests.conftest import comparable, read_episodes, small_benchmark

PAHF_ROBOT = str(Path(sys.executable).with_name("pahf-robot"))
FAST = ["--sim", "none", "--embedder", "hashing", "--no-progress", "--personas", "alex,bo", "--phases", "1,2"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    return small_benchmark(tmp_path_factory.mktemp("bench"), per_phase=3)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PAHF_ROBOT, *args], capture_output=True, text=True, check=False, timeout=300)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def pause() -> None:
    threading.Event().wait(0.01)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- item 9: a cut last line ---
def test_a_cut_last_line_is_trimmed_before_resume_appends(bench, tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert cli("run", *FAST, "--modes", "no-memory", "--scenarios", str(bench), "--out", str(whole)).returncode == 0
    assert cli("run", *FAST, "--modes", "no-memory", "--scenarios", str(bench), "--out", str(cut)).returncode == 0
    lines = (cut / EPISODES_FILE).read_text().splitlines(keepends=True)
    (cut / EPISODES_FILE).write_text("".join(lines[:5]) + lines[5][: len(lines[5]) // 2])  # killed mid-write

    for _ in range(2):  # a second resume must find a clean file too
        resumed = cli("run", "--resume", str(cut), "--no-progress")
        assert resumed.returncode == 0, resumed.stderr
        assert comparable(read_episodes(cut / EPISODES_FILE)) == comparable(read_episodes(whole / EPISODES_FILE))


# --- item 1: memory ahead of the records, workers outliving their parent ---
def test_resume_refuses_memory_written_ahead_of_the_records(bench, tmp_path):
    run_dir = tmp_path / "run"
    assert cli("run", *FAST, "--modes", "pahf", "--scenarios", str(bench), "--out", str(run_dir)).returncode == 0
    written = memory_written(run_dir)
    assert written, f"pahf episodes log their memory writes in {MEMORY_LOG}"
    lines = (run_dir / EPISODES_FILE).read_text().splitlines(keepends=True)
    dropped = lines.index(next(line for line in reversed(lines) if json.loads(line)["memory_ops"]))
    (run_dir / EPISODES_FILE).write_text("".join(lines[:dropped] + lines[dropped + 1 :]))  # killed before the flush

    line = one_error_line(cli("run", "--resume", str(run_dir), "--no-progress"))
    assert "memory holds 1 episode" in line and "--reuse-memory" in line
    anyway = cli("run", "--resume", str(run_dir), "--reuse-memory", "--no-progress")
    assert anyway.returncode == 0, anyway.stderr
    assert len(read_episodes(run_dir / EPISODES_FILE)) == len(lines)


def test_killing_the_run_kills_its_workers(tmp_path):
    """Physics and the full benchmark for two personas: each worker has minutes of work when the run dies."""
    run_dir = tmp_path / "run"
    args = ["run", "--modes", "pahf", "--personas", "alex,bo", "--workers", "2", "--embedder", "hashing"]
    proc = subprocess.Popen(
        [PAHF_ROBOT, *args, "--no-progress", "--out", str(run_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    episodes = run_dir / EPISODES_FILE
    while proc.poll() is None and (not episodes.exists() or episodes.read_text().count("\n") < 4):
        pause()
    assert proc.poll() is None, "the run ended before it could be killed"
    workers = children(proc.pid)
    assert len(workers) >= 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for _ in range(6000):  # a guard against a hang, not a measure: dead workers are gone at once
        if not any(alive(pid) for pid in workers):
            break
        pause()
    survivors = [pid for pid in workers if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "worker processes outlived the run"

    ahead = memory_written(run_dir) - {tuple(r[k] for k in ("mode", "user", "phase", "pass", "index"))
                                        for r in read_episodes(episodes)}
    assert len(ahead) <= 2, "at most the episode each worker had in hand when the run died"
    if ahead:  # the in-hand episodes wrote memory: resume says so instead of learning them twice
        assert "memory holds" in one_error_line(cli("run", "--resume", str(run_dir), "--no-progress"))
