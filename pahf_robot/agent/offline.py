"""The embedded default reasoner: sentence embeddings plus explicit grounding, no network, no LLM.

It matches the situation in a task to remembered situations, grounds each remembered item or place to the
options actually in the scene (near-synonyms by meaning, opposites rejected), and asks when the evidence
is thin or split between options.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from memory.embedders import Embedder
from memory.notes import Note
from pahf_robot.agent.grounding import Grounder, mentioned_options, situation_of
from pahf_robot.agent.reasoning import (
    Decision,
    PreferenceSignal,
    Reasoner,
    choice_kind,
    chosen_option,
    options_of,
    target_for,
)
from pahf_robot.bench.scenarios import TaskView
from pahf_robot.core.types import Outcome, Target


@dataclass(frozen=True)
class OfflineSettings:
    """Thresholds of the offline reasoner; defaults tuned on set A of the bundled benchmark only."""

    ask_below: float = 0.55
    min_margin: float = 0.08
    answer_floor: float = 0.45
    note_floor: float = 0.2
    grounding_weight: float = 0.2
    recency_weight: float = 0.1


class OfflineReasoner(Reasoner):
    name = "offline"

    def __init__(self, embedder: Embedder, settings: OfflineSettings | None = None):
        self.embedder = embedder
        self.settings = settings or OfflineSettings()
        self.grounder = Grounder(embedder, self.settings.answer_floor)

    def situation(self, view: TaskView) -> str:
        return situation_of(view.task)

    def prepare(self, views: list[TaskView]) -> None:
        texts = {text for v in views for text in (v.task, self.situation(v), *v.objects, *v.places)}
        self.embedder.embed(sorted(texts))

    def decide(self, view: TaskView, notes: list[tuple[Note, float]], may_ask: bool) -> Decision:
        options = options_of(view)
        kind = choice_kind(view)
        evidence = np.zeros(len(options), dtype=np.float32)
        support: list[str] = ["" for _ in options]
        relevant = [(note, similarity) for note, similarity in notes if note.kind == kind]
        recency = _recency([note for note, _ in relevant])
        for (note, similarity), fresh in zip(relevant, recency, strict=True):
            grounding = self.grounder.scores(note.value, options)
            for i, g in enumerate(grounding):
                if g < self.settings.note_floor:
                    continue
                score = similarity + self.settings.grounding_weight * (g - 1.0) + self.settings.recency_weight * fresh
                if score > evidence[i]:
                    evidence[i], support[i] = score, note.value
        order = np.argsort(-evidence, kind="stable")
        best = int(order[0])
        runner_up = float(evidence[order[1]]) if len(options) > 1 else 0.0
        confidence = float(evidence[best])
        if confidence <= 0.0:
            option = self._prior_guess(view, options)
            rationale = "no remembered preference applies; guessed the option closest to the request"
        else:
            option = options[best]
            rationale = f"remembered '{support[best]}' in a similar situation"
        target = target_for(view, option)
        unsure = confidence < self.settings.ask_below or confidence - runner_up < self.settings.min_margin
        question = self._question(view, options) if may_ask and unsure else None
        return Decision(target=target, question=question, confidence=confidence, rationale=rationale)

    def interpret_answer(self, view: TaskView, question: str, answer: str) -> PreferenceSignal | None:
        option = self.grounder.ground_text(answer, options_of(view))
        if option is None:
            return None
        return PreferenceSignal(kind=choice_kind(view), value=option, explicit=True)

    def interpret_feedback(
        self, view: TaskView, executed: Target, outcome: Outcome, feedback: str
    ) -> PreferenceSignal | None:
        chosen = chosen_option(view, executed)
        others = [o for o in options_of(view) if o != chosen]
        named = mentioned_options(feedback, others)
        if named:
            return PreferenceSignal(kind=choice_kind(view), value=named[0], explicit=True)
        if not outcome.success:
            return None
        return PreferenceSignal(kind=choice_kind(view), value=chosen, explicit=False)

    def note_text(self, view: TaskView, signal: PreferenceSignal) -> str:
        situation = self.situation(view)
        if signal.kind == "place":
            return f"When '{situation}', {view.user} wants the {view.objects[0]} put on/in the {signal.value}."
        return f"When '{situation}', {view.user} wants the {signal.value}."

    def _prior_guess(self, view: TaskView, options: tuple[str, ...]) -> str:
        """Without memory the best one can do is the option that fits the request most plainly."""
        vectors = self.embedder.embed([view.task, *options])
        return options[int(np.argmax(vectors[1:] @ vectors[0]))]

    @staticmethod
    def _question(view: TaskView, options: tuple[str, ...]) -> str:
        listed = ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else options[0]
        if view.places:
            return f"Where would you like the {view.objects[0]}: {listed}?"
        return f"Which would you like: {listed}?"


def _recency(notes: list[Note]) -> list[float]:
    """Rank by last update, 0 for the oldest retrieved note and 1 for the newest.

    After a drift the newer preference wins ties. Ranks, not timestamps, keep decisions reproducible.
    """
    if len(notes) < 2:
        return [1.0] * len(notes)
    order = sorted(range(len(notes)), key=lambda i: (notes[i].updated, notes[i].id))
    rank = {i: r for r, i in enumerate(order)}
    return [rank[i] / (len(notes) - 1) for i in range(len(notes))]
