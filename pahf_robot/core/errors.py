"""One error type for bad input files, so the CLI can report them on one line without a traceback."""

from __future__ import annotations

from pathlib import Path


def display_path(path: str | Path) -> str:
    """Paths relative to the working directory when possible: shorter and what the user typed."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


class InputError(ValueError):
    """A persona or scenario file that cannot be used, pinpointed to file, entry and field.

    `str()` is one line, e.g. ``scenarios/x.json: scenario 3: field 'user_intent_object': missing``.
    """

    def __init__(
        self,
        file: str | Path,
        problem: str,
        *,
        index: int | str | None = None,
        field: str | None = None,
        entry: str = "scenario",
    ):
        self.file = display_path(file)
        self.index = index
        self.field = field
        self.problem = problem
        self.entry = entry
        super().__init__(self._line())

    def _line(self) -> str:
        parts = [self.file]
        if self.index is not None:
            parts.append(f"{self.entry} {self.index}")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        parts.append(self.problem)
        return " ".join(": ".join(parts).split())

    def __str__(self) -> str:
        return self._line()
