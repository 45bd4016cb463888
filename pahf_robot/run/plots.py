"""PNG figures of a run: success per phase per mode, ACPE per pass, cumulative error over episodes."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def write_plots(results: dict, run_dir: Path) -> list[Path]:
    modes = results["modes"]
    paths = [_success_bars(modes, run_dir / "success_per_phase.png"), _error_curves(modes, run_dir / "errors.png")]
    plt.close("all")
    return paths


def _success_bars(modes: dict, path: Path) -> Path:
    phases = sorted({p for m in modes.values() for p in m["phases"]})
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(modes), 1)
    for i, (mode, m) in enumerate(modes.items()):
        xs = [j + i * width for j in range(len(phases))]
        ax.bar(xs, [m["phases"].get(p, {}).get("success_rate", 0.0) for p in phases], width, label=mode)
    ax.set_xticks([j + width * (len(modes) - 1) / 2 for j in range(len(phases))], [f"phase {p}" for p in phases])
    ax.set_ylim(0, 1)
    ax.set_ylabel("task success rate")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _error_curves(modes: dict, path: Path) -> Path:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for mode, m in modes.items():
        right.plot(m["cumulative_error"], label=mode)
        for phase, values in m["acpe"].items():
            left.plot(range(1, len(values) + 1), values, marker="o", label=f"{mode} phase {phase}")
    left.set_xlabel("learning pass")
    left.set_ylabel("ACPE")
    left.legend(fontsize=7)
    right.set_xlabel("episode (per user, all phases)")
    right.set_ylabel("cumulative wrong choices")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
