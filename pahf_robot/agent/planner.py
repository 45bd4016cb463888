"""The PAHF loop for one task: ask before acting when unsure, act on memory, learn from feedback after.

Baselines are the same loop with channels switched off, so any difference in results comes from the
channels alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from memory.policy import WELL_SUPPORTED, Fact, apply, same_value
from memory.store import MemoryStore
from pahf_robot.agent.reasoning import (
    PreferenceSignal,
    Reading,
    Reasoner,
    Unclear,
    choice_kind,
    chosen_option,
    narrowed,
    options_of,
    target_for,
)
from pahf_robot.bench.scenarios import TaskView
from pahf_robot.core.types import Outcome, Target

MAX_QUESTIONS = 2
"""Questions per episode at most: the first one, and one follow-up when a reply leaves several options open."""


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
    """What happened in one episode, from the planner's side (ground truth is added by the protocol).

    `question`/`answer` are the first exchange; `follow_ups` the further ones; `questions` counts them all.
    """

    decision: str
    confidence: float
    rationale: str
    target: Target
    question: str | None = None
    answer: str | None = None
    follow_ups: list[dict] = field(default_factory=list)
    questions: int = 0
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
        if may_ask and not decision.asks and self._doubted(view.user, decision.basis):
            decision = replace(decision, question=self.reasoner.question(view), rationale=DOUBT)
        turn = Turn(
            decision="ask" if decision.asks else "act",
            confidence=round(decision.confidence, 4),
            rationale=decision.rationale,
            target=decision.target,
        )
        if decision.asks:
            turn.question = decision.question
            turn.answer = ask_human(decision.question)
            turn.questions = 1
            reading = self.reasoner.interpret_answer(view, decision.question, turn.answer) if turn.answer else None
            if isinstance(reading, Unclear):
                reading = self._follow_up(view, turn, ask_human, reading.options)
            if isinstance(reading, PreferenceSignal) and reading.stance == "prefer":
                turn.target = target_for(view, reading.value)
                if self.channels.remember_answers:
                    turn.memory_ops.append(self._remember(view, reading, source="clarification"))
        turn.outcome = execute(turn.target)
        if give_feedback is not None and self.channels.learn_from_feedback:
            turn.feedback = give_feedback(turn.target, turn.outcome)
            if turn.feedback:
                self._learn_from_feedback(view, turn, ask_human if may_ask else None)
        return turn

    def _learn_from_feedback(self, view: TaskView, turn: Turn, ask_human: Callable[[str], str | None] | None) -> None:
        """Store what the feedback says; when it only says no, or fits several options, ask which (in budget).

        A refusal is kept as "not X here", so it is used even when no follow-up is possible.
        """
        chosen = chosen_option(view, turn.target)
        reading = self.reasoner.interpret_feedback(view, turn.target, turn.outcome, turn.feedback)
        still_open: tuple[str, ...] = ()
        if isinstance(reading, Unclear):
            still_open = reading.options
            if reading.rejected is not None:
                refusal = PreferenceSignal(choice_kind(view), reading.rejected, explicit=True, stance="avoid")
                turn.memory_ops.append(self._remember(view, refusal, source="feedback"))
        elif isinstance(reading, PreferenceSignal):
            turn.memory_ops.append(self._remember(view, reading, source="feedback"))
            if reading.stance == "avoid":
                still_open = tuple(o for o in options_of(view) if o != chosen)
        if len(still_open) == 1:
            only = PreferenceSignal(choice_kind(view), still_open[0], explicit=True)
            turn.memory_ops.append(self._remember(view, only, source="feedback"))
        elif still_open and ask_human is not None:
            answer = self._follow_up(view, turn, ask_human, still_open, rejected=chosen)
            if isinstance(answer, PreferenceSignal) and answer.stance == "prefer":
                turn.memory_ops.append(self._remember(view, answer, source="clarification"))

    def _follow_up(
        self,
        view: TaskView,
        turn: Turn,
        ask_human: Callable[[str], str | None],
        options: tuple[str, ...],
        rejected: str | None = None,
    ) -> Reading:
        """One more question about the options still open, if the budget allows; an unclear reply again is dropped."""
        if turn.questions >= MAX_QUESTIONS:
            return None
        question = self.reasoner.follow_up(view, options, rejected)
        answer = ask_human(question)
        turn.questions += 1
        turn.follow_ups.append({"question": question, "answer": answer})
        if not answer:
            return None
        reading = self.reasoner.interpret_answer(narrowed(view, options), question, answer)
        return reading if isinstance(reading, PreferenceSignal) else None

    def _doubted(self, user: str, basis: tuple[int, ...]) -> bool:
        """Beyond the paper: a correction that overturns a well-supported note says the person has changed.

        The same preference is usually remembered under other wordings of the same situation too: notes that
        hold the overturned value are doubted (the robot asks rather than acts on them). Nor does one change
        come alone, so the other notes of that kind not checked since the change began are doubted while the
        person's record since then says an old note is at least as likely stale as not: while the well-supported
        notes overturned are at least as many as the older notes checked and kept. That is where asking pays
        for itself: a question costs the person one reply, acting on a stale note costs them a correction, and
        with a uniform prior the chance that the next unchecked note is stale, (overturned + 1) / (overturned +
        kept + 2), is at least one half exactly then. A person who changed much is doubted longer than one who
        changed one thing, and nothing here is fitted.
        """
        if not basis or self.memory is None:
            return False
        history = {note.id: note for note in self.memory.notes(user, include_superseded=True)}
        relied = [history[i] for i in basis if i in history]
        if not relied:
            return False
        kind = relied[0].kind
        overturned = [
            (note, history[note.superseded_by].created)
            for note in history.values()
            if note.kind == kind and note.superseded_by in history and note.support >= WELL_SUPPORTED
        ]
        if not overturned:
            return False
        if any(same_value(n.value, old.value) and n.updated < when for n in relied for old, when in overturned):
            return True
        began = min(when for _, when in overturned)
        kept = sum(
            1
            for note in history.values()
            if note.kind == kind and note.superseded_by is None and note.created < began < note.updated
        )
        latest = max(when for _, when in overturned)
        return len(overturned) >= kept and all(note.updated < latest for note in relied)

    def _recall(self, view: TaskView) -> list:
        if not self.channels.read:
            return []
        return self.memory.search(
            view.user, self.reasoner.situation(view), k=self.reasoner.recall, kind=choice_kind(view)
        )

    def _remember(self, view: TaskView, signal: PreferenceSignal, source: str) -> dict:
        """Apply the update policy; the record leaves out note ids, which depend on other users' writes."""
        fact = Fact(
            situation=self.reasoner.situation(view),
            kind=signal.kind,
            value=signal.value,
            text=self.reasoner.note_text(view, signal),
            source=source,
            explicit_correction=signal.explicit,
            stance=signal.stance,
        )
        op = apply(self.memory, view.user, fact, decider=self.reasoner.memory_decision)
        return {"op": op.op, "value": op.value, "stance": signal.stance, "source": source, "reason": op.reason}


DOUBT = "this person changed a well-confirmed preference lately; asking before relying on older notes"
