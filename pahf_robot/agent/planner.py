"""The PAHF loop for one task: ask before acting when unsure, act on memory, learn from feedback after.

Baselines are the same loop with channels switched off, so any difference in results comes from the
channels alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from memory.policy import Fact, apply
from memory.store import MemoryStore
from pahf_robot.agent.reasoning import PreferenceSignal, Reasoner, choice_kind, target_for
from pahf_robot.bench.scenarios import TaskView
from pahf_robot.core.types import Outcome, Target

RETRIEVE_K = 10


@dataclass(frozen=True)
class Channels:
    """Which PAHF channels a mode uses.

    `ask`: may ask before acting. `remember_answers`: writes clarification answers to memory.
    `learn_from_feedback`: writes post-action feedback to memory. `read`: retrieves memory before acting.
    """

    ask: bool
    remember_answers: bool
    learn_from_feedback: bool
    read: bool


Mode = Literal["pahf", "pre-only", "post-only", "no-memory"]
MODES: dict[Mode, Channels] = {
    "pahf": Channels(ask=True, remember_answers=True, learn_from_feedback=True, read=True),
    "pre-only": Channels(ask=True, remember_answers=True, learn_from_feedback=False, read=True),
    "post-only": Channels(ask=False, remember_answers=False, learn_from_feedback=True, read=True),
    "no-memory": Channels(ask=True, remember_answers=False, learn_from_feedback=False, read=False),
}


@dataclass
class Turn:
    """What happened in one episode, from the planner's side (ground truth is added by the protocol)."""

    decision: str
    confidence: float
    rationale: str
    target: Target
    question: str | None = None
    answer: str | None = None
    outcome: Outcome | None = None
    feedback: str | None = None
    memory_ops: list[dict] = field(default_factory=list)


class Planner:
    """Runs the three PAHF steps for one user's task against a human, an executor and a memory."""

    def __init__(self, reasoner: Reasoner, memory: MemoryStore | None, channels: Channels):
        if (channels.read or channels.remember_answers or channels.learn_from_feedback) and memory is None:
            raise ValueError("this mode reads or writes memory, so it needs a MemoryStore")
        self.reasoner = reasoner
        self.memory = memory
        self.channels = channels

    def run(
        self,
        view: TaskView,
        ask_human: Callable[[str], str | None] | None,
        execute: Callable[[Target], Outcome],
        give_feedback: Callable[[Target, Outcome], str | None] | None,
    ) -> Turn:
        """One episode. `ask_human` / `give_feedback` are None when the phase allows no interaction."""
        notes = self._recall(view)
        may_ask = self.channels.ask and ask_human is not None
        decision = self.reasoner.decide(view, notes, may_ask=may_ask)
        turn = Turn(
            decision="ask" if decision.asks else "act",
            confidence=round(decision.confidence, 4),
            rationale=decision.rationale,
            target=decision.target,
        )
        if decision.asks:
            turn.question = decision.question
            turn.answer = ask_human(decision.question)
            signal = self.reasoner.interpret_answer(view, decision.question, turn.answer) if turn.answer else None
            if signal is not None:
                turn.target = target_for(view, signal.value)
                if self.channels.remember_answers:
                    turn.memory_ops.append(self._remember(view, signal, source="clarification"))
        turn.outcome = execute(turn.target)
        if give_feedback is not None and self.channels.learn_from_feedback:
            turn.feedback = give_feedback(turn.target, turn.outcome)
            signal = (
                self.reasoner.interpret_feedback(view, turn.target, turn.outcome, turn.feedback)
                if turn.feedback
                else None
            )
            if signal is not None:
                turn.memory_ops.append(self._remember(view, signal, source="feedback"))
        return turn

    def _recall(self, view: TaskView) -> list:
        if not self.channels.read:
            return []
        return self.memory.search(view.user, self.reasoner.situation(view), k=RETRIEVE_K, kind=choice_kind(view))

    def _remember(self, view: TaskView, signal: PreferenceSignal, source: str) -> dict:
        """Apply the update policy; the record leaves out note ids, which depend on other users' writes."""
        fact = Fact(
            situation=self.reasoner.situation(view),
            kind=signal.kind,
            value=signal.value,
            text=self.reasoner.note_text(view, signal),
            source=source,
            explicit_correction=signal.explicit,
        )
        op = apply(self.memory, view.user, fact, decider=self.reasoner.memory_decision)
        return {"op": op.op, "value": op.value, "source": source, "reason": op.reason}
