"""Whoever watches an episode hears its story through these calls, in this order.

The protocol (or `replay`) tells the executor's observer who the user is, what they asked, the question
and answer, and the feedback; the executor adds the target it carries out and the outcome. Every call
does nothing here, so a batch run pays nothing and a watcher overrides only what it shows.
"""

from __future__ import annotations

from pahf_robot.core.types import Outcome, Target


class EpisodeObserver:
    """The story of one episode after another; this base listens and does nothing."""

    def on_episode(self, name: str) -> None:
        """A new episode starts; `name` is file-name safe (its video is called after it)."""

    def on_user(self, user: str) -> None:
        """Who the robot serves in this episode."""

    def on_task(self, task: str) -> None:
        """What the user asked for, in their words."""

    def on_question(self, question: str) -> None:
        """The robot asks before acting."""

    def on_answer(self, answer: str | None) -> None:
        """The user's answer; None when they gave none."""

    def on_target(self, target: Target) -> None:
        """What the robot is about to pick and where it will put it."""

    def on_outcome(self, outcome: Outcome) -> None:
        """What physically happened."""

    def on_feedback(self, feedback: str | None) -> None:
        """What the user said after the robot acted; None when they said nothing."""

    def on_end(self) -> None:
        """The episode is over."""
