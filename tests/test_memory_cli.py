"""The user-control CLI: show, export, forget, stats, and one-line errors."""

import argparse
import json
import subprocess
import sys

import pytest

from memory.cli import add_memory_parser, main
from memory.embedders import HashingEmbedder
from memory.store import MemoryStore


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "memory.db"
    with MemoryStore(path, HashingEmbedder()) as store:
        old = store.add(
            "alice", "I am sleepy, bring me a drink", "object", "herbal tea", "She wants herbal tea.", "clarification"
        )
        store.supersede("alice", old.id, value="black coffee", text="She wants black coffee.")
        store.add("alice", "Put the glass away", "place", "top shelf", "Glasses go on the top shelf.", "feedback")
        store.add("bob", "I am sleepy, bring me a drink", "object", "cola", "He wants cola.", "feedback")
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_show_lists_active_notes_and_history(capsys, db):
    code, out, _ = run(capsys, "show", "--db", db, "--user", "alice")
    assert code == 0
    assert "2 active notes, 1 superseded" in out
    assert "black coffee" in out and "top shelf" in out and "Glasses go on the top shelf." in out
    assert out.index("history:") < out.index("herbal tea")
    assert "cola" not in out


def test_export_to_stdout_and_file(capsys, db, tmp_path):
    code, out, _ = run(capsys, "export", "--db", db, "--user", "alice", "--embedder", "hashing")
    data = json.loads(out)
    assert code == 0 and data["user_id"] == "alice"
    assert sorted(n["value"] for n in data["notes"]) == ["black coffee", "top shelf"]
    assert [n["value"] for n in data["history"]] == ["herbal tea"]
    target = tmp_path / "alice.json"
    code, _, _ = run(capsys, "export", "--db", db, "--user", "alice", "--out", target)
    assert code == 0 and json.loads(target.read_text()) | {"exported_at": None} == data | {"exported_at": None}


def test_forget_erases_one_user(capsys, db):
    code, out, _ = run(capsys, "forget", "--db", db, "--user", "alice")
    assert code == 0 and "forgot 3 notes" in out
    code, _, err = run(capsys, "show", "--db", db, "--user", "alice")
    assert code == 1 and "no memories of user 'alice'" in err
    code, out, _ = run(capsys, "show", "--db", db, "--user", "bob")
    assert code == 0 and "cola" in out


def test_stats(capsys, db):
    code, out, _ = run(capsys, "stats", "--db", db)
    stats = json.loads(out)
    assert code == 0
    assert (stats["users"], stats["active_notes"], stats["superseded_notes"], stats["index_vectors"]) == (2, 3, 1, 3)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stats", "--db", "{missing}"], "no memory database at"),
        (["forget", "--db", "{db}", "--user", "carol"], "no memories of user 'carol'"),
        (["show", "--db", "{db}", "--user", "alice", "--embedder", "minilm"], "384-dim"),
        (["stats", "--db", "{junk}"], "error:"),
    ],
)
def test_errors_are_one_line_and_exit_1(capsys, db, tmp_path, argv, message):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    paths = {"missing": tmp_path / "nope.db", "db": db, "junk": junk}
    code, _, err = run(capsys, *[a.format(**paths) for a in argv])
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_mounts_under_a_main_parser(capsys, db):
    parser = argparse.ArgumentParser(prog="pahf-robot")
    add_memory_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["memory", "show", "--user", "bob", "--db", str(db)])
    assert args.func(args) == 0
    assert "cola" in capsys.readouterr().out


def test_runs_as_a_module(db):
    done = subprocess.run(
        [sys.executable, "-m", "memory.cli", "show", "--db", str(db), "--user", "bob"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "cola" in done.stdout
