"""The memory store's SQLite schema and connection settings, and the look at an existing file that comes before
any write to it.

Opening a database must not change a file that is not a memory store (a foreign SQLite file, a store of a
newer schema): `existing_meta` reads what is there first and refuses those in one line.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

SCHEMA_VERSION = "2"
READABLE_SCHEMAS = ("1", SCHEMA_VERSION)
"""Schema 1 lacks the note's stance; opening it read-write migrates it."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    situation TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    support INTEGER NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    superseded_by INTEGER,
    embedding BLOB NOT NULL,
    stance TEXT NOT NULL DEFAULT 'prefer'
);
CREATE INDEX IF NOT EXISTS notes_by_user ON notes (user_id, kind, superseded_by);
"""


def existing_meta(conn: sqlite3.Connection, path: Path) -> dict[str, str] | None:
    """The meta table of the store at `path`, read without writing; None for an empty database.

    ValueError naming the file for a database that holds other tables, or a store of a schema this
    version cannot read (a newer one), before anything is written to it."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    tables.discard("sqlite_sequence")
    if not tables:
        return None
    if not {"meta", "notes"} <= tables:
        found = ", ".join(sorted(tables)[:5])
        raise ValueError(f"{path} is an SQLite database but not a memory store (its tables: {found})")
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    if meta.get("schema") not in READABLE_SCHEMAS:
        raise ValueError(
            f"{path} is a memory store of schema {meta.get('schema')!r}; this version reads schema "
            f"{' or '.join(READABLE_SCHEMAS)} (left unchanged)"
        )
    return meta


def switch_to_wal(conn: sqlite3.Connection, busy_timeout_s: float) -> None:
    """WAL lets readers run beside one writer. SQLite answers "database is locked" at once, without its busy
    timeout, when two processes switch one new file to WAL together (workers starting side by side), so the
    switch is retried until the timeout."""
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def configure(conn: sqlite3.Connection, busy_timeout_s: float) -> None:
    """WAL (`switch_to_wal`); synchronous=NORMAL in WAL mode loses no committed transaction when the process
    dies (only on power loss), which is the crash the store promises; forgotten notes are overwritten on disk,
    not just unlinked from the b-tree."""
    switch_to_wal(conn, busy_timeout_s)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA secure_delete=ON")
