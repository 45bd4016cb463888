"""Where the bundled scenario and persona folders live: under the data root the envs package finds."""

from envs.assets import DATA_ROOT

SCENARIOS = DATA_ROOT / "scenarios"
PERSONAS = DATA_ROOT / "personas"
