"""`pahf-robot replay`: re-run one recorded episode of a batch so a user can look at it.

An episode is fully determined by its scene (from the run's scenarios), its seed and the target the
planner chose, all in the run directory; physics is stepped, never timed, so replaying those gives
the recorded outcome again. The planner is not re-run: its question, answer and the human's feedback
are shown as recorded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pahf_robot.bench.scenarios import Scenario
from pahf_robot.core.types import Outcome
from pahf_robot.run.config import RunConfig, require_display
from pahf_robot.run.protocol import episode_name
from pahf_robot.run.records import EPISODES_FILE, EpisodeRecord, read_records
from pahf_robot.run.runner import load_run_config
from pahf_robot.run.worker import load_run_benchmark, make_executor, replay_config


def add_replay_parser(subparsers: argparse._SubParsersAction) -> None:
    replay = subparsers.add_parser(
        "replay",
        help="re-run one recorded episode of a run (same scene, seed and target) to watch it",
        description="Re-run one episode of RUN_DIR with the same scene, seed and chosen target, headless, in the "
        "GUI or into a video. Prints the recorded and the replayed outcome; exits 1 if they differ.",
    )
    replay.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `pahf-robot run`")
    replay.add_argument(
        "--episode",
        type=int,
        required=True,
        metavar="N",
        help="which episode: its line in RUN_DIR/episodes.jsonl, counting from 0",
    )
    show = replay.add_mutually_exclusive_group()
    show.add_argument("--gui", action="store_true", help="watch in the PyBullet GUI (needs a display)")
    show.add_argument("--record", metavar="FILE", help="write the episode as a video (.mp4, or .gif)")
    replay.add_argument("--speed", type=float, default=1.0, help="GUI playback speed factor (default: 1)")
    replay.add_argument(
        "--local",
        action="store_true",
        help="replay on the in-process PyBullet robot even if the run used --driver remote (default: the run's driver)",
    )


def load_episode(run_dir: Path, number: int) -> tuple[RunConfig, EpisodeRecord, Scenario]:
    """The run's configuration, episode `number` (0-based line of episodes.jsonl) and its scenario."""
    config = load_run_config(run_dir, flag="")
    if config.sim != "pybullet":
        raise ValueError(f"{run_dir}: the run used --sim {config.sim}; its episodes have no physics to replay")
    records = read_records(run_dir / EPISODES_FILE)
    if not 0 <= number < len(records):
        raise ValueError(f"--episode {number}: {run_dir} has {len(records)} episodes (0 to {len(records) - 1})")
    record = records[number]
    benchmark = load_run_benchmark(config)
    scenario = next((s for s in benchmark.for_user(record.user, record.phase) if s.index == record.index), None)
    if scenario is None:
        raise ValueError(
            f"--episode {number}: scenario {record.index} of {record.user} (phase {record.phase}) is no "
            f"longer in {config.scenarios or 'the bundled scenarios'}"
        )
    return config, record, scenario


def replay(
    run_dir: Path,
    number: int,
    gui: bool = False,
    speed: float = 1.0,
    record_to: Path | None = None,
    local: bool = False,
) -> tuple[EpisodeRecord, Outcome, Path | None]:
    """Re-run episode `number` of `run_dir`; returns its record, the replayed outcome and the video written."""
    if gui:
        require_display("--gui", "`xvfb-run -a ...`", "use --record")
    if speed <= 0:
        raise ValueError("--speed: must be positive")
    config, record, scenario = load_episode(run_dir, number)
    record_dir = str(record_to.parent) if record_to is not None else None
    executor = make_executor(replay_config(config, gui=gui, speed=speed, record=record_dir, local=local))
    story = executor.observer
    try:
        if record_to is not None:
            story.on_episode(record_to.name)
        else:
            story.on_episode(episode_name(record.mode, record.user, record.phase, record.pass_index, record.index))
        story.on_user(record.user)
        story.on_task(record.task)
        if record.question:
            story.on_question(record.question)
        if record.answer:
            story.on_answer(record.answer)
        outcome = executor.execute(scenario.view(), record.target, record.seed)
        if record.feedback:
            story.on_feedback(record.feedback)
        story.on_end()
        video = executor.watch.written[-1] if record_to is not None else None
    finally:
        executor.close()
    return record, outcome, video


def _describe(outcome: Outcome) -> str:
    result = "success" if outcome.success else f"failed ({outcome.failure})"
    return f"{result}, {outcome.steps} physics steps"


def run_replay(args: argparse.Namespace) -> int:
    record_to = Path(args.record) if args.record else None
    record, replayed, video = replay(
        Path(args.run_dir), args.episode, gui=args.gui, speed=args.speed, record_to=record_to, local=args.local
    )
    target = record.target
    print(
        f"episode {args.episode}: {record.user}, phase {record.phase}, pass {record.pass_index}, "
        f"scenario {record.index}: {target.object} -> {target.place}"
    )
    print(f"recorded: {_describe(record.outcome)}")
    print(f"replayed: {_describe(replayed)}")
    if video is not None:
        print(f"video: {video}")
    if replayed != record.outcome:
        print("pahf-robot: error: the replay differs from the recorded episode", file=sys.stderr)
        return 1
    return 0
