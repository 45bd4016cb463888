"""The reasoner the paper used: every judgement is one schema-constrained LLM call, checked against the scene.

A reply may only choose options that are in the scene; one that does not is sent back with the error,
and after the last attempt the reasoner falls back to asking (for a decision) or to no signal (for an
answer or feedback), so a weak or misbehaving model costs questions, never invented targets.
Memory stays with the planner's update policy: this class only proposes a memory operation, which must
pass `memory.policy.check_decision`, or the shared rule `memory.policy.decide` is used instead.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from memory import policy
from memory.notes import Note
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
from pahf_robot.llm import prompts
from pahf_robot.llm.client import InvalidReply, LLMClient, Usage

log = logging.getLogger(__name__)


class LLMReasoner(Reasoner):
    name = "llm"

    def __init__(self, client: LLMClient, attempts: int = 3):
        self.client = client
        self.attempts = attempts
        self._usage = Usage()

    def situation(self, view: TaskView) -> str:
        return view.task

    def usage(self) -> dict:
        return self._usage.take()

    def decide(self, view: TaskView, notes: list[tuple[Note, float]], may_ask: bool) -> Decision:
        options = options_of(view)
        notes_text = "\n".join(
            prompts.NOTE_LINE.format(text=note.text, similarity=similarity) for note, similarity in notes
        )
        instruction = prompts.INSTRUCT_MAY_ASK if may_ask else prompts.INSTRUCT_ACT
        content = prompts.DECIDE.format(
            user=view.user,
            task=view.task,
            scene=view.scene,
            choice_line=_choice_line(view),
            options=prompts.listed(options),
            notes=notes_text or prompts.NO_NOTES,
            instruction=instruction.format(user=view.user),
        )

        def check(reply: dict) -> Decision:
            if reply["target"] not in options:
                raise InvalidReply(f"target {reply['target']!r} is not in the scene")
            question = reply.get("question", "").strip() if reply["action"] == "ask" else ""
            if reply["action"] == "ask" and not question:
                raise InvalidReply('"action" is "ask" but "question" is empty')
            return Decision(
                target=target_for(view, reply["target"]),
                question=question or None,
                confidence=prompts.CONFIDENCE[reply["confidence"]],
                rationale=prompts.RATIONALE.format(model=self.client.settings.model, confidence=reply["confidence"]),
            )

        decision, error = self.client.structured(
            self._messages(content),
            prompts.decide_schema(options, may_ask),
            "decision",
            self._usage,
            check,
            self.attempts,
        )
        return decision if decision is not None else self._fallback(view, may_ask, error)

    def interpret_answer(self, view: TaskView, question: str, answer: str) -> PreferenceSignal | None:
        options = options_of(view)
        content = prompts.INTERPRET_ANSWER.format(
            user=view.user,
            task=view.task,
            choice_line=_choice_line(view),
            options=prompts.listed(options),
            question=question,
            answer=answer,
        )

        def check(reply: dict) -> PreferenceSignal | None:
            wanted = reply["wanted"]
            if wanted is not None and wanted not in options:
                raise InvalidReply(f"wanted {wanted!r} is not in the scene")
            return PreferenceSignal(kind=choice_kind(view), value=wanted, explicit=True) if wanted else None

        signal, error = self.client.structured(
            self._messages(content), prompts.answer_schema(options), "answer", self._usage, check, self.attempts
        )
        if error is not None:
            self._usage.fallbacks += 1
            log.warning("answer of %s not interpreted: %s", view.user, error)
        return signal

    def interpret_feedback(
        self, view: TaskView, executed: Target, outcome: Outcome, feedback: str
    ) -> PreferenceSignal | None:
        chosen = chosen_option(view, executed)
        options = options_of(view)
        others = [o for o in options if o != chosen]
        outcome_text = (
            prompts.OUTCOME_SUCCESS
            if outcome.success
            else prompts.OUTCOME_FAILURE.format(failure=(outcome.failure or "unknown").replace("_", " "))
        )
        content = prompts.INTERPRET_FEEDBACK.format(
            user=view.user,
            task=view.task,
            choice_line=_choice_line(view),
            options=prompts.listed(options),
            chosen=chosen,
            outcome=outcome_text,
            feedback=feedback,
        )

        def check(reply: dict) -> PreferenceSignal | None:
            verdict, wanted = reply["verdict"], reply["wanted"]
            if verdict == "corrected":
                if wanted is None or wanted not in others:
                    raise InvalidReply(f'"corrected" needs "wanted" to be one of: {prompts.listed(others)}')
                return PreferenceSignal(kind=choice_kind(view), value=wanted, explicit=True)
            if verdict == "confirmed" and outcome.success:
                return PreferenceSignal(kind=choice_kind(view), value=chosen, explicit=False)
            return None

        signal, error = self.client.structured(
            self._messages(content), prompts.feedback_schema(others), "feedback", self._usage, check, self.attempts
        )
        if error is not None:
            self._usage.fallbacks += 1
            log.warning("feedback of %s not interpreted: %s", view.user, error)
        return signal

    def memory_decision(self, fact: policy.Fact, similar: list[tuple[Note, float]]) -> policy.MemoryDecision:
        """One call choosing among the candidate notes, checked by the policy; no call when there is no choice.

        Notes are numbered 1..n rather than shown by store id: ids depend on other users' writes, and the
        prompt must not, or runs would neither repeat nor replay from the cache.
        """
        candidates = policy.candidates_of(fact, similar)
        if not candidates:
            return policy.decide(fact, similar)
        numbered = [(replace(note, id=number), score) for number, (note, score) in enumerate(candidates, start=1)]
        store_ids = {number: note.id for number, (note, _) in enumerate(candidates, start=1)}
        content = prompts.MEMORY_DECISION.format(
            text=fact.text,
            situation=fact.situation,
            value=fact.value,
            source=fact.source,
            explicit=prompts.MEMORY_EXPLICIT if fact.explicit_correction else "",
            notes="\n".join(
                prompts.MEMORY_NOTE_LINE.format(
                    number=note.id, text=note.text, value=note.value, support=note.support, similarity=score
                )
                for note, score in numbered
            ),
            well_supported=policy.WELL_SUPPORTED,
        )

        def check(reply: dict) -> policy.MemoryDecision:
            decision = policy.proposed(fact, numbered, reply["op"], reply["note_id"], f"llm: {reply['reason']}")
            problem = policy.check_decision(fact, numbered, decision)
            if problem is not None:
                raise InvalidReply(problem)
            return replace(decision, note_id=store_ids.get(decision.note_id))

        decision, error = self.client.structured(
            self._messages(content), prompts.memory_schema(list(store_ids)), "memory", self._usage, check, self.attempts
        )
        if decision is not None:
            return decision
        self._usage.fallbacks += 1
        log.warning("memory decision fell back to the policy: %s", error)
        return policy.decide(fact, similar)

    def note_text(self, view: TaskView, signal: PreferenceSignal) -> str:
        situation = self.situation(view)
        if signal.kind == "place":
            return prompts.NOTE_PLACE.format(
                situation=situation, user=view.user, object=view.objects[0], value=signal.value
            )
        return prompts.NOTE_OBJECT.format(situation=situation, user=view.user, value=signal.value)

    def _fallback(self, view: TaskView, may_ask: bool, error: str | None) -> Decision:
        """No usable reply: ask the person (the safe move) and keep the first option as the untrusted guess."""
        self._usage.fallbacks += 1
        log.warning("decision for %s fell back to asking: %s", view.user, error)
        options = options_of(view)
        if view.places:
            question = prompts.FALLBACK_QUESTION_PLACE.format(object=view.objects[0], options=prompts.listed(options))
        else:
            question = prompts.FALLBACK_QUESTION_OBJECT.format(options=prompts.listed(options))
        template = prompts.FALLBACK_RATIONALE if may_ask else prompts.FALLBACK_RATIONALE_NO_ASK
        return Decision(
            target=target_for(view, options[0]),
            question=question if may_ask else None,
            confidence=0.0,
            rationale=template.format(attempts=self.attempts, error=error),
        )

    @staticmethod
    def _messages(content: str) -> list[dict]:
        return [{"role": "system", "content": prompts.PLANNER_SYSTEM}, {"role": "user", "content": content}]


def _choice_line(view: TaskView) -> str:
    return prompts.CHOICE_PLACE.format(object=view.objects[0]) if view.places else prompts.CHOICE_OBJECT
