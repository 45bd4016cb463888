"""Where the bundled data folders live (the repository root holds them beside the packages)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
SCENARIOS = ROOT / "scenarios"
PERSONAS = ROOT / "personas"
