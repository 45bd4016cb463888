"""The README's test command also lints: `ruff check .` with the rules in pyproject.toml must be clean, and
every file must be laid out as `ruff format` lays it out, so diffs show changes, not layout."""

import subprocess
import sys

import pytest

from envs.assets import DATA_ROOT as ROOT


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]], ids=["check", "format"])
def test_ruff_is_clean(command):
    result = subprocess.run([sys.executable, "-m", "ruff", *command], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
