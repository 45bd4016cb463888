"""Physics outcomes kept per run, so one deterministic rollout is simulated once, not once per mode and pass.

The four modes and the learning passes face the same scene per scenario (`pahf_robot.run.protocol.scene_seed`),
and most of the time they choose the same target. In-process PyBullet is deterministic: the same scene, seed
and target give the same outcome and tick count whatever ran before (tests/test_rollouts.py checks this
on the real simulator). Simulating that rollout again would only repeat a known answer, so the executor
looks it up here first. A rollout that is watched, recorded or driven on a remote or real robot is never
looked up: there the point is to see it, or the world is not deterministic.

One SQLite file in the run directory, shared by the worker processes of a run and kept for `--resume`;
it holds outcomes only, never preferences, so it cannot leak anything between modes.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

from memory.schema import switch_to_wal
from pahf_robot.core.types import Outcome

ROLLOUTS_FILE = "rollouts.db"


def rollout_key(seed: int, objects: list[str], places: list[str], object_name: str, place: str) -> str:
    """Everything that decides a rollout within one run (perception and randomisation are the run's)."""
    return json.dumps([seed, objects, places, object_name, place], separators=(",", ":"))


class RolloutCache:
    """Outcomes by rollout key; safe to share between processes (WAL, retried writes, first write wins)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        switch_to_wal(self._db, 60.0)
        self._db.execute("CREATE TABLE IF NOT EXISTS rollouts (key TEXT PRIMARY KEY, outcome TEXT NOT NULL)")

    def get(self, key: str) -> Outcome | None:
        row = self._db.execute("SELECT outcome FROM rollouts WHERE key = ?", (key,)).fetchone()
        return None if row is None else Outcome(**json.loads(row[0]))

    def put(self, key: str, outcome: Outcome) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO rollouts (key, outcome) VALUES (?, ?)", (key, json.dumps(asdict(outcome)))
        )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM rollouts").fetchone()[0])

    def close(self) -> None:
        self._db.close()


def count_rollouts(run_dir: Path) -> int | None:
    """How many distinct rollouts a run simulated (None when it kept no cache)."""
    path = Path(run_dir) / ROLLOUTS_FILE
    if not path.exists():
        return None
    cache = RolloutCache(path)
    try:
        return len(cache)
    finally:
        cache.close()
