"""One door to any OpenAI-compatible server: schema-constrained completions that are validated, retried,
cached on disk and accounted for.

Every reply is replayed from a SQLite cache keyed on (model, messages, schema), so a rerun with the same
seed costs no calls and reproduces the first run exactly, whatever the server's sampling does.
Transport failures (timeouts, 429, 5xx) are retried with exponential backoff; a reply that parses but
breaks the schema or the caller's own check is sent back to the model with the error, and the caller
decides what to do when it is still invalid.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from time import sleep
from typing import Any

import openai

from pahf_robot.llm import prompts
from pahf_robot.llm.cache import ResponseCache, default_cache_path
from pahf_robot.llm.schemas import schema_errors

log = logging.getLogger(__name__)

_RETRYABLE = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError, openai.APIConnectionError)
_DIALECTS = ("json_schema", "json_object")
"""OpenAI's `json_schema` response format; llama-cpp-python's server only knows `json_object` + `schema`."""


class LLMError(RuntimeError):
    """The server could not be used, even after retries; one line, fit for the command line."""


class InvalidReply(ValueError):
    """A reply that parses as JSON but does not answer the question asked; the text goes back to the model."""


@dataclass
class Usage:
    """Counters of one consumer (a reasoner or a simulated human) since it last reported them.

    `calls` counts requests sent to the server, retries included; `retries` is the share of them that resent
    a request (after a transport error, or in the other response format), so `calls - retries` are the
    prompts that missed the cache.
    """

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    retries: int = 0
    invalid: int = 0
    fallbacks: int = 0

    def take(self) -> dict:
        """The counters as a record, then zero them (one record per episode)."""
        record = asdict(self)
        record["latency_s"] = round(self.latency_s, 3)
        for f in fields(self):
            setattr(self, f.name, f.default)
        return record


def usage_totals(usages: list[dict]) -> dict:
    """Sums of per-episode usage records, with the figures one reports: per episode and cache hit rate."""
    keys = [f.name for f in fields(Usage)]
    totals: dict[str, Any] = {k: sum(u.get(k, 0) for u in usages) for k in keys}
    totals["latency_s"] = round(totals["latency_s"], 2)
    episodes = len(usages)
    totals["episodes"] = episodes
    lookups = totals["cache_hits"] + totals["calls"] - totals["retries"]
    totals["cache_hit_rate"] = round(totals["cache_hits"] / lookups, 4) if lookups else None
    totals["per_episode"] = {
        k: round(totals[k] / episodes, 2) if episodes else 0.0
        for k in ("calls", "cache_hits", "prompt_tokens", "completion_tokens", "latency_s")
    }
    return totals


@dataclass(frozen=True)
class LLMSettings:
    """Where and how to call the model. `api_key` comes from the environment, never from the launch config,
    so it is not written into a run's config.json."""

    model: str
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    max_tokens: int = 256

    @classmethod
    def resolve(cls, model: str | None, base_url: str | None) -> LLMSettings:
        """Fill in OPENAI_BASE_URL / OPENAI_API_KEY; a missing model or key is a one-line ValueError."""
        if not model:
            raise ValueError("--model: required with --reasoner llm or --human llm (the model name the server serves)")
        url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            where = url or "the OpenAI API"
            raise ValueError(
                f"OPENAI_API_KEY is not set: the LLM at {where} needs a key (any non-empty value for a local server)"
            )
        return cls(model=model, base_url=url, api_key=key)


class LLMClient:
    """Structured completions from one model, through the `openai` package."""

    def __init__(self, settings: LLMSettings, cache: ResponseCache | None = None):
        self.settings = settings
        self.cache = cache
        self.dialect = _DIALECTS[0]
        self._openai = openai.OpenAI(
            api_key=settings.api_key,
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            max_retries=0,
        )

    @property
    def where(self) -> str:
        return self.settings.base_url or "the OpenAI API"

    def check(self) -> None:
        """Fail fast, in one line, if the server is unreachable, rejects the key or does not serve the model."""
        try:
            models = self._openai.with_options(timeout=min(self.settings.timeout_s, 10.0)).models.list()
            served = [m.id for m in models.data]
        except openai.AuthenticationError:
            raise ValueError(f"{self.where} rejected OPENAI_API_KEY") from None
        except openai.NotFoundError:
            return
        except (openai.APIConnectionError, openai.APITimeoutError) as error:
            raise ValueError(f"--base-url {self.where}: cannot reach the LLM server ({_short(error)})") from None
        except openai.APIStatusError as error:
            raise ValueError(f"{self.where}: model list failed with HTTP {error.status_code}") from None
        if served and self.settings.model not in served:
            shown = ", ".join(served[:5]) + (", ..." if len(served) > 5 else "")
            raise ValueError(f"--model {self.settings.model}: not served by {self.where} (it serves {shown})")

    def complete(self, messages: list[dict], schema: dict, name: str, usage: Usage) -> str:
        """The raw reply to `messages` constrained by `schema`, from the cache when this exact request was seen."""
        key = ResponseCache.key(self.settings.model, messages, schema) if self.cache else None
        if key is not None:
            cached = self.cache.get(key)
            if cached is not None:
                usage.cache_hits += 1
                return cached
        content = self._request(messages, schema, name, usage)
        if key is not None:
            self.cache.put(key, self.settings.model, content)
        return content

    def structured(
        self,
        messages: list[dict],
        schema: dict,
        name: str,
        usage: Usage,
        check: Callable[[dict], Any],
        attempts: int = 3,
    ) -> tuple[Any, str | None]:
        """`check(reply)` of the first valid reply, re-asking with the error when one is not valid.

        Returns (value, None), or (None, last error) once `attempts` replies were invalid: the caller falls
        back to something safe. `check` raises InvalidReply for replies that parse but cannot be used.
        """
        conversation = list(messages)
        error = "no reply"
        for _ in range(attempts):
            content = self.complete(conversation, schema, name, usage)
            try:
                reply = json.loads(content)
                problems = schema_errors(reply, schema)
                if problems:
                    raise InvalidReply("; ".join(problems[:3]))
                return check(reply), None
            except (json.JSONDecodeError, InvalidReply) as invalid:
                error = f"invalid JSON ({invalid.msg})" if isinstance(invalid, json.JSONDecodeError) else str(invalid)
                usage.invalid += 1
                log.info("%s: invalid reply from %s: %s", name, self.settings.model, error)
                conversation = [
                    *conversation,
                    {"role": "assistant", "content": content},
                    {"role": "user", "content": prompts.RETRY.format(error=error)},
                ]
        return None, error

    def _request(self, messages: list[dict], schema: dict, name: str, usage: Usage) -> str:
        retries = 0
        while True:
            started = time.perf_counter()
            try:
                usage.calls += 1
                response = self._openai.chat.completions.create(
                    model=self.settings.model,
                    messages=messages,
                    response_format=self._response_format(schema, name),
                    temperature=0,
                    max_tokens=self.settings.max_tokens,
                )
            except (openai.APIStatusError, openai.APITimeoutError, openai.APIConnectionError) as error:
                usage.latency_s += time.perf_counter() - started
                if self._switch_dialect(error):
                    usage.retries += 1
                    continue
                if not isinstance(error, _RETRYABLE):
                    raise LLMError(f"{self.where}: HTTP {error.status_code}: {_short(error)}") from None
                if retries >= self.settings.max_retries:
                    raise LLMError(f"{self.where}: {_short(error)} (gave up after {retries + 1} attempts)") from None
                delay = self._delay(retries, error)
                retries += 1
                usage.retries += 1
                log.warning("%s: %s; retry %d in %.2f s", self.where, _short(error), retries, delay)
                sleep(delay)
                continue
            usage.latency_s += time.perf_counter() - started
            if response.usage is not None:
                usage.prompt_tokens += response.usage.prompt_tokens or 0
                usage.completion_tokens += response.usage.completion_tokens or 0
            if not response.choices:
                return ""
            return response.choices[0].message.content or ""

    def _response_format(self, schema: dict, name: str) -> dict:
        if self.dialect == "json_object":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}

    def _switch_dialect(self, error: Exception) -> bool:
        """A server that refuses `json_schema` but names the response format gets `json_object` + schema."""
        if self.dialect != "json_schema" or not isinstance(error, openai.APIStatusError):
            return False
        if error.status_code not in (400, 422, 500) or "json_schema" not in str(error):
            return False
        self.dialect = "json_object"
        log.info("%s does not accept the json_schema response format; using json_object with a schema", self.where)
        return True

    def _delay(self, retries: int, error: Exception) -> float:
        """Exponential backoff, or the server's Retry-After when it gives one (both capped)."""
        delay = self.settings.backoff_s * 2**retries
        response = getattr(error, "response", None)
        if response is not None:
            try:
                delay = float(response.headers.get("retry-after", delay))
            except ValueError:
                pass
        return max(0.0, min(delay, self.settings.max_backoff_s))

    def close(self) -> None:
        self._openai.close()
        if self.cache is not None:
            self.cache.close()


def _short(error: Exception) -> str:
    """An error as one short line: the server's message can span lines or carry a whole traceback."""
    text = " ".join(str(error).split())
    return text[:200] + ("..." if len(text) > 200 else "")


_shared: dict[tuple[str | None, str | None], LLMClient] = {}


def shared_client(model: str | None, base_url: str | None) -> LLMClient:
    """One client per process and server, so the reasoner and the simulated human share connections and cache."""
    key = (model, base_url)
    if key not in _shared:
        _shared[key] = LLMClient(LLMSettings.resolve(model, base_url), ResponseCache(default_cache_path()))
    return _shared[key]
