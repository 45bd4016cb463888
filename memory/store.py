"""Per-user explicit memory: SQLite is the store of record, a FAISS index the retrieval cache.

Every note row carries its embedding as a BLOB, so the index can always be rebuilt without re-embedding.
Every query is scoped by user_id in SQL first, so a search for one user can never see another user's
note. Several processes may share one database: SQLite serialises writers (WAL, busy timeout), and each
process fills the vectors it lacks from SQLite at search time.

One store object must be used from one thread at a time.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from memory.embedders import Embedder
from memory.notes import KINDS, Note, NoteDraft, check_fields, headline
from memory.schema import SCHEMA, SCHEMA_VERSION, configure, existing_meta
from memory.vector_index import CorruptIndexError, IndexDimensionError, VectorIndex

__all__ = ["MemoryStore", "Note", "NoteDraft"]

log = logging.getLogger(__name__)

_NOTE_COLUMNS = "id, user_id, situation, kind, value, text, source, support, created, updated, superseded_by, stance"
_EDITABLE = ("situation", "kind", "value", "text", "source", "stance", "support")
_SQL_CHUNK = 10_000
_SPOT_CHECKS = 16


def _note(row: tuple) -> Note:
    return Note(*row)


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


class MemoryStore:
    """Notes per user: add, search, supersede, reinforce, forget, export.

    `embedder` may be None to inspect or manage an existing store (show, export, forget, stats) without
    loading a model; operations that embed text then raise ValueError. Ids are AUTOINCREMENT and never
    reused, and a note's vector never changes (an edit is a new note), so a cached vector is never wrong.
    """

    def __init__(
        self,
        path: str | Path,
        embedder: Embedder | None = None,
        *,
        index_path: str | Path | None = None,
        flush_every: int = 1000,
        busy_timeout_s: float = 30.0,
        read_only: bool = False,
    ):
        self.path = Path(path)
        self.read_only = read_only
        self.index_path = Path(index_path) if index_path else self.path.with_name(self.path.name + ".faiss")
        self.embedder = embedder
        self.flush_every = flush_every
        self._index: VectorIndex | None = None
        self._dirty = 0
        self._flushed_size = 0
        if read_only:  # show, export, stats: nothing about the file may change, and a read-only file works
            # With no WAL file (no writer at work) it is opened immutable, so not even -wal/-shm appear.
            quiet = "" if Path(f"{self.path}-wal").exists() else "&immutable=1"
            uri = f"{self.path.resolve().as_uri()}?mode=ro{quiet}"
            self._conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
        try:
            meta = existing_meta(self._conn, self.path)  # refuses foreign and newer files before any write
            if read_only:
                if meta is None or meta.get("schema") != SCHEMA_VERSION:
                    raise ValueError(f"{self.path} is not a memory store of schema {SCHEMA_VERSION} yet")
                self.dim, self.embedder_name = self._check_meta(meta)
                return
            configure(self._conn, busy_timeout_s)
            self.dim, self.embedder_name = self._init_schema()
            if not self._conn.execute("SELECT EXISTS (SELECT 1 FROM notes)").fetchone()[0]:
                self._index = VectorIndex(self.dim)
                if not self.index_path.exists():
                    # A new store gets its index file at once, so a second process opening it before the
                    # first one flushes finds a stale index to sync, not a missing one to warn about.
                    self._index.save(self.index_path)
        except BaseException:
            self._conn.close()
            raise

    # -- setup -----------------------------------------------------------------------------------------

    def _init_schema(self) -> tuple[int, str]:
        with self._transaction(write=True) as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if meta.get("schema") == "1":
                # Schema 2 only adds the note's stance; every note of a schema-1 store is a preference.
                columns = {row[1] for row in db.execute("PRAGMA table_info(notes)")}
                if "stance" not in columns:
                    db.execute("ALTER TABLE notes ADD COLUMN stance TEXT NOT NULL DEFAULT 'prefer'")
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
                meta["schema"] = SCHEMA_VERSION
            if not meta:
                if self.embedder is None:
                    raise ValueError(f"{self.path} is not a memory store yet; creating one needs an embedder")
                meta = {"schema": SCHEMA_VERSION, "dim": str(self.embedder.dim), "embedder": self.embedder.name}
                db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", meta.items())
        return self._check_meta(meta)

    def _check_meta(self, meta: dict[str, str]) -> tuple[int, str]:
        if meta.get("schema") != SCHEMA_VERSION or "dim" not in meta:
            raise ValueError(f"{self.path} is not a memory store of schema {SCHEMA_VERSION}")
        dim, name = int(meta["dim"]), meta["embedder"]
        if self.embedder is not None:
            if self.embedder.dim != dim:
                raise ValueError(
                    f"embedder {self.embedder.name!r} makes {self.embedder.dim}-dim vectors but the store "
                    f"{self.path} holds {dim}-dim vectors (made by {name!r})"
                )
            if self.embedder.name != name:
                raise ValueError(
                    f"the store {self.path} was built with embedder {name!r}; its vectors cannot be compared "
                    f"with {self.embedder.name!r} ones"
                )
        return dim, name

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so two writers wait instead of deadlocking."""
        self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _embed(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            raise ValueError(f"the store {self.path} was opened without an embedder, so it cannot embed text")
        return self.embedder.embed([headline(text) for text in texts])

    # -- writing ---------------------------------------------------------------------------------------

    def add(
        self, user_id: str, situation: str, kind: str, value: str, text: str, source: str, stance: str = "prefer"
    ) -> Note:
        """Store one new active note (support 1) and return it."""
        check_fields(user_id, kind, source, stance)
        vector = self._embed([situation])[0]
        now = time.time()
        with self._transaction(write=True) as db:
            cursor = db.execute(
                "INSERT INTO notes (user_id, situation, kind, value, text, source, support, created, updated,"
                " superseded_by, embedding, stance) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, NULL, ?, ?)",
                (user_id, situation, kind, value, text, source, now, now, _blob(vector), stance),
            )
            note_id = cursor.lastrowid
        self._indexed(np.array([note_id]), vector[None, :])
        return Note(note_id, user_id, situation, kind, value, text, source, 1, now, now, None, stance)

    def add_many(self, drafts: Sequence[NoteDraft], vectors: np.ndarray | None = None) -> list[int]:
        """Bulk insert in one transaction (for imports and benchmarks); returns the new ids in order.

        `vectors` (n, dim), if given, are used instead of embedding the situations.
        """
        for draft in drafts:
            check_fields(draft.user_id, draft.kind, draft.source, draft.stance)
        if not drafts:
            return []
        if vectors is None:
            vectors = self._embed([draft.situation for draft in drafts])
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(drafts), self.dim):
            raise ValueError(f"vectors have shape {vectors.shape}, expected ({len(drafts)}, {self.dim})")
        now = time.time()
        with self._transaction(write=True) as db:
            (last,) = db.execute(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'notes'), 0),"
                " COALESCE((SELECT MAX(id) FROM notes), 0))"
            ).fetchone()
            ids = np.arange(last + 1, last + 1 + len(drafts), dtype=np.int64)
            db.executemany(
                "INSERT INTO notes (id, user_id, situation, kind, value, text, source, support, created, updated,"
                " superseded_by, embedding, stance) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, NULL, ?, ?)",
                (
                    (int(i), d.user_id, d.situation, d.kind, d.value, d.text, d.source, now, now, _blob(v), d.stance)
                    for i, d, v in zip(ids, drafts, vectors, strict=True)
                ),
            )
        self._indexed(ids, vectors)
        return ids.tolist()

    def supersede(self, user_id: str, note_id: int, **changes) -> Note:
        """Replace an active note by a new one with `changes` applied; the old one stays as history.

        Accepted changes: situation, kind, value, text, source, stance, support (default 1: a fresh note).
        """
        unknown = set(changes) - set(_EDITABLE)
        if unknown:
            raise TypeError(f"supersede() got unknown fields {sorted(unknown)}; editable: {', '.join(_EDITABLE)}")
        new_vector = self._embed([changes["situation"]])[0] if "situation" in changes else None
        now = time.time()
        with self._transaction(write=True) as db:
            old, old_blob = self._get(db, user_id, note_id, with_embedding=True)
            if old.superseded_by is not None:
                raise ValueError(f"note {note_id} of user {user_id!r} is already superseded by {old.superseded_by}")
            fields = {name: getattr(old, name) for name in _EDITABLE} | {"support": 1} | changes
            check_fields(user_id, fields["kind"], fields["source"], fields["stance"])
            vector = new_vector if new_vector is not None else np.frombuffer(old_blob, dtype="<f4")
            cursor = db.execute(
                "INSERT INTO notes (user_id, situation, kind, value, text, source, stance, support, created,"
                " updated, superseded_by, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                (user_id, *(fields[name] for name in _EDITABLE[:-1]), int(fields["support"]), now, now, _blob(vector)),
            )
            new_id = cursor.lastrowid
            db.execute("UPDATE notes SET superseded_by = ?, updated = ? WHERE id = ?", (new_id, now, note_id))
            note, _ = self._get(db, user_id, new_id)
        self._indexed(np.array([new_id]), vector[None, :])
        return note

    def reinforce(self, user_id: str, note_id: int, delta: int = 1) -> Note:
        """Add `delta` (may be negative) to an active note's support count, never below 0."""
        with self._transaction(write=True) as db:
            cursor = db.execute(
                "UPDATE notes SET support = MAX(0, support + ?), updated = ?"
                " WHERE id = ? AND user_id = ? AND superseded_by IS NULL",
                (int(delta), time.time(), note_id, user_id),
            )
            if cursor.rowcount == 0:
                raise KeyError(f"user {user_id!r} has no active note {note_id}")
            note, _ = self._get(db, user_id, note_id)
        return note

    def forget(self, user_id: str) -> int:
        """Erase every note of `user_id` (history included) from SQLite and the index; returns how many.

        The index file is rewritten and the WAL checkpointed at once so no copy of the vectors lingers.
        """
        with self._transaction(write=True) as db:
            ids = np.fromiter(
                (row[0] for row in db.execute("SELECT id FROM notes WHERE user_id = ?", (user_id,))), dtype=np.int64
            )
            db.execute("DELETE FROM notes WHERE user_id = ?", (user_id,))
        # Even with no rows left (a forget killed after its delete), the index file is synced with SQLite
        # and rewritten, and copies a killed write left behind are removed: no vector of theirs lingers.
        index = self._ensure_index()
        index.remove(ids)
        self._dirty += 1
        self.flush()
        for stale in self.index_path.parent.glob(f"{self.index_path.name}.*.tmp"):
            stale.unlink(missing_ok=True)
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if ids.size == 0:
            return 0
        log.info("forgot %d notes of user %r", ids.size, user_id)
        return int(ids.size)

    def _indexed(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Mirror new vectors into the loaded index; an unloaded index catches up when it is loaded."""
        self._dirty += len(ids)
        if self._index is None:
            return
        self._index.add(ids, vectors)
        if self._dirty >= max(self.flush_every, self._flushed_size):
            self.flush()

    # -- reading ---------------------------------------------------------------------------------------

    def search(self, user_id: str, query: str, k: int = 10, kind: str | None = None) -> list[tuple[Note, float]]:
        """The user's `k` active notes whose situation is closest to `query`, with cosine scores, best first."""
        if k <= 0:
            return []
        return self.search_vector(user_id, self._embed([query])[0], k, kind)

    def search_vector(
        self, user_id: str, vector: np.ndarray, k: int = 10, kind: str | None = None
    ) -> list[tuple[Note, float]]:
        """`search` with a query already embedded by this store's embedder (for callers that batch)."""
        vector = np.asarray(vector, dtype=np.float32)
        if vector.shape != (self.dim,):
            raise ValueError(f"query vector has shape {vector.shape}, expected ({self.dim},)")
        if k <= 0:
            return []
        return self._ranked(user_id, vector, kind, limit=k, threshold=None)

    def find_similar(
        self, user_id: str, text: str, threshold: float, kind: str | None = None
    ) -> list[tuple[Note, float]]:
        """All the user's active notes whose situation scores at least `threshold` against `text`, best first."""
        return self._ranked(user_id, self._embed([text])[0], kind, limit=None, threshold=threshold)

    def _ranked(
        self, user_id: str, query: np.ndarray, kind: str | None, limit: int | None, threshold: float | None
    ) -> list[tuple[Note, float]]:
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown note kind {kind!r}; valid kinds: {', '.join(KINDS)}")
        index = self._ensure_index()
        sql = "SELECT id FROM notes WHERE user_id = ? AND superseded_by IS NULL"
        params: tuple = (user_id,)
        if kind is not None:
            sql, params = sql + " AND kind = ?", (user_id, kind)
        with self._transaction(write=False) as db:
            ids = np.fromiter((row[0] for row in db.execute(sql, params)), dtype=np.int64)
            if ids.size == 0:
                return []
            self._fill_missing(db, index, ids)
            scores = index.vectors(ids) @ query
            order = np.lexsort((ids, -scores))[:limit]
            ids, scores = ids[order], scores[order]
            if threshold is not None:
                keep = scores >= threshold
                ids, scores = ids[keep], scores[keep]
            notes = self._notes_by_id(db, ids)
        return [(notes[i], float(s)) for i, s in zip(ids.tolist(), scores.tolist(), strict=True)]

    def _fill_missing(self, db: sqlite3.Connection, index: VectorIndex, ids: np.ndarray) -> None:
        """Load vectors written by other processes (or before the index was loaded) from SQLite."""
        missing = index.missing(ids)
        if missing.size == 0:
            return
        got_ids, vectors = self._vectors_from_db(db, missing)
        index.add(got_ids, vectors)
        self._dirty += got_ids.size

    def _vectors_from_db(self, db: sqlite3.Connection, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        got_ids: list[int] = []
        blobs: list[bytes] = []
        for start in range(0, ids.size, _SQL_CHUNK):
            chunk = ids[start : start + _SQL_CHUNK].tolist()
            marks = ",".join("?" * len(chunk))
            for note_id, blob in db.execute(f"SELECT id, embedding FROM notes WHERE id IN ({marks})", chunk):
                got_ids.append(note_id)
                blobs.append(blob)
        vectors = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), self.dim)
        return np.array(got_ids, dtype=np.int64), vectors

    @staticmethod
    def _notes_by_id(db: sqlite3.Connection, ids: np.ndarray) -> dict[int, Note]:
        notes: dict[int, Note] = {}
        for start in range(0, ids.size, _SQL_CHUNK):
            chunk = ids[start : start + _SQL_CHUNK].tolist()
            marks = ",".join("?" * len(chunk))
            for row in db.execute(f"SELECT {_NOTE_COLUMNS} FROM notes WHERE id IN ({marks})", chunk):
                notes[row[0]] = _note(row)
        return notes

    @staticmethod
    def _get(
        db: sqlite3.Connection, user_id: str, note_id: int, with_embedding: bool = False
    ) -> tuple[Note, bytes | None]:
        columns = _NOTE_COLUMNS + (", embedding" if with_embedding else "")
        row = db.execute(
            f"SELECT {columns} FROM notes WHERE id = ? AND user_id = ?", (int(note_id), user_id)
        ).fetchone()
        if row is None:
            raise KeyError(f"user {user_id!r} has no note {note_id}")
        return _note(row[:12]), (row[12] if with_embedding else None)

    def get(self, user_id: str, note_id: int) -> Note:
        """One note of this user (active or history); KeyError if the id is not this user's."""
        with self._transaction(write=False) as db:
            return self._get(db, user_id, note_id)[0]

    def notes(self, user_id: str, include_superseded: bool = False) -> list[Note]:
        """The user's notes in creation order; history only if asked."""
        sql = f"SELECT {_NOTE_COLUMNS} FROM notes WHERE user_id = ?"
        if not include_superseded:
            sql += " AND superseded_by IS NULL"
        with self._transaction(write=False) as db:
            return [_note(row) for row in db.execute(sql + " ORDER BY id", (user_id,))]

    def has_user(self, user_id: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM notes WHERE user_id = ? LIMIT 1", (user_id,)).fetchone()
        return row is not None

    def users(self) -> list[str]:
        return [row[0] for row in self._conn.execute("SELECT DISTINCT user_id FROM notes ORDER BY user_id")]

    def export(self, user_id: str) -> dict:
        """Everything remembered about one user, history included, as JSON-ready data (no vectors)."""
        notes = self.notes(user_id, include_superseded=True)
        return {
            "user_id": user_id,
            "embedder": self.embedder_name,
            "dim": self.dim,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "notes": [note.to_dict() for note in notes if note.active],
            "history": [note.to_dict() for note in notes if not note.active],
        }

    def stats(self) -> dict:
        """Sizes of the store and its index (loads the index, repairing it if it was stale)."""
        index = self._ensure_index()
        with self._transaction(write=False) as db:
            (users,) = db.execute("SELECT COUNT(DISTINCT user_id) FROM notes").fetchone()
            active, superseded = db.execute(
                "SELECT COALESCE(SUM(superseded_by IS NULL), 0), COALESCE(SUM(superseded_by IS NOT NULL), 0) FROM notes"
            ).fetchone()
        return {
            "path": str(self.path),
            "index_path": str(self.index_path),
            "embedder": self.embedder_name,
            "dim": self.dim,
            "users": users,
            "active_notes": active,
            "superseded_notes": superseded,
            "index_vectors": len(index),
            "db_bytes": sum(p.stat().st_size for p in self._db_files()),
            "index_file_bytes": self.index_path.stat().st_size if self.index_path.exists() else 0,
        }

    def _db_files(self) -> list[Path]:
        candidates = [self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")]
        return [p for p in candidates if p.exists()]

    # -- index persistence -----------------------------------------------------------------------------

    def _ensure_index(self) -> VectorIndex:
        """Load the index file, or rebuild it from SQLite if it is missing or corrupt, then sync it."""
        if self._index is not None:
            return self._index
        try:
            index = VectorIndex.load(self.index_path, self.dim)
        except FileNotFoundError:
            if self._conn.execute("SELECT EXISTS (SELECT 1 FROM notes)").fetchone()[0]:
                log.warning("no index file at %s; rebuilding it from %s", self.index_path, self.path)
            index = VectorIndex(self.dim)
        except (CorruptIndexError, IndexDimensionError) as exc:
            # The embedder already matched the store of record, so an index of another dimension is
            # foreign or damaged: it is a cache, rebuild it rather than refuse to work.
            log.warning("%s; rebuilding it from %s", exc, self.path)
            index = VectorIndex(self.dim)
        else:
            if not self._spot_check(index):
                log.warning("index file %s disagrees with %s; rebuilding it", self.index_path, self.path)
                index = VectorIndex(self.dim)
        self._flushed_size = len(index)
        added, removed = self._sync(index)
        if added or removed:
            log.info("index %s was stale: +%d / -%d vectors from %s", self.index_path, added, removed, self.path)
            self._dirty += added + removed
        self._index = index
        return index

    def _spot_check(self, index: VectorIndex) -> bool:
        """Compare a few stored vectors with SQLite: catches a file from another store or flipped bytes."""
        ids = index.ids()
        if ids.size == 0:
            return True
        sample = np.random.default_rng().choice(ids, size=min(_SPOT_CHECKS, ids.size), replace=False)
        with self._transaction(write=False) as db:
            got_ids, vectors = self._vectors_from_db(db, sample)
        if got_ids.size == 0:
            return True
        return bool(np.array_equal(index.vectors(got_ids), vectors))

    def _sync(self, index: VectorIndex) -> tuple[int, int]:
        """Make the index hold exactly the active notes of one SQLite snapshot; returns (added, removed)."""
        with self._transaction(write=False) as db:
            active = np.fromiter(
                (row[0] for row in db.execute("SELECT id FROM notes WHERE superseded_by IS NULL")), dtype=np.int64
            )
            held = index.ids()
            extra = np.setdiff1d(held, active, assume_unique=True)
            missing = np.setdiff1d(active, held, assume_unique=True)
            if missing.size:
                got_ids, vectors = self._vectors_from_db(db, missing)
                index.add(got_ids, vectors)
        index.remove(extra)
        return int(missing.size), int(extra.size)

    def flush(self) -> None:
        """Sync the loaded index with SQLite and write it; cost grows with the whole index, so it is
        done on close, on forget, and after as many changes as the index held at the last flush."""
        if self._index is None:
            return
        self._sync(self._index)
        self._index.save(self.index_path)
        self._dirty = 0
        self._flushed_size = len(self._index)
        log.debug("wrote %d vectors to %s", len(self._index), self.index_path)

    def close(self) -> None:
        """Flush the index if it changed and close the database; safe to call twice."""
        if self._conn is None:
            return
        try:
            if self._dirty and not self.read_only:
                self.flush()
        finally:
            self._conn.close()
            self._conn = None
            self._index = None

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
