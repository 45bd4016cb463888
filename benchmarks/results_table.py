"""Print the README's results table from the results.json of finished runs.

    python benchmarks/results_table.py LABEL=RUN_DIR [LABEL=RUN_DIR ...]

One row per run and mode: task success per phase, human effort (questions + corrections) per episode in
each learning phase, phase-3 first-pass success on shifted tasks, and cumulative wrong choices per user.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def rows(label: str, run_dir: Path) -> list[str]:
    results = json.loads((run_dir / "results.json").read_text())
    out = []
    for mode, m in results["modes"].items():
        phases = m["phases"]
        success = " | ".join(f"{phases[p]['success_rate']:.3f}" if p in phases else "-" for p in "1234")
        effort = " / ".join(f"{phases[p]['human_effort_per_episode']:.2f}" if p in phases else "-" for p in "13")
        shifted = m.get("shifted_first_pass_success")
        shifted_text = f"{shifted:.3f}" if shifted is not None else "-"
        out.append(f"| {label} | {mode} | {success} | {effort} | {shifted_text} | {m['total_cumulative_error']:.2f} |")
    return out


def main() -> None:
    columns = ["benchmark / person", "mode", "phase 1", "phase 2", "phase 3", "phase 4", "effort p1 / p3"]
    print("| " + " | ".join([*columns, "shifted p3 pass 1", "cum. errors"]) + " |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for argument in sys.argv[1:]:
        label, _, path = argument.partition("=")
        print("\n".join(rows(label, Path(path))))


if __name__ == "__main__":
    main()
