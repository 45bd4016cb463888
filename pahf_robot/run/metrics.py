"""Headline figures computed from episode records only, so any run can be re-scored from its JSONL."""

from __future__ import annotations

from collections import defaultdict
from statistics import mean


def _rate(rows: list[dict], key: str) -> float:
    return round(mean(1.0 if r[key] else 0.0 for r in rows), 4) if rows else 0.0


def phase_summary(rows: list[dict]) -> dict:
    """Task success = right choice and executed; the two are also reported apart."""
    return {
        "episodes": len(rows),
        "success_rate": _rate(rows, "task_success"),
        "preference_accuracy": _rate(rows, "preference_correct"),
        "execution_success": _rate(rows, "execution_success"),
        "questions_per_episode": _rate(rows, "question"),
        "feedback_per_episode": _rate(rows, "feedback_given"),
        "corrections_per_episode": _rate(rows, "correction_given"),
    }


def acpe(rows: list[dict]) -> list[float]:
    """ACPE_t = mean over passes 1..t of the error rate (1 - preference accuracy) of each pass."""
    by_pass: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_pass[r["pass"]].append(r)
    errors = [1.0 - _rate(by_pass[p], "preference_correct") for p in sorted(by_pass)]
    return [round(mean(errors[: t + 1]), 4) for t in range(len(errors))]


def cumulative_errors(rows: list[dict]) -> list[float]:
    """Wrong choices up to each step of a user's sequence, averaged over users."""
    by_user: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_user[r["user"]].append(r)
    curves = []
    for user_rows in by_user.values():
        user_rows.sort(key=lambda r: (r["phase"], r["pass"], r["index"]))
        total, curve = 0, []
        for r in user_rows:
            total += 0 if r["preference_correct"] else 1
            curve.append(total)
        curves.append(curve)
    length = min((len(c) for c in curves), default=0)
    return [round(mean(c[i] for c in curves), 4) for i in range(length)]


def summarise(records: list[dict]) -> dict:
    """The `modes` block of results.json."""
    by_mode: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_mode[r["mode"]].append(r)
    modes = {}
    for mode, rows in by_mode.items():
        by_phase: dict[int, list[dict]] = defaultdict(list)
        for r in rows:
            by_phase[r["phase"]].append(r)
        curve = cumulative_errors(rows)
        modes[mode] = {
            "phases": {str(p): phase_summary(by_phase[p]) for p in sorted(by_phase)},
            "acpe": {str(p): acpe(by_phase[p]) for p in (1, 3) if p in by_phase},
            "cumulative_error": curve,
            "total_cumulative_error": curve[-1] if curve else 0.0,
        }
    return modes
