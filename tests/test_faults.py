"""What the fault probes broke: kills mid-run, cut files, and the resume that follows them. Real processes,
real files, real SQLite; every wait is on state (a file's lines, a process's existence), never on time."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pytest

from memory.embedders import HashingEmbedder
from memory.policy import Fact, MemoryDecision, apply
from memory.store import MemoryStore
from memory.vector_index import VectorIndex
from pahf_robot.bench.personas import load_persona
from pahf_robot.bench.scenarios import PHASE_FILES
from pahf_robot.core.errors import InputError
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

    ahead = memory_written(run_dir) - {
        tuple(r[k] for k in ("mode", "user", "phase", "pass", "index")) for r in read_episodes(episodes)
    }
    assert len(ahead) <= 2, "at most the episode each worker had in hand when the run died"
    if ahead:  # the in-hand episodes wrote memory: resume says so instead of learning them twice
        assert "memory holds" in one_error_line(cli("run", "--resume", str(run_dir), "--no-progress"))


# --- the memory commands: forget that was killed, read-only inspection, foreign files ---
def memory_cli(*args) -> subprocess.CompletedProcess:
    return cli("memory", *[str(a) for a in args])


@pytest.fixture
def store_path(tmp_path) -> Path:
    path = tmp_path / "memory.db"
    with MemoryStore(path, HashingEmbedder()) as store:
        store.add("alex", "I am sleepy", "object", "herbal tea", "Alex wants tea.\x1b[2J\x07", "clarification")
        store.add("alex", "Put the mug away", "place", "top shelf", "Mugs go up.", "feedback")
        store.add("bo", "I am sleepy", "object", "cola", "Bo wants cola.", "feedback")
    return path


def index_ids(path: Path) -> set[int]:
    return set(VectorIndex.load(path.with_name(path.name + ".faiss"), HashingEmbedder().dim).ids().tolist())


def test_a_forget_killed_after_its_delete_is_finished_by_the_next_one(store_path):
    with closing(sqlite3.connect(store_path)) as db, db:
        alex = {row[0] for row in db.execute("SELECT id FROM notes WHERE user_id = 'alex'")}
        db.execute("DELETE FROM notes WHERE user_id = 'alex'")  # what the killed forget had committed
    stale = store_path.with_name(store_path.name + ".faiss.k1ll3d.tmp")
    stale.write_bytes(b"\0" * 4096)  # the copy of the index it was writing
    assert alex <= index_ids(store_path)

    again = memory_cli("forget", "--user", "alex", "--db", store_path)
    assert "no memories of user 'alex'" in one_error_line(again)
    assert not alex & index_ids(store_path) and len(index_ids(store_path)) == 1  # bo's note stays
    assert not stale.exists()


def test_inspecting_memory_writes_nothing(store_path):
    files = sorted(store_path.parent.iterdir())
    before = {p: p.read_bytes() for p in files}
    for command in (
        ["show", "--user", "alex"],
        ["export", "--user", "alex"],
        ["stats"],
        ["stats", "--embedder", "hashing"],
    ):
        assert memory_cli(*command, "--db", store_path).returncode == 0
    assert sorted(store_path.parent.iterdir()) == files
    assert {p: p.read_bytes() for p in files} == before


def test_show_spells_out_control_characters(store_path):
    shown = memory_cli("show", "--user", "alex", "--db", store_path)
    assert shown.returncode == 0 and "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "\\x1b[2J\\x07" in shown.stdout


def test_foreign_and_newer_databases_are_refused_unchanged(store_path, tmp_path):
    foreign = tmp_path / "photos.db"
    with closing(sqlite3.connect(foreign)) as db, db:
        db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    newer = store_path
    with closing(sqlite3.connect(newer)) as db, db:
        db.execute("UPDATE meta SET value = '9' WHERE key = 'schema'")
    for path, problem in ((foreign, "not a memory store"), (newer, "schema '9'")):
        before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
        for command in (["stats"], ["stats", "--embedder", "hashing"], ["forget", "--user", "alex"]):
            line = one_error_line(memory_cli(*command, "--db", path))
            assert str(path) in line and problem in line
        with pytest.raises(ValueError, match=problem):
            MemoryStore(path, HashingEmbedder())
        assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before


def test_bad_files_are_one_line_naming_the_file(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all " * 200)
    assert "junk.db" in one_error_line(memory_cli("stats", "--db", junk))
    launch = tmp_path / "launch.yaml"
    launch.write_bytes(b"sim: none\nmodes: [\xff\xfe]\n")
    assert "launch.yaml" in one_error_line(cli("run", "--config", str(launch)))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text('{"modes": ["pahf"], "learning_it')
    assert "config.json" in one_error_line(cli("run", "--resume", str(run_dir)))
    (run_dir / "config.json").write_text('{"learning_iter": "3"}')
    line = one_error_line(cli("run", "--resume", str(run_dir)))
    assert "config.json" in line and "learning_iter" in line


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--personas", "alex,alex"], "'alex' is listed twice"),
        (["--phases", "1,1"], "1 is listed twice"),
        (["--phases", ","], "names nothing"),
        (["--modes", ","], "names nothing"),
    ],
)
def test_lists_that_would_count_twice_or_run_nothing_are_refused(args, problem, tmp_path):
    line = one_error_line(cli("run", "--sim", "none", *args, "--out", str(tmp_path / "never")))
    assert problem in line and args[0] in line
    assert not (tmp_path / "never").exists()


def test_a_forget_during_a_run_does_not_crash_its_persona(tmp_path):
    """`memory forget` in another process lands between the policy finding a note and writing to it."""
    path = tmp_path / "memory.db"
    store = MemoryStore(path, HashingEmbedder())
    fact = Fact("I am sleepy", "object", "herbal tea", "Alex wants tea.", "feedback")
    first = apply(store, "alex", fact)
    assert first.op == "ADD"

    def forget_meanwhile(fact, similar):
        with MemoryStore(path) as other:  # the user's `memory forget`, on its own connection
            other.forget("alex")
        return MemoryDecision("NONE", similar[0][0].id, "confirmed", support_delta=1)

    op = apply(store, "alex", fact, decider=forget_meanwhile)
    assert op.op == "ADD" and "gone" in op.reason
    assert [n.value for n in store.notes("alex")] == ["herbal tea"]
    store.close()


# --- external PAHF data: skipped scenarios said once, scenes the physics cannot build refused at load ---
def pahf_row(index: int, user: str, objects: list[str], wanted: str, location: str = "pick-up") -> dict:
    return {
        "index": index,
        "scene": "kitchen",
        "task": f"task {index}",
        "context": "Tired",
        "user": user,
        "user_intent_object": wanted,
        "user_intent_location": location,
        "scene_objects": objects,
    }


def pahf_data(folder: Path, extra: list[dict]) -> Path:
    folder.mkdir()
    rows = [
        pahf_row(0, "ada", ["tea", "coffee"], "tea"),
        pahf_row(1, "ada", ["tea", "coffee"], "milk"),
        pahf_row(2, "ada", ["tea", "coffee"], "juice"),
        *extra,
    ]
    for name in PHASE_FILES.values():
        (folder / name).write_text(json.dumps(rows))
    return folder


def test_skipped_scenarios_are_counted_once_and_listed_in_the_run_directory(tmp_path):
    data = pahf_data(tmp_path / "data", [])
    out = tmp_path / "run"
    done = cli(
        "run",
        "--scenarios",
        str(data),
        "--modes",
        "pahf,no-memory",
        "--workers",
        "2",
        "--sim",
        "none",
        "--embedder",
        "hashing",
        "--learning-iter",
        "1",
        "--no-progress",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "skipped" in line]
    assert len(warnings) == 1, done.stderr
    assert (
        "skipped 8 of 12" in warnings[0]
        and "original_scenarios_A.json: 2 wanted object not in the scene" in warnings[0]
        and "milk" not in warnings[0]
    )
    listed = json.loads((out / "skipped_scenarios.json").read_text())
    assert len(listed) == 8 and {row["index"] for row in listed} == {1, 2}
    assert "'milk'" in listed[0]["why"]


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (pahf_row(3, "ada", [f"thing {i}" for i in range(9)], "thing 0"), "9 objects"),
        (pahf_row(3, "ada", ["cup", *[f"shelf {i}" for i in range(5)]], "cup", "shelf 0"), "5 places"),
        (pahf_row(3, "ada", ["cup", "cup", "tray"], "cup"), "'cup' is named twice"),
    ],
)
def test_scenes_the_physics_cannot_build_fail_at_load(row, problem, tmp_path):
    data = pahf_data(tmp_path / "data", [row])
    args = [
        "run",
        "--scenarios",
        str(data),
        "--modes",
        "pahf",
        "--embedder",
        "hashing",
        "--learning-iter",
        "1",
        "--no-progress",
    ]
    refused = cli(*args, "--out", str(tmp_path / "never"))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    line = refused.stderr.strip().splitlines()[-1]  # after the warning about the two skipped scenarios
    assert "original_scenarios_A.json: scenario 3: field 'scene_objects'" in line and problem in line
    assert not (tmp_path / "never" / EPISODES_FILE).exists()
    assert cli(*args, "--sim", "none", "--out", str(tmp_path / "decisions")).returncode == 0


def test_scenario_files_that_break_the_json_reader_are_one_line(tmp_path):
    data = pahf_data(tmp_path / "data", [])
    (data / PHASE_FILES[2]).write_text("[" * 100_000 + "]" * 100_000)
    line = one_error_line(cli("run", "--scenarios", str(data), "--sim", "none", "--out", str(tmp_path / "x")))
    assert PHASE_FILES[2] in line and "nested too deeply" in line
    (data / PHASE_FILES[2]).write_text('[{"index": ' + "7" * 5000 + "}]")
    line = one_error_line(cli("run", "--scenarios", str(data), "--sim", "none", "--out", str(tmp_path / "x")))
    assert PHASE_FILES[2] in line and "digits" in line


def test_an_empty_phase_file_is_refused_not_dropped(tmp_path):
    data = pahf_data(tmp_path / "data", [])
    (data / PHASE_FILES[3]).write_text("[]")
    line = one_error_line(cli("run", "--scenarios", str(data), "--sim", "none", "--out", str(tmp_path / "x")))
    assert PHASE_FILES[3] in line and "empty list" in line


# --- persona files: typos, repeats, encodings and sizes ---
ALEX = (Path(__file__).resolve().parents[1] / "personas" / "alex.yaml").read_text()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (ALEX.replace("\nshift:", "\nshfit:"), "unknown key(s) shfit"),
        (ALEX.replace("    item: herbal tea\n", "    item: herbal tea\n    itme: tea\n"), "unknown key(s) itme"),
        (ALEX.replace("    item: herbal tea\n", "    item: herbal tea\n    item: coffee\n"), "'item' given twice"),
        (ALEX.replace("herbal tea", "herbal t\xe9a").encode("latin-1"), "not UTF-8"),
        (ALEX + "#" + "x" * (2 << 20) + "\n", "at most"),
    ],
)
def test_persona_files_that_would_mislead_are_refused(text, problem, tmp_path):
    folder = tmp_path / "personas"
    folder.mkdir()
    path = folder / "alex.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InputError) as refused:
        load_persona(path)
    assert str(refused.value).startswith(str(path)) and problem in str(refused.value)
    assert "\n" not in str(refused.value)
