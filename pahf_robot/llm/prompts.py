"""Every text the LLM reasoner and the LLM-backed human send, and the schemas their replies must match.

Kept in one module so that a prompt change is one diff, and so that the cache key (which hashes the
messages) changes exactly when a prompt does. Templates use `str.format` fields and never contain braces.
"""

from __future__ import annotations

from collections.abc import Sequence

LINE = r'^[^"\\\x00-\x1f]{0,%d}$'
"""One line of plain text of bounded length: stops weak models from rambling until `max_tokens`.

A `pattern` rather than `maxLength`, because OpenAI's strict mode accepts patterns but not length limits.
"""

CONFIDENCE = {"low": 0.3, "medium": 0.6, "high": 0.9}
"""Words, not numbers: small models write endless digits, and a word is one cheap token."""

PLANNER_SYSTEM = (
    "You are the planner of a household robot arm. It serves several people and learns what each of them "
    "prefers in each situation. For every request you choose exactly one of the options present in the "
    "scene. When what you remember about the person does not settle the choice, you may ask one short "
    "clarifying question first. Reply with a single JSON object that matches the requested schema."
)

DECIDE = """Person: {user}
Request: "{task}"
Scene: {scene}
{choice_line}: {options}
What you remember about {user} (most similar situations first):
{notes}

{instruction}"""

CHOICE_OBJECT = "Items to choose from"
CHOICE_PLACE = "Places to put the {object}"
NOTE_LINE = "- {text} (similarity {similarity:.2f})"
NO_NOTES = "- nothing yet"

INSTRUCT_MAY_ASK = (
    'If what you remember clearly points to one option, set "action" to "act" and "target" to it, with an '
    'empty "question". Otherwise set "action" to "ask", "target" to your best guess and "question" to one '
    "short question that lets {user} name the option they want."
)
INSTRUCT_ACT = (
    'You cannot ask now: set "action" to "act" and "target" to the option that best fits what you remember '
    "and the request."
)

INTERPRET_ANSWER = """Person: {user}
Request: "{task}"
{choice_line}: {options}
You asked: "{question}"
{user} answered: "{answer}"

Which option does the answer ask for? Set "wanted" to it, or to null when the answer names none of them."""

INTERPRET_FEEDBACK = """Person: {user}
Request: "{task}"
{choice_line}: {options}
You chose: {chosen}. {outcome}
Afterwards {user} said: "{feedback}"

Classify what {user} said. "confirmed": {user} is content with {chosen}. "corrected": {user} wants \
another option; set "wanted" to it. "neither": {user} only reports a mishap, or states no preference. \
Set "wanted" to null unless the verdict is "corrected"."""

MEMORY_DECISION = """You just learned this preference: {text}
Situation: "{situation}"
Preferred: {value}
Learned from: {source}{explicit}
Notes you already have about similar situations:
{notes}

Decide how memory changes. "ADD": the preference is about a situation none of the notes covers; set \
"note_id" to null. "UPDATE": the preference replaces note "note_id", because it changed. "NONE": keep \
note "note_id" as it is, because it already says this or should not be overturned. A note confirmed \
{well_supported} or more times may only be replaced by an explicit correction. Set "reason" to a few words."""

MEMORY_NOTE_LINE = "- note {number}: {text} (preferred: {value}; support {support}; similarity {similarity:.2f})"
MEMORY_EXPLICIT = ", stated or corrected explicitly"

OUTCOME_SUCCESS = "The robot carried it out successfully."
OUTCOME_FAILURE = "The robot failed to carry it out ({failure})."

RETRY = (
    "That reply cannot be used: {error}. Reply again with one JSON object that matches the schema, "
    "choosing only among the options listed."
)

FALLBACK_QUESTION_OBJECT = "Which would you like: {options}?"
FALLBACK_QUESTION_PLACE = "Where would you like the {object}: {options}?"
FALLBACK_RATIONALE = "LLM reply invalid after {attempts} attempts ({error}); asking instead"
FALLBACK_RATIONALE_NO_ASK = "LLM reply invalid after {attempts} attempts ({error}); first option, asking not allowed"
RATIONALE = "{model}: {confidence} confidence"

NOTE_OBJECT = "When '{situation}', {user} wants the {value}."
NOTE_PLACE = "When '{situation}', {user} wants the {object} put on/in the {value}."
"""Memory notes written from the LLM's verdicts; they come back into DECIDE as remembered preferences."""

HUMAN_SYSTEM = """You are {name}, at home, talking to your household robot arm. About you: {description}
Your situation: "{task}"
What you want here: {preference}{reason}
Speak as {name}, in the first person, in one or two short sentences."""

HUMAN_PREFERENCE_OBJECT = "the {item}, brought to you."
HUMAN_PREFERENCE_PLACE = "the {object} put on/in the {place}."
HUMAN_REASON = " Why: {reason}"

HUMAN_ANSWER = """The robot asks you: "{question}"
Reply in your own words, saying exactly this: "{meaning}"
Write every item or place name exactly as it appears there and name no other item or place."""

HUMAN_FEEDBACK = """The robot {did}. {outcome}
React in your own words, saying exactly this: "{meaning}"
Write every item or place name exactly as it appears there and name no other item or place."""

HUMAN_DID_OBJECT = "brought you the {object}"
HUMAN_DID_PLACE = "put the {object} on/in the {place}"


def listed(options: Sequence[str]) -> str:
    """ "a, b or c": how options are listed in every prompt and fallback question."""
    if len(options) < 2:
        return "".join(options)
    return ", ".join(options[:-1]) + f" or {options[-1]}"


def _choice(options: Sequence[str]) -> dict:
    if not options:
        return {"type": "null"}
    return {"anyOf": [{"type": "string", "enum": list(options)}, {"type": "null"}]}


def decide_schema(options: Sequence[str], may_ask: bool) -> dict:
    """Act-or-ask with a target from the scene; the question field exists only when asking is allowed."""
    properties = {
        "action": {"type": "string", "enum": ["act", "ask"] if may_ask else ["act"]},
        "target": {"type": "string", "enum": list(options)},
        "confidence": {"type": "string", "enum": list(CONFIDENCE)},
    }
    if may_ask:
        properties["question"] = {"type": "string", "pattern": LINE % 120}
    return _object(properties)


def answer_schema(options: Sequence[str]) -> dict:
    return _object({"wanted": _choice(options)})


def feedback_schema(others: Sequence[str]) -> dict:
    """A correction can only name an option other than the one chosen."""
    return _object(
        {
            "verdict": {"type": "string", "enum": ["confirmed", "corrected", "neither"]},
            "wanted": _choice(others),
        }
    )


def memory_schema(numbers: Sequence[int]) -> dict:
    """A memory operation naming one of the numbered notes, or none (for ADD)."""
    return _object(
        {
            "op": {"type": "string", "enum": ["ADD", "UPDATE", "NONE"]},
            "note_id": {"anyOf": [{"type": "integer", "enum": list(numbers)}, {"type": "null"}]},
            "reason": {"type": "string", "pattern": LINE % 80},
        }
    )


def human_schema() -> dict:
    return _object({"reply": {"type": "string", "pattern": LINE % 200}})


def _object(properties: dict) -> dict:
    """Every field required, nothing else allowed: the subset both OpenAI strict mode and llama.cpp accept."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
