"""A simulated user who speaks through an LLM, as in the reference: persona and hidden preference as system prompt.

What the user means (the wanted option, a correction, a failure report, and the seeded noise) is still
decided by the rule-based human, so both humans carry the same information and the same counters; the LLM
only words it in the persona's voice. A reply that names other scene items than the rule-based meaning,
or none of its items, would change the information, so it is re-asked once and then replaced by the
rule-based wording.
"""

from __future__ import annotations

import logging

from pahf_robot.agent.grounding import mentioned_options
from pahf_robot.bench.personas import Persona
from pahf_robot.bench.scenarios import Scenario
from pahf_robot.core.types import Outcome, Target
from pahf_robot.human.rule import SimulatedHuman
from pahf_robot.llm import prompts
from pahf_robot.llm.client import InvalidReply, LLMClient, Usage

log = logging.getLogger(__name__)

ANONYMOUS = "someone who lives here"


class LLMHuman(SimulatedHuman):
    """`SimulatedHuman` with an LLM's wording; selectable apart from the reasoner (`--human llm`)."""

    def __init__(
        self, persona: Persona | None, client: LLMClient, *, noise: float = 0.0, seed: int = 0, attempts: int = 2
    ):
        super().__init__(persona, noise=noise, seed=seed)
        self.client = client
        self.attempts = attempts
        self._usage = Usage()

    def usage(self) -> dict:
        """Calls, tokens and latency since the last call, like `Reasoner.usage`."""
        return self._usage.take()

    def answer(self, scenario: Scenario, question: str) -> str | None:
        meaning = super().answer(scenario, question)
        if meaning is None:
            return None
        return self._voice(scenario, prompts.HUMAN_ANSWER.format(question=question, meaning=meaning), meaning)

    def feedback(self, scenario: Scenario, chosen: Target, outcome: Outcome | None) -> str | None:
        meaning = super().feedback(scenario, chosen, outcome)
        if meaning is None:
            return None
        if scenario.kind == "place":
            did = prompts.HUMAN_DID_PLACE.format(object=chosen.object, place=chosen.place)
        else:
            did = prompts.HUMAN_DID_OBJECT.format(object=chosen.object)
        if outcome is None or outcome.success:
            outcome_text = prompts.OUTCOME_SUCCESS
        else:
            outcome_text = prompts.OUTCOME_FAILURE.format(failure=(outcome.failure or "unknown").replace("_", " "))
        content = prompts.HUMAN_FEEDBACK.format(did=did, outcome=outcome_text, meaning=meaning)
        return self._voice(scenario, content, meaning)

    def _voice(self, scenario: Scenario, content: str, meaning: str) -> str:
        """The LLM's wording of `meaning`, or `meaning` itself when the LLM changes what is said."""
        names = (*scenario.objects, *scenario.places)
        meant = set(mentioned_options(meaning, names))

        def check(reply: dict) -> str:
            text = reply["reply"].strip()
            if not text:
                raise InvalidReply("the reply is empty")
            said = set(mentioned_options(text, names))
            if said != meant:
                must = prompts.listed(sorted(meant)) or "no item or place"
                raise InvalidReply(f"the reply must name exactly {must}, spelled as given")
            return text

        messages = [
            {"role": "system", "content": self._system(scenario)},
            {"role": "user", "content": content},
        ]
        text, error = self.client.structured(
            messages, prompts.human_schema(), "human_reply", self._usage, check, self.attempts
        )
        if text is None:
            self._usage.fallbacks += 1
            log.info("LLM human reply unusable (%s); using the rule-based wording", error)
            return meaning
        return text

    def _system(self, scenario: Scenario) -> str:
        persona = self.persona
        if scenario.kind == "place":
            preference = prompts.HUMAN_PREFERENCE_PLACE.format(
                object=scenario.target_object, place=scenario.target_place
            )
        else:
            preference = prompts.HUMAN_PREFERENCE_OBJECT.format(item=scenario.target_object)
        reason = ""
        if persona is not None and scenario.context in persona.preferences:
            pref = persona.preference(scenario.context, scenario.phase)
            said = pref.place_reason if scenario.kind == "place" else pref.reason
            reason = prompts.HUMAN_REASON.format(reason=said) if said else ""
        return prompts.HUMAN_SYSTEM.format(
            name=persona.name if persona else scenario.user,
            description=persona.description if persona else ANONYMOUS,
            task=scenario.task,
            preference=preference,
            reason=reason,
        )
