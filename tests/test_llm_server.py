"""The LLM reasoner against a real OpenAI-compatible server: llama-cpp-python serving Gemma 3 270M.

The model is tiny and weak, so these tests check plumbing only: real requests go through the `openai`
package, schema-constrained replies parse and validate, retries reach the server, and a two-persona run
completes with call accounting and replays from the cache. They never assert preference quality.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from memory.notes import Note
from memory.policy import WELL_SUPPORTED, Fact, check_decision
from pahf_robot.agent.grounding import mentioned_options
from pahf_robot.agent.llm_reasoner import LLMReasoner
from pahf_robot.agent.reasoning import options_of
from pahf_robot.bench.scenarios import load_benchmark
from pahf_robot.core.types import Outcome
from pahf_robot.human.llm import LLMHuman
from pahf_robot.human.rule import SimulatedHuman
from pahf_robot.llm import prompts
from pahf_robot.llm.cache import CACHE_ENV, ResponseCache
from pahf_robot.llm.client import (
    InvalidReply,
    LLMClient,
    LLMSettings,
    Usage,
)
from pahf_robot.run.records import EPISODES_FILE
from pahf_robot.run.runner import RESULTS_FILE
from tests import llm_server
from tests.conftest import comparable, read_episodes, small_benchmark


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    running = llm_server.start(tmp_path_factory.mktemp("llama"))
    yield running
    running.stop()


@pytest.fixture
def client(server, tmp_path) -> LLMClient:
    settings = LLMSettings(model=llm_server.MODEL_ALIAS, base_url=server.base_url, api_key="local", timeout_s=120)
    made = LLMClient(settings, ResponseCache(tmp_path / "cache.sqlite"))
    yield made
    made.close()


@pytest.fixture
def openai_requests(monkeypatch) -> list[dict]:
    """Requests made through the `openai` package's chat completions, recorded on the way through."""
    seen: list[dict] = []
    original = openai.resources.chat.completions.Completions.create

    def spy(self, **kwargs):
        seen.append(kwargs)
        return original(self, **kwargs)

    monkeypatch.setattr(openai.resources.chat.completions.Completions, "create", spy)
    return seen


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    """Two personas, two scenarios each per phase: one put-away and one bring-me task."""
    return small_benchmark(tmp_path_factory.mktemp("bench"), per_phase=2)


def test_real_server_constrains_replies_to_the_schema(server, client, openai_requests):
    client.check()
    options = ["zq-17 widget", "plover kettle", "umber crate"]
    before = server.requests_logged()
    usage = Usage()
    content = client.complete(
        [{"role": "user", "content": "Name your favourite animal and say why."}],
        prompts.answer_schema(options),
        "answer",
        usage,
    )
    reply = json.loads(content)
    assert set(reply) == {"wanted"} and reply["wanted"] in [*options, None]
    assert usage.calls == len(openai_requests) == server.requests_logged() - before >= 1
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0 and usage.latency_s > 0
    assert openai_requests[-1]["response_format"]["type"] == client.dialect


def test_real_server_gets_the_validation_error_back(server, client):
    rejected: list[dict] = []

    def check(reply: dict) -> str | None:
        if not rejected:
            rejected.append(reply)
            raise InvalidReply("the first reply is always refused by this test")
        return reply["wanted"]

    usage = Usage()
    options = ["herbal tea", "black coffee"]
    before = server.requests_logged()
    messages = [{"role": "user", "content": "I'd like the herbal tea. Which option do I want?"}]
    value, error = client.structured(messages, prompts.answer_schema(options), "answer", usage, check)
    assert error is None and value in [*options, None]
    assert usage.invalid == 1 and server.requests_logged() - before >= 2


def test_llm_reasoner_judges_with_valid_outputs_on_a_real_server(bench, client):
    benchmark = load_benchmark(bench)
    reasoner = LLMReasoner(client)
    scenario = benchmark.for_user("alex", 1)[0]
    view = scenario.view()
    options = options_of(view)
    decision = reasoner.decide(view, [], may_ask=True)
    assert decision.target.object in view.objects and (not view.places or decision.target.place in options)
    acting = reasoner.decide(view, [], may_ask=False)
    assert not acting.asks
    wanted = scenario.target_place if view.places else scenario.target_object
    signal = reasoner.interpret_answer(view, "Which one?", f"The {wanted}, please.")
    assert signal is None or signal.value in options
    signal = reasoner.interpret_feedback(view, acting.target, Outcome(True), "Thanks, that's just right.")
    assert signal is None or signal.value in options
    usage = reasoner.usage()
    assert usage["calls"] >= 4 and usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert reasoner.usage()["calls"] == 0


def test_llm_memory_decision_keeps_the_policy_rules_on_a_real_server(client):
    situation = "I'm half asleep. Could you bring me something to drink?"
    known = Note(7, "alex", situation, "object", "herbal tea", "alex wants the herbal tea", "feedback", 1, 0.0, 0.0)
    strong = Note(
        9, "alex", situation, "object", "green tea", "alex wants the green tea", "feedback", WELL_SUPPORTED, 0, 0
    )
    similar = [(strong, 0.97), (known, 0.91)]
    fact = Fact(situation, "object", "black coffee", "alex wants the black coffee", "feedback")
    reasoner = LLMReasoner(client)
    decision = reasoner.memory_decision(fact, similar)
    assert check_decision(fact, similar, decision) is None
    assert reasoner.usage()["calls"] >= 1


def test_llm_human_speaks_for_the_persona_on_a_real_server(bench, client):
    benchmark = load_benchmark(bench)
    scenario = benchmark.for_user("bo", 1)[0]
    human = LLMHuman(benchmark.personas["bo"], client, seed=5)
    reply = human.answer(scenario, "Which would you like?")
    rule = SimulatedHuman(benchmark.personas["bo"], seed=5).answer(scenario, "Which would you like?")
    wanted = scenario.target_place if scenario.kind == "place" else scenario.target_object
    assert mentioned_options(reply, [wanted]) == mentioned_options(rule, [wanted]) == [wanted]
    usage = human.usage()
    assert usage["calls"] >= 1 and human.questions_answered == 1


def run_cli(server, bench: Path, out: Path, cache: Path, *options: str) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update({"OPENAI_API_KEY": "local", CACHE_ENV: str(cache)})
    command = [
        sys.executable, "-m", "pahf_robot.cli", "run", "--reasoner", "llm",
        "--model", llm_server.MODEL_ALIAS, "--base-url", server.base_url,
        "--sim", "none", "--modes", "pahf", "--learning-iter", "1", "--seed", "7",
        "--scenarios", str(bench), "--embedder", "hashing", "--out", str(out), "--no-progress",
        *options,
    ]  # fmt: skip
    result = subprocess.run(command, check=False, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    return read_episodes(out / EPISODES_FILE)


def test_two_persona_run_accounts_for_calls_and_replays_from_the_cache(server, bench, tmp_path):
    cache = tmp_path / "cache.sqlite"
    options = ("--personas", "alex,bo", "--phases", "1,2")
    before = server.requests_logged()
    records = run_cli(server, bench, tmp_path / "first", cache, *options)
    sent = server.requests_logged() - before
    assert len(records) == 8 and {r["user"] for r in records} == {"alex", "bo"}
    assert all(r["reasoner_usage"]["calls"] + r["reasoner_usage"]["cache_hits"] >= 1 for r in records)
    assert not any("human_usage" in r for r in records)
    results = json.loads((tmp_path / "first" / RESULTS_FILE).read_text())["llm"]
    reasoner = results["reasoner"]
    assert reasoner["calls"] == sum(r["reasoner_usage"]["calls"] for r in records) == sent > 0
    assert reasoner["prompt_tokens"] > 0 and reasoner["completion_tokens"] > 0
    assert reasoner["episodes"] == 8 and set(reasoner["by_mode"]) == {"pahf"} and "human" not in results

    replay = run_cli(server, bench, tmp_path / "second", cache, *options)
    assert server.requests_logged() - before == sent
    again = json.loads((tmp_path / "second" / RESULTS_FILE).read_text())["llm"]["reasoner"]
    assert again["calls"] == 0 and again["cache_hits"] > 0 and again["cache_hit_rate"] == 1.0
    assert comparable(_without_usage(replay)) == comparable(_without_usage(records))


def test_run_with_an_llm_human_accounts_for_its_calls(server, tmp_path):
    bench = small_benchmark(tmp_path / "bench", per_phase=1)
    before = server.requests_logged()
    options = ("--human", "llm", "--personas", "alex", "--phases", "1")
    records = run_cli(server, bench, tmp_path / "run", tmp_path / "cache.sqlite", *options)
    assert len(records) == 1 and records[0]["feedback"]
    human = json.loads((tmp_path / "run" / RESULTS_FILE).read_text())["llm"]["human"]
    assert human["calls"] == records[0]["human_usage"]["calls"] >= 1
    assert human["calls"] + records[0]["reasoner_usage"]["calls"] == server.requests_logged() - before


def _without_usage(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if not k.endswith("_usage")} for r in records]
