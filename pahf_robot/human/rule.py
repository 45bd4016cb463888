"""A simulated user who answers clarifying questions and gives feedback after the robot acts.

Two ways of talking (`style`). "exact" names the wanted option exactly as the scene spells it, an answer
key that makes any learner look good. "natural" talks like people do (see `phrasing` and the mix in
scenarios/README.md): the name, part of it, a description, a bare "No, not that." or a reason why not;
asked a second time within one episode, it answers precisely (the name or a part only it has).
Either way a correction never names the wrongly chosen option, and an execution failure after a right
choice is reported without any preference correction, so the two kinds of error stay separable.
`noise` makes a seeded fraction of answers and corrections wrong (another scene option) or missing.
"""

from __future__ import annotations

import random
import re

from memory.notes import same_name
from pahf_robot.bench.personas import Persona
from pahf_robot.bench.scenarios import Scenario
from pahf_robot.core.types import Outcome, Target
from pahf_robot.human.phrasing import BARE_NEGATIVES, BARE_PLACE_NEGATIVES, Phrasing

_BRING_ANSWERS = (
    "I'd like the {x}, please.",
    "The {x}, please.",
    "Could I have the {x}?",
    "I'll take the {x}.",
    "Bring me the {x}, please.",
    "The {x} would be perfect right now.",
)
_PLACE_ANSWERS = (
    "Please put it {prep} the {x}.",
    "It goes {prep} the {x}.",
    "{Prep} the {x}, please.",
    "I keep it {prep} the {x}.",
    "The {x} is where it belongs.",
)
_BRING_CORRECTIONS = (
    "That's not what I wanted; I'd have liked the {x}.",
    "Not quite. I wanted the {x}.",
    "Actually, I was after the {x}.",
    "Next time, the {x}, please.",
)
_PLACE_CORRECTIONS = (
    "That's not where it goes; it belongs {prep} the {x}.",
    "Not there, please. It should go {prep} the {x}.",
    "Actually, I keep it {prep} the {x}.",
    "Next time, {prep} the {x}, please.",
)
_HAND_OVER_CORRECTIONS = (
    "I wanted the {x} handed to me, not put away.",
    "Please give the {x} to me next time instead of storing it.",
)
_THANKS = (
    "Thanks, that's just right.",
    "Perfect, thank you!",
    "Great, thanks.",
    "That's exactly it, thanks.",
)
_FAILURE = {
    "missed_grasp": ("you missed it", "your gripper closed on thin air"),
    "dropped": ("you dropped it", "it slipped out of your gripper"),
    "unreachable": ("you couldn't reach it",),
    "timeout": ("you ran out of time before finishing",),
    "misplaced": ("you set it down off the spot you aimed for",),
}
_FAILURE_GENERIC = ("something went wrong while you were moving it",)
_FAILURE_RIGHT_CHOICE = (
    "Right choice, but {f}. Please try again.",
    "Good pick, but {f}.",
    "That was the right one, only {f}.",
)
_FAILURE_PREFIX = ("Also, {f}.", "And {f}.")
_GENERIC_ITEM_REASONS = (
    "That's what I usually go for in a moment like this.",
    "It suits how I feel right now.",
)
_GENERIC_PLACE_REASONS = ("That's where I always keep it.", "I like it kept there.")
_NATURAL_THANKS = (*_THANKS, "Yep, that's the one.", "Mm, good choice, thanks.", "That works, cheers.", "Lovely.")
_NATURAL_BRING_ANSWERS = ("{x}, please.", "I'd like {x}.", "Could I have {x}?", "{x} would be perfect right now.")
_NATURAL_PLACE_ANSWERS = ("Please put it {x}.", "It goes {x}.", "{x}, please.", "I keep it {x}.")
_NATURAL_BRING_CORRECTIONS = (
    "That's not what I wanted; I'd have liked {x}.",
    "Not quite. I wanted {x}.",
    "Actually, I was after {x}.",
    "Next time, {x}, please.",
)
_NATURAL_PLACE_CORRECTIONS = (
    "That's not where it goes; it belongs {x}.",
    "Not there, please. It should go {x}.",
    "Actually, I keep it {x}.",
    "Next time, {x}, please.",
)

STYLES = ("exact", "natural")
ANSWER_SHARES = {"exact": 0.35, "partial": 0.35, "description": 0.30}
"""How the natural person refers to what it wants when first asked (before fallbacks, see scenarios/README.md)."""
FOLLOW_UP_SHARES = {"exact": 0.5, "partial": 0.5}
CORRECTION_SHARES = {"exact": 0.2, "partial": 0.2, "description": 0.2, "bare": 0.2, "reason": 0.2}
"""How the natural person reacts to a wrong choice: a reference to what it wanted, or only a "no"."""
_ON_WORDS = ("shelf", "counter", "table", "zone", "sill", "desk", "tray", "rack")


def _prep(place: str) -> str:
    """ "on the top shelf" but "in the drawer": enough for natural sentences about any place name."""
    return "on" if any(w in place.lower() for w in _ON_WORDS) else "in"


def _names(text: str, option: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(option.lower())}(?!\w)", text.lower()) is not None


class SimulatedHuman:
    """Answers from a persona (or, without one, from each scenario's ground truth with generic reasons)."""

    def __init__(self, persona: Persona | None, *, noise: float = 0.0, seed: int = 0, style: str = "exact"):
        if not 0.0 <= noise <= 1.0:
            raise ValueError(f"noise must be within [0, 1], got {noise}")
        if style not in STYLES:
            raise ValueError(f"unknown style {style!r}; choose from {', '.join(STYLES)}")
        self.style = style
        self.persona = persona
        self.noise = noise
        self.feedback_enabled = True
        self.questions_answered = 0
        self.feedback_given = 0
        self.corrections_given = 0
        self._rng = random.Random(seed)
        self._phrasing = Phrasing(self._rng)

    def answer(self, scenario: Scenario, question: str) -> str | None:
        """Name the wanted option of the scenario, sometimes with a reason; only what was asked."""
        wanted = self._wanted(scenario)
        shares = FOLLOW_UP_SHARES if self.questions_answered else ANSWER_SHARES
        noisy = self._noisy()
        if noisy:
            wanted = self._other_option(scenario, exclude=(wanted,))
            if wanted is None:
                return None
        if self.style == "natural":
            text = self._say_naturally(scenario, wanted, shares, _NATURAL_BRING_ANSWERS, _NATURAL_PLACE_ANSWERS)
        else:
            text = self._say_option(scenario, wanted, _BRING_ANSWERS, _PLACE_ANSWERS)
        if not noisy:
            text = self._with_reason(text, scenario, avoid=self._options(scenario), keep=wanted)
        self.questions_answered += 1
        return text

    def feedback(self, scenario: Scenario, chosen: Target, outcome: Outcome | None) -> str | None:
        """Thanks, a correction naming the wanted option, and/or a report of what went wrong physically."""
        if not self.feedback_enabled:
            return None
        right = same_name(chosen.object, scenario.target_object) and same_name(chosen.place, scenario.target_place)
        failed = outcome is not None and not outcome.success
        failure = self._failure(outcome) if failed else None
        if right:
            if failure:
                text = self._rng.choice(_FAILURE_RIGHT_CHOICE).format(f=failure)
            else:
                text = self._rng.choice(_NATURAL_THANKS if self.style == "natural" else _THANKS)
        else:
            correction = self._correction(scenario, chosen)
            if correction is None and failure is None:
                return None
            if correction is not None:
                self.corrections_given += 1
            parts = [correction] if correction else []
            if failure:
                said = self._rng.choice(_FAILURE_PREFIX).format(f=failure) if parts else f"{failure.capitalize()}."
                parts.append(said)
            text = " ".join(parts)
        self.feedback_given += 1
        return text

    def _correction(self, scenario: Scenario, chosen: Target) -> str | None:
        wrong = chosen.place if scenario.kind == "place" else chosen.object
        if scenario.kind == "bring" and same_name(chosen.object, scenario.target_object):
            return self._rng.choice(_HAND_OVER_CORRECTIONS).format(x=scenario.target_object)
        wanted = self._wanted(scenario)
        if self._noisy():
            wanted = self._other_option(scenario, exclude=(wanted, wrong))
            if wanted is None:
                return None
            return self._say_option(scenario, wanted, _BRING_CORRECTIONS, _PLACE_CORRECTIONS)
        if self.style == "natural":
            return self._natural_correction(scenario, wanted, wrong)
        text = self._say_option(scenario, wanted, _BRING_CORRECTIONS, _PLACE_CORRECTIONS)
        avoid = (*self._options(scenario), wrong)
        return self._with_reason(text, scenario, avoid=avoid, keep=wanted)

    def _natural_correction(self, scenario: Scenario, wanted: str, wrong: str) -> str:
        """A reference to what was wanted, a bare "no", or why the choice is wrong without naming the wanted."""
        how = self._rng.choices(list(CORRECTION_SHARES), weights=list(CORRECTION_SHARES.values()))[0]
        place = scenario.kind == "place"
        if how == "bare":
            return self._rng.choice(BARE_PLACE_NEGATIVES if place else BARE_NEGATIVES)
        if how == "reason":
            reason = self._reason(scenario)
            if self._rng.random() < 0.5 and not any(_names(reason, o) for o in self._options(scenario)):
                return f"No. {reason}"
            return self._phrasing.complaint(wrong, place)
        shares = {how: 1.0}
        return self._say_naturally(scenario, wanted, shares, _NATURAL_BRING_CORRECTIONS, _NATURAL_PLACE_CORRECTIONS)

    def _say_naturally(
        self,
        scenario: Scenario,
        option: str,
        shares: dict[str, float],
        bring: tuple[str, ...],
        place: tuple[str, ...],
    ) -> str:
        others = [o for o in self._options(scenario) if not same_name(o, option)]
        is_place = scenario.kind == "place"
        reference = self._phrasing.refer(option, others, is_place, shares)
        if is_place:
            said = reference.text if reference.how == "description" else f"{_prep(option)} the {reference.text}"
            template = self._rng.choice(place)
        else:
            said = reference.text if reference.how == "description" else f"the {reference.text}"
            template = self._rng.choice(bring)
        text = template.format(x=said)
        return text[0].upper() + text[1:]

    def _noisy(self) -> bool:
        return self.noise > 0 and self._rng.random() < self.noise

    @staticmethod
    def _wanted(scenario: Scenario) -> str:
        return scenario.target_place if scenario.kind == "place" else scenario.target_object

    @staticmethod
    def _options(scenario: Scenario) -> tuple[str, ...]:
        return scenario.places if scenario.kind == "place" else scenario.objects

    def _other_option(self, scenario: Scenario, exclude: tuple[str, ...]) -> str | None:
        """A wrong option for a noisy reply; None (the reply goes missing) half the time or if none is left."""
        others = [o for o in self._options(scenario) if not any(same_name(o, e) for e in exclude)]
        if not others or self._rng.random() < 0.5:
            return None
        return self._rng.choice(others)

    def _say_option(self, scenario: Scenario, option: str, bring: tuple[str, ...], place: tuple[str, ...]) -> str:
        if scenario.kind == "place":
            template = self._rng.choice(place)
            prep = _prep(option)
            return template.format(x=option, prep=prep, Prep=prep.capitalize())
        return self._rng.choice(bring).format(x=option)

    def _with_reason(self, text: str, scenario: Scenario, avoid: tuple[str, ...], keep: str) -> str:
        """Half the time add why, unless the reason would name another option and confuse the listener."""
        if self._rng.random() < 0.5:
            return text
        reason = self._reason(scenario)
        if any(_names(reason, o) for o in avoid if not same_name(o, keep)):
            return text
        return f"{text} {reason}"

    def _reason(self, scenario: Scenario) -> str:
        persona = self.persona
        if persona is not None and scenario.context in persona.preferences:
            pref = persona.preference(scenario.context, scenario.phase)
            if scenario.kind == "place" and pref.place_reason:
                return pref.place_reason
            if scenario.kind == "bring":
                return pref.reason
        pool = _GENERIC_PLACE_REASONS if scenario.kind == "place" else _GENERIC_ITEM_REASONS
        return self._rng.choice(pool)

    def _failure(self, outcome: Outcome) -> str:
        return self._rng.choice(_FAILURE.get(outcome.failure or "", _FAILURE_GENERIC))
