"""The subset of JSON Schema our prompts use, checked on every reply: servers that ignore `response_format`
return anything."""

from __future__ import annotations

import json
import re
from typing import Any


def schema_errors(value: Any, schema: dict, path: str = "reply") -> list[str]:
    """What in `value` breaks `schema`, for the subset of JSON Schema our prompts use.

    Servers that ignore `response_format` return anything, so every reply is checked here.
    """
    if "anyOf" in schema:
        options = [schema_errors(value, option, path) for option in schema["anyOf"]]
        return [] if any(not o for o in options) else min(options, key=len)
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        return [f"{path}: {json.dumps(value)} is not one of {allowed}"]
    kind = schema.get("type")
    if kind == "null":
        return [] if value is None else [f"{path}: expected null"]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string"]
        pattern = schema.get("pattern")
        if pattern and not re.search(pattern, value):
            return [f"{path}: {json.dumps(value)} does not match the pattern {pattern}"]
        return []
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected a JSON object"]
        properties = schema.get("properties", {})
        problems = [f"{path}: missing field '{k}'" for k in schema.get("required", []) if k not in value]
        if schema.get("additionalProperties") is False:
            problems += [f"{path}: unexpected field '{k}'" for k in value if k not in properties]
        for k, sub in properties.items():
            if k in value:
                problems += schema_errors(value[k], sub, f"{path}.{k}")
        return problems
    return []
