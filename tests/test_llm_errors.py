"""Error paths of the LLM client, reasoner and human, against a scripted fake server (error paths only).

`FakeOpenAIServer` plays back replies that a real model cannot be made to produce on demand: timeouts,
500, 429, invalid JSON, wrong schemas, targets outside the scene. Everything that works is tested against
a real llama.cpp server in test_llm_server.py. The CLI tests at the end need no server at all.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import pytest

from envs.layout import HAND_OVER
from memory.embedders import HashingEmbedder
from memory.policy import WELL_SUPPORTED, Fact, apply
from memory.store import MemoryStore
from pahf_robot.agent.llm_reasoner import LLMReasoner
from pahf_robot.bench.scenarios import Scenario, TaskView
from pahf_robot.core.types import Outcome, Target
from pahf_robot.human.llm import LLMHuman
from pahf_robot.human.rule import SimulatedHuman
from pahf_robot.llm import client as client_module
from pahf_robot.llm.cache import CACHE_ENV, ResponseCache
from pahf_robot.llm.client import (
    LLMClient,
    LLMError,
    LLMSettings,
    Usage,
)
from tests.conftest import small_benchmark

MODEL = "fake-model"
BRING = TaskView(
    user="alex",
    task="I'm half asleep. Could you bring me something to drink?",
    scene="On the table: black coffee, herbal tea and green tea.",
    objects=("black coffee", "herbal tea", "green tea"),
    places=(),
)
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"wanted": {"type": "string", "enum": ["herbal tea", "green tea"]}},
    "required": ["wanted"],
    "additionalProperties": False,
}


@dataclass
class Reply:
    """One scripted response: a chat completion carrying `content`, or an error `status` with `body`."""

    content: str | None = None
    status: int = 200
    body: dict | None = None
    delay_s: float = 0.0
    headers: dict = field(default_factory=dict)


def ok(payload: dict | str) -> Reply:
    return Reply(content=payload if isinstance(payload, str) else json.dumps(payload))


class FakeOpenAIServer:
    """An in-test HTTP server speaking just enough of the OpenAI API to script failures.

    `script` is played in order (the last entry repeats); an entry may be a callable of the request body.
    Every chat request body is kept in `requests`.
    """

    def __init__(
        self,
        script: list[Reply | Callable[[dict], Reply]],
        models: tuple[str, ...] = (MODEL,),
        models_status: int = 200,
    ):
        self.script = list(script)
        self.models = models
        self.models_status = models_status
        self.requests: list[dict] = []
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._http.shutdown()
        self._http.server_close()

    def _next(self, body: dict) -> Reply:
        entry = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return entry(body) if callable(entry) else entry

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models"):
                    data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in fake.models]
                    body = {"object": "list", "data": data}
                    if fake.models_status != 200:
                        body = {"error": {"message": "rejected", "type": "invalid_request_error"}}
                    self._send(fake.models_status, body)
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(request)
                reply = fake._next(request)
                time.sleep(reply.delay_s)
                if reply.status != 200:
                    self._send(
                        reply.status, reply.body or {"error": {"message": f"HTTP {reply.status}"}}, reply.headers
                    )
                    return
                self._send(
                    200,
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": 0,
                        "model": request["model"],
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": reply.content},
                            }
                        ],
                        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
                    },
                )

            def _send(self, status: int, body: dict, headers: dict | None = None):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def make_client(server: FakeOpenAIServer, cache: ResponseCache | None = None, **settings) -> LLMClient:
    options = {"timeout_s": 5.0, "max_retries": 3, "backoff_s": 0.01}
    options.update(settings)
    return LLMClient(LLMSettings(model=MODEL, base_url=server.url, api_key="test-key", **options), cache)


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Backoff delays the client asked for, without waiting for them."""
    recorded: list[float] = []
    monkeypatch.setattr(client_module, "sleep", recorded.append)
    return recorded


def last_user_message(request: dict) -> str:
    return request["messages"][-1]["content"]


def test_fake_server_500_is_retried_with_exponential_backoff(sleeps):
    with FakeOpenAIServer([Reply(status=500), Reply(status=502), ok({"wanted": "green tea"})]) as server:
        usage = Usage()
        value, error = make_client(server).structured(
            [{"role": "user", "content": "pick"}], ANSWER_SCHEMA, "answer", usage, lambda r: r["wanted"]
        )
    assert (value, error) == ("green tea", None)
    assert sleeps == [0.01, 0.02]
    assert (usage.calls, usage.retries, usage.prompt_tokens, usage.completion_tokens) == (3, 2, 11, 7)


def test_fake_server_429_honours_retry_after_then_succeeds(sleeps):
    script = [Reply(status=429, headers={"Retry-After": "0.25"}), ok({"wanted": "herbal tea"})]
    with FakeOpenAIServer(script) as server:
        usage = Usage()
        content = make_client(server).complete([{"role": "user", "content": "pick"}], ANSWER_SCHEMA, "a", usage)
    assert json.loads(content) == {"wanted": "herbal tea"}
    assert sleeps == [0.25]
    assert usage.retries == 1


def test_fake_server_timeout_is_retried():
    with FakeOpenAIServer([Reply(content="{}", delay_s=2.0), ok({"wanted": "herbal tea"})]) as server:
        usage = Usage()
        content = make_client(server, timeout_s=0.4).complete(
            [{"role": "user", "content": "pick"}], ANSWER_SCHEMA, "a", usage
        )
    assert json.loads(content) == {"wanted": "herbal tea"}
    assert (usage.calls, usage.retries) == (2, 1)


def test_fake_server_persistent_5xx_gives_up_with_one_line_error(sleeps):
    body = {"error": {"message": "overloaded\nplease wait\n  at line 3"}}
    with FakeOpenAIServer([Reply(status=503, body=body)]) as server:
        usage = Usage()
        with pytest.raises(LLMError) as caught:
            make_client(server, max_retries=2).complete([{"role": "user", "content": "x"}], ANSWER_SCHEMA, "a", usage)
    assert "\n" not in str(caught.value) and "gave up after 3 attempts" in str(caught.value)
    assert usage.calls == 3 and len(sleeps) == 2


def test_fake_server_client_error_is_not_retried(sleeps):
    with FakeOpenAIServer([Reply(status=400, body={"error": {"message": "bad model"}})]) as server:
        with pytest.raises(LLMError, match="HTTP 400"):
            make_client(server).complete([{"role": "user", "content": "x"}], ANSWER_SCHEMA, "a", Usage())
        assert len(server.requests) == 1 and not sleeps


def test_fake_server_invalid_json_goes_back_with_the_error():
    with FakeOpenAIServer([ok('{"wanted": "herbal'), ok({"wanted": "herbal tea"})]) as server:
        usage = Usage()
        value, error = make_client(server).structured(
            [{"role": "user", "content": "pick"}], ANSWER_SCHEMA, "answer", usage, lambda r: r["wanted"]
        )
        retry = server.requests[1]["messages"]
    assert value == "herbal tea" and error is None
    assert retry[-2] == {"role": "assistant", "content": '{"wanted": "herbal'}
    assert "invalid JSON" in retry[-1]["content"]
    assert usage.invalid == 1


def test_fake_server_wrong_schema_goes_back_with_the_error():
    with FakeOpenAIServer([ok({"answer": "herbal tea"}), ok({"wanted": "green tea"})]) as server:
        value, _ = make_client(server).structured(
            [{"role": "user", "content": "pick"}], ANSWER_SCHEMA, "answer", Usage(), lambda r: r["wanted"]
        )
        retry = last_user_message(server.requests[1])
    assert value == "green tea"
    assert "missing field 'wanted'" in retry and "unexpected field 'answer'" in retry


def test_fake_server_target_not_in_scene_is_retried_then_falls_back_to_asking():
    bad = ok({"action": "act", "target": "espresso", "confidence": "high", "question": ""})
    with FakeOpenAIServer([bad]) as server:
        reasoner = LLMReasoner(make_client(server), attempts=3)
        decision = reasoner.decide(BRING, [], may_ask=True)
        retries = [last_user_message(r) for r in server.requests[1:]]
    assert decision.asks and decision.question == "Which would you like: black coffee, herbal tea or green tea?"
    assert decision.target.object in BRING.objects and decision.confidence == 0.0
    assert len(retries) == 2 and all('"espresso" is not one of' in r for r in retries)
    usage = reasoner.usage()
    assert (usage["calls"], usage["invalid"], usage["fallbacks"]) == (3, 3, 1)
    assert reasoner.usage()["calls"] == 0


def test_fake_server_fallback_without_asking_acts_on_a_scene_option():
    with FakeOpenAIServer([ok("I think coffee.")]) as server:
        decision = LLMReasoner(make_client(server), attempts=2).decide(BRING, [], may_ask=False)
        schema = server.requests[0]["response_format"]["json_schema"]["schema"]
    assert not decision.asks and decision.target == Target("black coffee", HAND_OVER)
    assert schema["properties"]["action"]["enum"] == ["act"] and "question" not in schema["properties"]


def test_fake_server_ask_without_a_question_is_invalid():
    script = [
        ok({"action": "ask", "target": "green tea", "confidence": "low", "question": "  "}),
        ok({"action": "ask", "target": "green tea", "confidence": "low", "question": "Tea or coffee?"}),
    ]
    with FakeOpenAIServer(script) as server:
        decision = LLMReasoner(make_client(server)).decide(BRING, [], may_ask=True)
        retry = last_user_message(server.requests[1])
    assert decision.question == "Tea or coffee?" and decision.confidence == 0.3
    assert "question" in retry and "empty" in retry


def test_fake_server_unusable_interpretations_become_no_signal():
    with FakeOpenAIServer([ok({"wanted": "espresso"})]) as server:
        reasoner = LLMReasoner(make_client(server), attempts=2)
        assert reasoner.interpret_answer(BRING, "Which?", "An espresso.") is None
        chosen = Target("herbal tea", HAND_OVER)
        server.script = [ok({"verdict": "corrected", "wanted": "herbal tea"})]
        assert reasoner.interpret_feedback(BRING, chosen, Outcome(True), "Not that.") is None
    assert reasoner.usage()["fallbacks"] == 2


@pytest.mark.parametrize(
    "reply, success, expected",
    [
        ({"verdict": "confirmed", "wanted": None}, True, ("herbal tea", False)),
        ({"verdict": "confirmed", "wanted": None}, False, None),
        ({"verdict": "neither", "wanted": None}, False, None),
        ({"verdict": "corrected", "wanted": "green tea"}, True, ("green tea", True)),
    ],
)
def test_fake_server_feedback_verdicts_map_to_signals(reply, success, expected):
    with FakeOpenAIServer([ok(reply)]) as server:
        reasoner = LLMReasoner(make_client(server))
        outcome = Outcome(success, None if success else "dropped")
        signal = reasoner.interpret_feedback(BRING, Target("herbal tea", HAND_OVER), outcome, "...")
        schema = server.requests[0]["response_format"]["json_schema"]["schema"]
    if expected is None:
        assert signal is None
    else:
        assert (signal.value, signal.explicit) == expected
    assert schema["properties"]["wanted"]["anyOf"][0]["enum"] == ["black coffee", "green tea"]


def test_fake_server_without_json_schema_gets_json_object_with_schema():
    """llama-cpp-python's server refuses OpenAI's json_schema format with a 500 that names it."""

    def llama_cpp(body: dict) -> Reply:
        if body["response_format"]["type"] == "json_schema":
            message = "Input should be 'text' or 'json_object' ... 'input': 'json_schema'"
            return Reply(status=500, body={"error": {"message": message}})
        return ok({"wanted": "green tea"})

    with FakeOpenAIServer([llama_cpp]) as server:
        client = make_client(server)
        usage = Usage()
        for _ in range(2):
            client.complete([{"role": "user", "content": "pick"}], ANSWER_SCHEMA, "answer", usage)
        formats = [r["response_format"] for r in server.requests]
    assert [f["type"] for f in formats] == ["json_schema", "json_object", "json_object"]
    assert formats[1]["schema"] == ANSWER_SCHEMA
    assert (usage.calls, usage.retries) == (3, 1)


def test_fake_server_cache_replays_without_calls(tmp_path):
    messages = [{"role": "user", "content": "pick"}]
    with FakeOpenAIServer([ok({"wanted": "green tea"}), ok({"wanted": "herbal tea"})]) as server:
        first, second = Usage(), Usage()
        a = make_client(server, ResponseCache(tmp_path / "c.sqlite")).complete(messages, ANSWER_SCHEMA, "a", first)
        b = make_client(server, ResponseCache(tmp_path / "c.sqlite")).complete(messages, ANSWER_SCHEMA, "a", second)
        assert len(server.requests) == 1
    assert a == b
    assert (first.calls, first.cache_hits, second.calls, second.cache_hits) == (1, 0, 0, 1)


def drink(value: str, explicit: bool = False) -> Fact:
    return Fact(BRING.task, "object", value, f"alex wants the {value}", "feedback", explicit_correction=explicit)


def test_fake_server_memory_update_of_a_well_supported_note_falls_back_to_the_policy(tmp_path):
    overturn = ok({"op": "UPDATE", "note_id": 1, "reason": "taste changed"})
    with MemoryStore(tmp_path / "m.db", HashingEmbedder()) as store, FakeOpenAIServer([overturn]) as server:
        known = store.add("alex", BRING.task, "object", "herbal tea", "alex wants the herbal tea", "feedback")
        store.reinforce("alex", known.id, WELL_SUPPORTED - 1)
        reasoner = LLMReasoner(make_client(server), attempts=3)
        op = apply(store, "alex", drink("black coffee"), decider=reasoner.memory_decision)
        retries = [last_user_message(r) for r in server.requests[1:]]
        assert (op.op, op.reason, op.value) == ("NONE", "kept: well supported", "herbal tea")
        assert store.get("alex", known.id).active and store.get("alex", known.id).support == WELL_SUPPORTED - 1
    assert len(retries) == 2 and all("note 1 is well supported" in r for r in retries)
    usage = reasoner.usage()
    assert (usage["calls"], usage["invalid"], usage["fallbacks"]) == (3, 3, 1)


def test_fake_server_memory_update_within_the_rules_supersedes_the_note(tmp_path):
    with MemoryStore(tmp_path / "m.db", HashingEmbedder()) as store:
        store.add("bo", "another user's note", "object", "water", "bo wants water", "feedback")
        with FakeOpenAIServer([ok({"op": "UPDATE", "note_id": 1, "reason": "taste changed"})]) as server:
            reasoner = LLMReasoner(make_client(server))
            added = apply(store, "alex", drink("herbal tea"), decider=reasoner.memory_decision)
            assert added.op == "ADD" and not server.requests
            op = apply(store, "alex", drink("black coffee"), decider=reasoner.memory_decision)
            request = server.requests[0]
        assert (op.op, op.previous_note_id, op.value, op.reason) == (
            "UPDATE",
            added.note_id,
            "black coffee",
            "llm: taste changed",
        )
        assert store.get("alex", added.note_id).superseded_by == op.note_id
    schema = request["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["note_id"]["anyOf"][0]["enum"] == [1]
    assert "- note 1: alex wants the herbal tea" in last_user_message(request)
    assert reasoner.usage()["fallbacks"] == 0


def bring_scenario() -> Scenario:
    return Scenario(
        index=0,
        user="alex",
        phase=1,
        task=BRING.task,
        scene=BRING.scene,
        objects=BRING.objects,
        places=(),
        target_object="herbal tea",
        target_place=HAND_OVER,
        context="drowsy_morning",
    )


def test_fake_server_llm_human_keeps_valid_wording_and_falls_back_otherwise():
    scenario = bring_scenario()
    with FakeOpenAIServer([ok({"reply": "Herbal tea for me, I need calm."})]) as server:
        human = LLMHuman(None, make_client(server), seed=3)
        assert human.answer(scenario, "Which one?") == "Herbal tea for me, I need calm."
        system = server.requests[0]["messages"][0]["content"]
        server.script = [ok({"reply": "Black coffee, please!"})]
        rule = SimulatedHuman(None, seed=3)
        rule.answer(scenario, "Which one?")
        assert human.answer(scenario, "Which one?") == rule.answer(scenario, "Which one?")
    assert "herbal tea" in system and human.questions_answered == 2
    usage = human.usage()
    assert (usage["calls"], usage["fallbacks"]) == (3, 1)


def run_cli(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    clean.update({CACHE_ENV: str(tmp_path / "cache.sqlite"), **env})
    bench = small_benchmark(tmp_path / "bench", per_phase=1)
    command = [
        sys.executable,
        "-m",
        "pahf_robot.cli",
        "run",
        "--reasoner",
        "llm",
        "--sim",
        "none",
        "--embedder",
        "hashing",
        "--scenarios",
        str(bench),
        "--out",
        str(tmp_path / "run"),
        "--no-progress",
        *args,
    ]
    return subprocess.run(command, check=False, capture_output=True, text=True, env=clean, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, tmp_path: Path, *needles: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1 and lines[0].startswith("pahf-robot: error: "), result.stderr
    assert all(n in lines[0] for n in needles), lines[0]
    assert not (tmp_path / "run").exists()


def test_cli_missing_key_fails_before_any_episode(tmp_path):
    result = run_cli(["--model", MODEL, "--base-url", "http://127.0.0.1:9/v1"], tmp_path)
    assert_one_line_error(result, tmp_path, "OPENAI_API_KEY")


def test_cli_missing_model_fails_before_any_episode(tmp_path):
    result = run_cli([], tmp_path, OPENAI_API_KEY="k")
    assert_one_line_error(result, tmp_path, "--model")


def test_cli_unreachable_server_fails_before_any_episode(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_cli(["--model", MODEL, "--base-url", f"http://127.0.0.1:{port}/v1"], tmp_path, OPENAI_API_KEY="k")
    assert_one_line_error(result, tmp_path, "cannot reach", str(port))


def test_cli_fake_server_rejecting_the_key_fails_before_any_episode(tmp_path):
    with FakeOpenAIServer([ok("{}")], models_status=401) as server:
        result = run_cli(["--model", MODEL, "--base-url", server.url], tmp_path, OPENAI_API_KEY="wrong")
        assert not server.requests
    assert_one_line_error(result, tmp_path, "rejected OPENAI_API_KEY")


def test_cli_fake_server_not_serving_the_model_fails_before_any_episode(tmp_path):
    with FakeOpenAIServer([ok("{}")], models=("other-model",)) as server:
        result = run_cli(["--model", MODEL, "--base-url", server.url], tmp_path, OPENAI_API_KEY="k")
    assert_one_line_error(result, tmp_path, MODEL, "other-model")
