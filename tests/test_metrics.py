"""The headline figures on small, hand-worked sets of records."""

from __future__ import annotations

from pahf_robot.core.types import Outcome, Target
from pahf_robot.run.metrics import acpe, cumulative_errors, llm_totals, phase_summary, summarise
from pahf_robot.run.records import EpisodeRecord


def record(
    correct: bool = True,
    *,
    user: str = "alex",
    mode: str = "pahf",
    phase: int = 1,
    pass_index: int = 1,
    index: int = 0,
    executed: bool = True,
    question: str | None = None,
    follow_ups: int = 0,
    feedback: str | None = None,
    reasoner_usage: dict | None = None,
    wanted: Target | None = None,
    task: str = "bring me something",
    context: str = "drowsy_morning",
    kind: str = "bring",
) -> EpisodeRecord:
    wanted = wanted or Target("tea", "hand-over")
    return EpisodeRecord(
        mode=mode,
        user=user,
        phase=phase,
        pass_index=pass_index,
        index=index,
        seed=1,
        task=task,
        context=context,
        kind=kind,
        ground_truth=wanted,
        decision="ask" if question else "act",
        confidence=0.5,
        rationale="",
        target=wanted if correct else Target("cola", "hand-over"),
        question=question,
        answer=None,
        outcome=Outcome(success=executed, failure=None if executed else "dropped", steps=10),
        feedback=feedback,
        memory_ops=[],
        preference_correct=correct,
        execution_success=executed,
        task_success=correct and executed,
        feedback_given=feedback is not None,
        correction_given=feedback is not None and not (correct and executed),
        reasoner_usage=reasoner_usage or {},
        questions=(1 if question else 0) + follow_ups,
        follow_ups=[{"question": "Which one?", "answer": "The tea."}] * follow_ups,
    )


def test_acpe_averages_the_error_rate_of_passes_one_to_t():
    # pass 1: 1 of 4 wrong (0.25); pass 2: none wrong (0.0); pass 3: 2 of 4 wrong (0.5)
    rows = [record(i != 0, pass_index=1, index=i) for i in range(4)]
    rows += [record(True, pass_index=2, index=i) for i in range(4)]
    rows += [record(i >= 2, pass_index=3, index=i) for i in range(4)]
    assert acpe(rows) == [0.25, 0.125, 0.25]


def test_acpe_orders_passes_by_number_not_by_arrival():
    rows = [record(True, pass_index=2), record(False, pass_index=1)]
    assert acpe(rows) == [1.0, 0.5]


def test_cumulative_error_counts_wrong_choices_in_episode_order_and_averages_users():
    # alex in order (phase, pass, index): wrong, right, wrong -> 1, 1, 2; given shuffled
    alex = [
        record(False, user="alex", phase=3, index=0),
        record(False, user="alex", phase=1, index=0),
        record(True, user="alex", phase=1, pass_index=2, index=0),
    ]
    # bo: right, right, wrong -> 0, 0, 1
    bo = [record(True, user="bo", index=i) for i in range(2)] + [record(False, user="bo", phase=2)]
    assert cumulative_errors(alex + bo) == [0.5, 0.5, 1.5]


def test_cumulative_error_stops_at_the_shortest_user():
    rows = [record(False, user="alex", index=i) for i in range(3)] + [record(False, user="bo")]
    assert cumulative_errors(rows) == [1.0]


def test_phase_summary_separates_choice_from_execution():
    rows = [
        record(True),
        record(True, executed=False, feedback="Good pick, but you dropped it."),
        record(False, question="Which one?", feedback="Not quite. I wanted the tea."),
        record(False),
    ]
    assert phase_summary(rows) == {
        "episodes": 4,
        "success_rate": 0.25,
        "preference_accuracy": 0.5,
        "execution_success": 0.75,
        "first_pass_success": 0.25,
        "questions_per_episode": 0.25,
        "feedback_per_episode": 0.5,
        "corrections_per_episode": 0.5,
        "human_effort_per_episode": 0.75,
    }


def test_questions_count_follow_ups_and_effort_adds_corrections():
    rows = [
        record(True, question="Which one?", follow_ups=1),  # 2 questions
        record(False, feedback="No, not that.", follow_ups=1),  # a follow-up after a refusal, 1 correction
        record(True, feedback="Thanks."),
        record(True),
    ]
    summary = phase_summary(rows)
    assert summary["questions_per_episode"] == 0.75
    assert summary["corrections_per_episode"] == 0.25
    assert summary["human_effort_per_episode"] == 1.0


def test_first_pass_success_looks_at_pass_one_only():
    rows = [record(False, pass_index=1), record(True, pass_index=1), record(True, pass_index=2)]
    assert phase_summary(rows)["first_pass_success"] == 0.5


def test_shifted_first_pass_success_scores_only_tasks_whose_answer_changed():
    coffee, tea = Target("coffee", "hand-over"), Target("tea", "hand-over")
    rows = [
        record(True, phase=1, wanted=tea, context="sleepy"),
        record(True, phase=1, wanted=tea, context="hot day"),
        record(False, phase=3, wanted=coffee, context="sleepy"),  # shifted, wrong in pass 1
        record(True, phase=3, pass_index=2, wanted=coffee, context="sleepy"),  # shifted, but pass 2
        record(False, phase=3, wanted=tea, context="hot day"),  # not shifted
    ]
    assert summarise(rows)["pahf"]["shifted_first_pass_success"] == 0.0
    rows[2] = record(True, phase=3, wanted=coffee, context="sleepy")
    assert summarise(rows)["pahf"]["shifted_first_pass_success"] == 1.0


def test_a_shift_is_found_by_situation_when_the_task_is_reworded_between_phases():
    coffee, tea = Target("coffee", "hand-over"), Target("tea", "hand-over")
    rows = [
        record(True, phase=1, wanted=tea, context="sleepy", task="I can barely keep my eyes open."),
        record(False, phase=3, wanted=coffee, context="sleepy", task="Still half asleep, bring me something."),
    ]
    assert summarise(rows)["pahf"]["shifted_first_pass_success"] == 0.0


def test_a_place_shifts_only_for_the_object_it_was_wanted_for():
    mug_shelf, jar_shelf = Target("mug", "top shelf"), Target("jar", "top shelf")
    rows = [
        record(True, phase=1, kind="place", wanted=mug_shelf),
        record(True, phase=1, kind="place", wanted=Target("jar", "fridge")),
        record(False, phase=3, kind="place", wanted=mug_shelf),  # same object, same place: not shifted
        record(True, phase=3, kind="place", wanted=jar_shelf),  # the jar moved: shifted
    ]
    assert summarise(rows)["pahf"]["shifted_first_pass_success"] == 1.0


def test_summarise_groups_by_mode_and_phase_and_reports_acpe_of_learning_phases():
    rows = [record(False, phase=1), record(True, phase=2), record(True, mode="no-memory", phase=1)]
    modes = summarise(rows)
    assert list(modes) == ["pahf", "no-memory"]
    assert list(modes["pahf"]["phases"]) == ["1", "2"]
    assert modes["pahf"]["acpe"] == {"1": [1.0]}
    assert modes["pahf"]["cumulative_error"] == [1.0, 1.0]
    assert modes["pahf"]["total_cumulative_error"] == 1.0
    assert modes["no-memory"]["total_cumulative_error"] == 0.0


def test_llm_totals_only_for_sources_that_made_calls():
    usage = {"calls": 2, "cache_hits": 1, "prompt_tokens": 100, "completion_tokens": 10, "latency_s": 0.5}
    rows = [record(reasoner_usage=usage), record(mode="no-memory", reasoner_usage=usage), record()]
    totals = llm_totals(rows)
    assert list(totals) == ["reasoner"]
    assert totals["reasoner"]["calls"] == 4 and totals["reasoner"]["episodes"] == 2
    assert set(totals["reasoner"]["by_mode"]) == {"pahf", "no-memory"}
    assert llm_totals([record()]) == {}


def test_a_record_round_trips_through_its_json_line():
    original = record(False, question="Which one?", feedback="Not quite.")
    line = original.to_json()
    assert EpisodeRecord.from_json(line) == original
    assert '"pass": 1' in line and "pass_index" not in line and "human_usage" not in line
