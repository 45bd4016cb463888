"""The decisions a PAHF planner delegates, as one interface every reasoner implements.

The planner owns the loop and the channels; a reasoner only judges: act or ask, what to ask, and what an
answer or a piece of feedback says about the user's preference. Offline and LLM reasoners slot in here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace

from envs.layout import HAND_OVER
from memory import policy
from memory.notes import Note
from pahf_robot.bench.scenarios import TaskView
from pahf_robot.core.types import Outcome, Target


@dataclass(frozen=True)
class Decision:
    """Act on `target`, or ask `question` first (then `target` is the best guess if no answer comes)."""

    target: Target
    question: str | None
    confidence: float
    rationale: str
    basis: tuple[int, ...] = ()
    """Ids of the remembered notes the choice rests on (empty for a guess)."""

    @property
    def asks(self) -> bool:
        return self.question is not None


@dataclass(frozen=True)
class PreferenceSignal:
    """A preference carried by an answer or feedback, grounded to a scene option.

    `explicit` marks a direct statement or correction by the user, which may overturn a well-supported note.
    `stance` "avoid" means the user turned `value` down ("No, not that.") without saying what they wanted.
    """

    kind: str
    value: str
    explicit: bool
    stance: str = "prefer"


@dataclass(frozen=True)
class Unclear:
    """Words that point to more than one option ("the tea" beside two teas): worth one follow-up question.

    `rejected` is the option the same words turned down, if any (a correction always rejects the choice).
    """

    options: tuple[str, ...]
    rejected: str | None = None


Reading = PreferenceSignal | Unclear | None
"""What one reply says about the open choice; None when it says nothing usable."""


def choice_kind(view: TaskView) -> str:
    """Bring-me scenes choose an object; put-away scenes choose a place."""
    return "place" if view.places else "object"


def options_of(view: TaskView) -> tuple[str, ...]:
    return view.places if view.places else view.objects


def target_for(view: TaskView, option: str) -> Target:
    """The full pick-and-place target once the open choice is made."""
    if view.places:
        return Target(object=view.objects[0], place=option)
    return Target(object=option, place=HAND_OVER)


def chosen_option(view: TaskView, target: Target) -> str:
    return target.place if view.places else target.object


def narrowed(view: TaskView, options: Sequence[str]) -> TaskView:
    """The same task with only `options` open, for a follow-up question about them."""
    return replace(view, places=tuple(options)) if view.places else replace(view, objects=tuple(options))


def listed(options: Sequence[str]) -> str:
    return ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else options[0]


class Reasoner(ABC):
    """Judgements the planner needs; implementations must not touch memory or the robot."""

    name: str = "reasoner"
    recall: int = 10
    """How many of the user's closest notes `decide` is shown."""

    @abstractmethod
    def decide(self, view: TaskView, notes: list[tuple[Note, float]], may_ask: bool) -> Decision:
        """Choose a target from the scene and the user's retrieved notes, or a question when unsure."""

    @abstractmethod
    def interpret_answer(self, view: TaskView, question: str, answer: str) -> Reading:
        """The preference an answer to `question` states, Unclear when it fits several options, else None."""

    @abstractmethod
    def interpret_feedback(self, view: TaskView, executed: Target, outcome: Outcome, feedback: str) -> Reading:
        """A confirmation (same option, not explicit), a correction (other option, explicit), a refusal of the
        executed option (stance "avoid"), Unclear when a correction fits several options, else None.

        Negative words never become a confirmation. A report of a physical failure without a correction must
        yield None: a drop is not a preference.
        """

    @abstractmethod
    def situation(self, view: TaskView) -> str:
        """The text a memory note about this task is keyed on."""

    @abstractmethod
    def note_text(self, view: TaskView, signal: PreferenceSignal) -> str:
        """A one-sentence, human-readable summary of the preference for memory."""

    def question(self, view: TaskView) -> str:
        """A first clarifying question listing the open options."""
        if view.places:
            return f"Where would you like the {view.objects[0]}: {listed(options_of(view))}?"
        return f"Which would you like: {listed(options_of(view))}?"

    def follow_up(self, view: TaskView, options: Sequence[str], rejected: str | None = None) -> str:
        """A second question when a reply left several options open (or only said no to `rejected`)."""
        if rejected is not None:
            return f"Sorry about the {rejected}. Which would you have preferred: {listed(options)}?"
        return f"Sorry, which one do you mean: {listed(options)}?"

    def memory_decision(self, fact: policy.Fact, similar: list[tuple[Note, float]]) -> policy.MemoryDecision:
        """ADD, UPDATE or NONE for a fact just learned, given the user's scored notes about its situation.

        The offline reasoner uses the shared rule; an LLM may propose its own, which the policy then checks.
        """
        return policy.decide(fact, similar)

    def prepare(self, views: list[TaskView]) -> None:
        """Warm caches for the tasks ahead (one batched model call beats thousands of small ones)."""

    def usage(self) -> dict:
        """Calls, tokens and latency since the last call, for per-episode accounting."""
        return {}
