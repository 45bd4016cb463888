"""A new user's first run: a quiet console, memory never reused by accident, database paths that line up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pahf_robot.run.records import EPISODES_FILE
from tests.conftest import read_episodes, small_benchmark

BANNER = "pybullet build time"
SMALL = ["--modes", "pahf", "--personas", "alex", "--phases", "1", "--learning-iter", "1", "--embedder", "hashing"]


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    return small_benchmark(tmp_path_factory.mktemp("bench"), per_phase=2)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pahf_robot.cli", *args], capture_output=True, text=True, check=False, cwd=cwd
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


# --- a quiet console ---
def test_building_a_pybullet_driver_prints_no_banner():
    probe = "import envs.bullet_driver as b; d = b.PyBulletDriver(); d.close(); print('built')"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout == "built\n" and result.stderr == "", (result.stdout, result.stderr)


def test_a_physics_run_prints_the_table_and_nothing_from_c(bench, tmp_path):
    result = cli("run", *SMALL, "--scenarios", str(bench), "--workers", "2", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert BANNER not in result.stdout + result.stderr
    assert "argv[0]" not in result.stdout + result.stderr


def test_quiet_hides_progress_and_warnings_verbose_shows_info(bench, tmp_path):
    quiet = cli("-q", "run", *SMALL, "--sim", "none", "--scenarios", str(bench), "--out", str(tmp_path / "q"))
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert quiet.stdout.splitlines()[0].startswith("mode")
    loud = cli("-v", "run", *SMALL, "--sim", "none", "--scenarios", str(bench), "--out", str(tmp_path / "v"))
    assert loud.returncode == 0 and "INFO" in loud.stderr, loud.stderr
    both = cli("-q", "-v", "run")
    assert both.returncode == 2 and "not allowed with" in both.stderr


def decide_only(bench: Path, out: Path, *options: str):
    """A decisions-only run of the small benchmark into `out`, with more options."""
    return cli("run", *SMALL, "--sim", "none", "--scenarios", str(bench), "--out", str(out), "--no-progress", *options)


# --- memory is never reused by accident ---
def test_an_existing_memory_db_is_refused_unless_reused_or_resumed(bench, tmp_path):
    db = tmp_path / "mem.db"
    first = decide_only(bench, tmp_path / "a", "--memory-db", str(db))
    assert first.returncode == 0, first.stderr
    assert json.loads((tmp_path / "a" / "config.json").read_text())["memory_start"] == "new"
    before = (tmp_path / "mem.pahf.db").read_bytes()

    again = decide_only(bench, tmp_path / "b", "--memory-db", str(db))
    line = one_error_line(again)
    assert "--memory-db" in line and "mem.pahf.db" in line and "--reuse-memory" in line
    assert not (tmp_path / "b").exists() and (tmp_path / "mem.pahf.db").read_bytes() == before

    reused = decide_only(bench, tmp_path / "c", "--memory-db", str(db), "--reuse-memory")
    assert reused.returncode == 0, reused.stderr
    saved = json.loads((tmp_path / "c" / "config.json").read_text())
    assert saved["memory_start"] == "reused" and saved["reuse_memory"] is True

    resumed = cli("run", "--resume", str(tmp_path / "a"), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    assert saved["memory_start"] == "new" and saved["resumed"] == 1


def test_resume_refuses_other_options_instead_of_ignoring_them(bench, tmp_path):
    run_dir = tmp_path / "run"
    assert cli("run", *SMALL, "--sim", "none", "--scenarios", str(bench), "--out", str(run_dir)).returncode == 0
    line = one_error_line(cli("run", "--resume", str(run_dir), "--modes", "no-memory", "--seed", "3"))
    assert "--resume" in line and "--modes" in line and "--seed" in line


def test_memory_commands_find_what_a_run_wrote(bench, tmp_path):
    """`--memory-db X.db` writes X.pahf.db; `memory show --db X.db` reads it, and so does the run directory."""
    db = tmp_path / "X.db"
    run_dir = tmp_path / "run"
    assert decide_only(bench, run_dir, "--memory-db", str(db)).returncode == 0
    shown = cli("memory", "show", "--user", "alex", "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    assert "X.pahf.db" in shown.stdout.splitlines()[0] and "active notes" in shown.stdout
    explicit = cli("memory", "show", "--user", "alex", "--db", str(db), "--mode", "pahf")
    assert explicit.stdout == shown.stdout

    own = tmp_path / "own"
    assert cli("run", *SMALL, "--sim", "none", "--scenarios", str(bench), "--out", str(own)).returncode == 0
    from_dir = cli("memory", "show", "--user", "alex", "--db", str(own))
    assert from_dir.returncode == 0 and str(own / "memory" / "pahf.db") in from_dir.stdout
    assert len(read_episodes(own / EPISODES_FILE)) == 2

    line = one_error_line(cli("memory", "show", "--user", "alex", "--db", str(tmp_path / "nothing.db")))
    assert "nothing.db" in line
