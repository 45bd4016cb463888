"""Helpers shared by the test files: small benchmarks cut from the bundled one, and record comparison."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from pahf_robot.bench.scenarios import PHASE_FILES
from pahf_robot.core.paths import SCENARIOS

USERS = ("alex", "bo")
REQUIRE_GUI = "PAHF_REQUIRE_GUI"
"""Set (CI sets it in .ci/run) to turn the GUI tests' skip on a machine without Xvfb into a failure."""


@pytest.fixture(scope="session")
def display(xvfb) -> str:
    """The X display pytest-xvfb started for this session. Without Xvfb (or xwd, to take screenshots) the
    GUI tests are skipped with the reason in the summary, or fail when $PAHF_REQUIRE_GUI is set."""
    missing = [
        f"{tool} ({package})" for tool, package in (("Xvfb", "xvfb"), ("xwd", "x11-apps")) if shutil.which(tool) is None
    ]
    if xvfb is None or missing:
        why = (
            f"no virtual display: {', '.join(missing)} not installed; apt-get install xvfb x11-apps"
            if missing
            else "no virtual display: pytest-xvfb started none (--no-xvfb?)"
        )
        if os.environ.get(REQUIRE_GUI, "") not in ("", "0"):
            pytest.fail(f"{why} (${REQUIRE_GUI} is set, so the GUI tests must run)", pytrace=False)
        pytest.skip(f"{why} (set ${REQUIRE_GUI}=1 to make this a failure)")
    return f":{xvfb.display}"


def small_benchmark(folder: Path, per_phase: int = 6) -> Path:
    """The first scenarios of two bundled personas, written back in the PAHF schema."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in PHASE_FILES.values():
        rows = json.loads((SCENARIOS / name).read_text())
        kept = []
        for user in USERS:
            kept += [r for r in rows if r["user"] == user][:per_phase]
        (folder / name).write_text(json.dumps(kept))
    return folder


def comparable(records: list[dict]) -> list[str]:
    """Records without timestamps and wall-clock figures, in a canonical order."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if "latency" not in k}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return sorted(json.dumps(strip(r), sort_keys=True) for r in records)


def read_episodes(path: Path) -> list[dict]:
    """episodes.jsonl as written, one dict a line: the tests check the file format, not only the classes."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
