"""Real processes against one database: a writer killed with SIGKILL, two writers at once, and two processes
creating one store (or one rollout cache) at the same moment."""

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from memory.embedders import HashingEmbedder
from memory.store import MemoryStore
from pahf_robot.act.rollouts import RolloutCache

WRITER = """
import sys
from memory.embedders import HashingEmbedder
from memory.store import MemoryStore

path, user, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
supersede_first = int(sys.argv[4]) if len(sys.argv) > 4 else None
with MemoryStore(path, HashingEmbedder(), flush_every=25) as store:
    if supersede_first is not None:
        print(store.supersede("shared", supersede_first, value="changed elsewhere").id, flush=True)
    i = 0
    while count < 0 or i < count:
        owner = user if i % 2 else "shared"
        note = store.add(owner, f"situation {i} of {user}", "object", f"value {i}", "t", "feedback")
        if i % 7 == 0:
            store.search(owner, f"situation {i}")
        if i % 11 == 0:
            note = store.supersede(owner, note.id, value=f"changed {i}")
        print(note.id, flush=True)
        i += 1
"""


def _writer(db, user, count, *extra):
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), user, str(count), *map(str, extra)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _integrity(db) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_sigkilled_writer_loses_no_committed_note(tmp_path):
    db = tmp_path / "memory.db"
    MemoryStore(db, HashingEmbedder()).close()
    writer = _writer(db, "alice", -1)
    committed = []
    try:
        for line in writer.stdout:
            committed.append(int(line))
            if len(committed) >= 300:
                break
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL, writer.stderr.read()
    assert len(committed) == 300

    assert _integrity(db) == "ok"
    with MemoryStore(db, HashingEmbedder()) as store:
        kept = {n.id for user in ("alice", "shared") for n in store.notes(user, include_superseded=True)}
        assert set(committed) <= kept
        active = {n.id for user in ("alice", "shared") for n in store.notes(user)}
        found = {n.id for user in ("alice", "shared") for n, _ in store.search(user, "situation 3", k=10_000)}
        assert found == active
        assert set(store._index.ids().tolist()) == active


def test_two_writer_processes_share_one_database(tmp_path):
    db = tmp_path / "memory.db"
    with MemoryStore(db, HashingEmbedder()) as viewer:
        before = viewer.add("shared", "a note from the parent", "object", "tea", "t", "clarification")
        assert [n.id for n, _ in viewer.search("shared", "a note from the parent")] == [before.id]

        writers = [_writer(db, "alice", 400, before.id), _writer(db, "bob", 400)]
        outputs = [w.communicate(timeout=120) for w in writers]
        for writer, (_, err) in zip(writers, outputs, strict=True):
            assert writer.returncode == 0, err
        printed = [int(line) for out, _ in outputs for line in out.split()]
        assert len(printed) == len(set(printed)) == 801

        assert _integrity(db) == "ok"
        owners = dict(viewer._conn.execute("SELECT id, user_id FROM notes"))
        assert set(printed) <= set(owners)
        assert viewer.get("shared", before.id).superseded_by is not None
        for user in ("shared", "alice", "bob"):
            expected = {n.id for n in viewer.notes(user)}
            hits = viewer.search(user, "situation 42", k=10_000)
            assert {n.id for n, _ in hits} == expected
            assert all(n.user_id == user for n, _ in hits)
        assert before.id not in {n.id for n, _ in viewer.search("shared", "a note from the parent", k=10_000)}
        assert len(viewer.notes("alice")) == len(viewer.notes("bob")) == 200


def _open_store(path) -> None:
    MemoryStore(path, HashingEmbedder()).close()


def _open_rollout_cache(path) -> None:
    RolloutCache(path).close()


def _open_when_both_are_ready(open_file, path, ready, failures) -> None:
    ready.wait()
    try:
        open_file(path)
    except Exception as error:  # reported to the test, which names it
        failures.put(repr(error))


@pytest.mark.parametrize("open_file", [_open_store, _open_rollout_cache], ids=["memory store", "rollout cache"])
def test_two_processes_creating_one_file_at_once_both_open_it(tmp_path, open_file):
    """Workers of one run start side by side on a new memory or rollout file; SQLite refused the second one's
    switch to WAL with "database is locked" about one time in three, failing that persona's whole run."""
    context = multiprocessing.get_context("fork")
    failures = context.Queue()
    for attempt in range(30):
        ready = context.Barrier(2)
        path = tmp_path / f"shared-{attempt}.db"
        args = (open_file, path, ready, failures)
        openers = [context.Process(target=_open_when_both_are_ready, args=args) for _ in "ab"]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join(timeout=60)
            assert opener.exitcode == 0
    assert failures.empty(), failures.get()
