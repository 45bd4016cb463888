"""Where the bundled data folders live: beside the packages in a checkout (editable install), else
under `<prefix>/share/pahf-robot`, where a wheel install puts them."""

import sys
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent
ROOT = _CHECKOUT if (_CHECKOUT / "scenarios").is_dir() else Path(sys.prefix) / "share" / "pahf-robot"
ASSETS = ROOT / "assets"
SCENARIOS = ROOT / "scenarios"
PERSONAS = ROOT / "personas"
