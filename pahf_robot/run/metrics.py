"""Headline figures computed from episode records only, so any run can be re-scored from its JSONL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from statistics import mean

from pahf_robot.core.types import Target
from pahf_robot.llm.client import usage_totals
from pahf_robot.run.records import EpisodeRecord


def _rate(rows: list[EpisodeRecord], holds: Callable[[EpisodeRecord], object]) -> float:
    return round(mean(1.0 if holds(r) else 0.0 for r in rows), 4) if rows else 0.0


def phase_summary(rows: list[EpisodeRecord]) -> dict:
    """Task success = right choice and executed; the two are also reported apart.

    Human effort = questions plus corrections per episode: an agent that asks every time makes no wrong
    choice while learning, but it is not free. `first_pass_success` is success in the first pass only,
    where after a preference shift the memory is confidently wrong.
    """
    questions = round(mean(r.questions for r in rows), 4) if rows else 0.0
    corrections = _rate(rows, lambda r: r.correction_given)
    return {
        "episodes": len(rows),
        "success_rate": _rate(rows, lambda r: r.task_success),
        "preference_accuracy": _rate(rows, lambda r: r.preference_correct),
        "execution_success": _rate(rows, lambda r: r.execution_success),
        "first_pass_success": _rate([r for r in rows if r.pass_index == 1], lambda r: r.task_success),
        "questions_per_episode": questions,
        "feedback_per_episode": _rate(rows, lambda r: r.feedback_given),
        "corrections_per_episode": corrections,
        "human_effort_per_episode": round(questions + corrections, 4),
    }


def acpe(rows: list[EpisodeRecord]) -> list[float]:
    """ACPE_t = mean over passes 1..t of the error rate (1 - preference accuracy) of each pass."""
    by_pass: dict[int, list[EpisodeRecord]] = defaultdict(list)
    for r in rows:
        by_pass[r.pass_index].append(r)
    errors = [1.0 - _rate(by_pass[p], lambda r: r.preference_correct) for p in sorted(by_pass)]
    return [round(mean(errors[: t + 1]), 4) for t in range(len(errors))]


def cumulative_errors(rows: list[EpisodeRecord]) -> list[float]:
    """Wrong choices up to each step of a user's sequence, averaged over users."""
    by_user: dict[str, list[EpisodeRecord]] = defaultdict(list)
    for r in rows:
        by_user[r.user].append(r)
    curves = []
    for user_rows in by_user.values():
        user_rows.sort(key=lambda r: (r.phase, r.pass_index, r.index))
        total, curve = 0, []
        for r in user_rows:
            total += 0 if r.preference_correct else 1
            curve.append(total)
        curves.append(curve)
    length = min((len(c) for c in curves), default=0)
    return [round(mean(c[i] for c in curves), 4) for i in range(length)]


def _preference_key(r: EpisodeRecord) -> tuple:
    """What a preference is about: the user's situation (the benchmark's context label) and the kind of
    choice, and for a place task the object moved. Task texts are reworded between phases, so they cannot
    say which phase-3 task is the same as a phase-1 one."""
    return (r.user, r.context, r.kind, r.ground_truth.object if r.kind == "place" else "")


def shifted_first_pass_success(rows: list[EpisodeRecord]) -> float | None:
    """Phase-3 success in pass 1 on the tasks whose wanted target is not what phase 1 wanted for the same
    preference (`_preference_key`): where memory is confidently wrong right after the persona shifts. None
    without such tasks."""
    before: dict[tuple, set[Target]] = defaultdict(set)
    for r in rows:
        if r.phase == 1:
            before[_preference_key(r)].add(r.ground_truth)
    shifted = [
        r
        for r in rows
        if r.phase == 3
        and r.pass_index == 1
        and _preference_key(r) in before
        and r.ground_truth not in before[_preference_key(r)]
    ]
    return _rate(shifted, lambda r: r.task_success) if shifted else None


def summarise(records: list[EpisodeRecord]) -> dict:
    """The `modes` block of results.json."""
    by_mode: dict[str, list[EpisodeRecord]] = defaultdict(list)
    for r in records:
        by_mode[r.mode].append(r)
    modes = {}
    for mode, rows in by_mode.items():
        by_phase: dict[int, list[EpisodeRecord]] = defaultdict(list)
        for r in rows:
            by_phase[r.phase].append(r)
        curve = cumulative_errors(rows)
        modes[mode] = {
            "phases": {str(p): phase_summary(by_phase[p]) for p in sorted(by_phase)},
            "acpe": {str(p): acpe(by_phase[p]) for p in (1, 3) if p in by_phase},
            "cumulative_error": curve,
            "total_cumulative_error": curve[-1] if curve else 0.0,
            "shifted_first_pass_success": shifted_first_pass_success(rows),
        }
    return modes


def llm_totals(records: list[EpisodeRecord]) -> dict:
    """results.json's "llm" section: usage of the reasoner and of an LLM human, overall and per mode."""
    totals = {}
    for source in ("reasoner", "human"):
        used = [(r.mode, usage) for r in records if (usage := getattr(r, f"{source}_usage"))]
        if not used:
            continue
        totals[source] = usage_totals([usage for _, usage in used])
        totals[source]["by_mode"] = {
            m: usage_totals([usage for mode, usage in used if mode == m]) for m in sorted({mode for mode, _ in used})
        }
    return totals
