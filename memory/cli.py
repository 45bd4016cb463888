"""User control over the memory: see, export, erase what the robot remembers, and the store's size.

Mounted as `pahf-robot memory ...` by the main CLI (`add_memory_parser` + `run_memory_command`), and
runnable alone as `python -m memory.cli ...`. None of these commands embeds text, so none loads a model.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

from memory.embedders import EMBEDDERS, make_embedder
from memory.notes import Note
from memory.paths import resolve_database
from memory.store import MemoryStore


class MemoryCommandError(Exception):
    """A user-facing failure: printed as one line, exit code 1."""


def _add_commands(parser: argparse.ArgumentParser) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        required=True,
        metavar="PATH",
        help="a memory database, the --memory-db PATH a run was given, or a run directory (see --mode)",
    )
    common.add_argument(
        "--mode",
        help="which mode's database a run wrote: PATH's stem.MODE.db, or RUN_DIR/memory/MODE.db (default: pahf)",
    )
    common.add_argument(
        "--embedder",
        choices=sorted(EMBEDDERS),
        help="check the store was built with this embedder (default: trust the one it records)",
    )
    commands = parser.add_subparsers(dest="memory_command", required=True, metavar="COMMAND")
    show = commands.add_parser("show", parents=[common], help="list what is remembered about a user")
    show.add_argument("--user", required=True, help="user (persona) name")
    export = commands.add_parser("export", parents=[common], help="everything about a user as JSON, history included")
    export.add_argument("--user", required=True, help="user (persona) name")
    export.add_argument("--out", help="write the JSON to this file instead of stdout")
    forget = commands.add_parser("forget", parents=[common], help="erase every note of a user, history included")
    forget.add_argument("--user", required=True, help="user (persona) name")
    commands.add_parser("stats", parents=[common], help="users, notes and index size of the store")


def add_memory_parser(subparsers) -> argparse.ArgumentParser:
    """Register the `memory` command (show / export / forget / stats) on an argparse subparsers object."""
    parser = subparsers.add_parser(
        "memory",
        help="see, export or erase what the robot remembers about each user",
        description="See, export or erase what the robot remembers about each user.",
    )
    _add_commands(parser)
    parser.set_defaults(func=run_memory_command)
    return parser


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def _printable(text: str) -> str:
    """Text from a note as a terminal may show it: control characters (escape sequences) spelled out."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _format_note(note: Note) -> str:
    status = "active" if note.active else f"superseded by #{note.superseded_by}"
    value = f"not {note.value}" if note.stance == "avoid" else note.value
    return (
        f"#{note.id} {note.kind}: {_printable(value)}  ({status}; support {note.support}; from {note.source};"
        f" updated {_when(note.updated)})\n    {_printable(note.text)}\n    situation: {_printable(note.situation)}"
    )


def _show(store: MemoryStore, args: argparse.Namespace) -> int:
    notes = store.notes(args.user, include_superseded=True)
    active = [note for note in notes if note.active]
    history = [note for note in notes if not note.active]
    print(f"{_printable(args.user)}: {len(active)} active notes, {len(history)} superseded ({store.path})")
    for note in active:
        print(_format_note(note))
    if history:
        print("history:")
        for note in history:
            print(_format_note(note))
    return 0


def _export(store: MemoryStore, args: argparse.Namespace) -> int:
    text = json.dumps(store.export(args.user), indent=2, ensure_ascii=False)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"exported {args.user} to {args.out}")
    else:
        print(text)
    return 0


def _forget(store: MemoryStore, args: argparse.Namespace) -> int:
    count = store.forget(args.user)  # scrubs the index file even when SQLite holds nothing (a killed forget)
    if count == 0:
        raise MemoryCommandError(f"no memories of user {args.user!r} in {store.path} (its index holds none either)")
    print(f"forgot {count} notes of {_printable(args.user)} ({store.path}); its index holds none of them")
    return 0


def _stats(store: MemoryStore, args: argparse.Namespace) -> int:
    print(json.dumps(store.stats(), indent=2))
    return 0


_HANDLERS = {"show": _show, "export": _export, "forget": _forget, "stats": _stats}


def run_memory_command(args: argparse.Namespace) -> int:
    """Run a parsed `memory` command; errors are one line on stderr and exit code 1."""
    path = resolve_database(Path(args.db), args.mode)
    try:
        if not path.is_file():
            raise MemoryCommandError(f"no memory database at {path}")
        embedder = make_embedder(args.embedder) if args.embedder else None
        writes = args.memory_command == "forget"
        with MemoryStore(path, embedder, read_only=not writes) as store:
            user = getattr(args, "user", None)
            if user is not None and not writes and not store.has_user(user):
                raise MemoryCommandError(f"no memories of user {user!r} in {path}")
            return _HANDLERS[args.memory_command](store, args)
    except MemoryCommandError as exc:
        print(f"pahf-robot memory: error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError, sqlite3.Error) as exc:
        where = "" if str(path) in str(exc) else f"{path}: "
        print(f"pahf-robot memory: error: {where}{exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: `python -m memory.cli show --user NAME`."""
    parser = argparse.ArgumentParser(
        prog="python -m memory.cli", description="See, export or erase what the robot remembers about each user."
    )
    _add_commands(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run_memory_command(args)


if __name__ == "__main__":
    sys.exit(main())
