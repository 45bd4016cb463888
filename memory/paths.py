"""Where a run keeps each mode's memory, in one place so `run --memory-db` and `memory show --db` agree.

A run keeps one database per mode (baselines never read each other's notes under the same user id):

- without `--memory-db`: `RUN_DIR/memory/MODE.db`;
- with `--memory-db PATH`: `PATH`'s stem + `.MODE` + its suffix, beside it (`mem.db` -> `mem.pahf.db`).

`memory show --db X --mode MODE` accepts any of: the database file itself, the `--memory-db` PATH a run
was given, or a run directory, and resolves them with the same rules.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODE = "pahf"


def mode_database(base: Path, mode: str) -> Path:
    """The file a run given `--memory-db base` writes for `mode`."""
    return base.with_name(f"{base.stem}.{mode}{base.suffix or '.db'}")


def run_database(run_dir: Path, mode: str) -> Path:
    """The file a run without `--memory-db` writes for `mode` in its run directory."""
    return run_dir / "memory" / f"{mode}.db"


def resolve_database(db: Path, mode: str | None) -> Path:
    """The database a user means by `--db db [--mode mode]`; the first that exists, else the likeliest."""
    if db.is_dir():
        return run_database(db, mode or DEFAULT_MODE)
    if mode is not None:
        derived = mode_database(db, mode)
        return derived if derived.is_file() or not db.is_file() else db
    if db.is_file():
        return db
    derived = mode_database(db, DEFAULT_MODE)
    return derived if derived.is_file() else db
