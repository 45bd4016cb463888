"""Replies of the LLM server on disk, keyed on (model, messages, schema), so a rerun with the same seed
replays without calls and reproduces the first run exactly, whatever the server's sampling does."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

from memory.schema import switch_to_wal

CACHE_ENV = "PAHF_ROBOT_LLM_CACHE"
"""Overrides the cache file; tests point it at a temporary directory."""


def default_cache_path() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "pahf-robot" / "llm" / "responses.sqlite"


class ResponseCache:
    """Replies by request hash in SQLite (WAL), safe for several worker processes writing at once."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
        switch_to_wal(self._db, 30.0)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, model TEXT, content TEXT, created REAL)"
        )
        self._db.commit()

    @staticmethod
    def key(model: str, messages: list[dict], schema: dict) -> str:
        blob = json.dumps({"model": model, "messages": messages, "schema": schema}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT content FROM replies WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, model: str, content: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?)", (key, model, content, time.time()))
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()
