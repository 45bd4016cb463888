"""The README's test command also lints: `ruff check .` with the rules in pyproject.toml must be clean."""

import subprocess
import sys

from envs.assets import DATA_ROOT as ROOT


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
