"""The AI pipeline through the real openai client against a local OpenAI-compatible server."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from content.ai import (
    AIRequestError,
    AIUnavailableError,
    BudgetExceededError,
    CallContext,
    InvalidAnswerError,
    Research,
    ask,
    generate,
    run,
)
from content.ai.client import _MODE_CACHE
from content.document import Brief, Document, MagnetType
from content.offline import generate as offline_generate
from kernel.metadata import AIGeneration, GenerationStatus
from tests.content.metadata_db import migrated_sqlite, new_org
from tests.content.openai_server import Fail, OpenAIServer, Reply
from tests.helpers import make_settings

BRIEF = Brief(type=MagnetType.CHECKLIST, topic="launching a pricing page", audience="SaaS founders")
DOC = offline_generate(BRIEF)
DOC_JSON = DOC.model_dump_json()


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    engine, factory = migrated_sqlite(tmp_path_factory.mktemp("ai"))
    yield factory
    engine.dispose()


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh(server: OpenAIServer) -> None:
    server.script.clear()
    server.requests.clear()
    server.refuse.clear()
    _MODE_CACHE.clear()


def context(factory: sessionmaker[Session], server: OpenAIServer | None, tmp_path, *,  # type: ignore[no-untyped-def]
            org_settings: dict | None = None, **overrides: object) -> tuple[CallContext, list[float]]:
    values: dict[str, object] = {"openai_base_url": server.base_url if server else "",
                                 "openai_max_retries": 3}
    values.update(overrides)
    settings = make_settings(tmp_path / "data", **values)
    sleeps: list[float] = []
    ctx = CallContext(org_id=new_org(factory, org_settings), sessions=factory, settings=settings,
                      sleep=sleeps.append, rng=random.Random(7))
    return ctx, sleeps


def rows(factory: sessionmaker[Session], org_id: str) -> list[AIGeneration]:
    with factory() as session:
        return list(session.scalars(sa.select(AIGeneration).where(AIGeneration.org_id == org_id)
                                    .order_by(AIGeneration.created_at, AIGeneration.id)))


def test_json_schema_answer_is_validated_and_recorded(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = context(factory, server, tmp_path)
    server.push(Reply(content=DOC_JSON, prompt_tokens=900, completion_tokens=700))
    doc = generate(BRIEF, ctx)
    assert doc == DOC
    request = server.requests[0]
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["name"] == "Document"
    assert "sections" in request["response_format"]["json_schema"]["schema"]["properties"]
    assert request["model"] == "gpt-4o-mini" and request["max_tokens"] > 256
    [row] = rows(factory, ctx.org_id)
    assert (row.step, row.status, row.tokens_in, row.tokens_out, row.model) == (
        "generate", GenerationStatus.SUCCEEDED, 900, 700, "gpt-4o-mini")
    assert row.response == DOC_JSON and "launching a pricing page" in row.prompt
    assert row.latency_ms >= 0 and row.error is None


def test_streamed_answer_is_assembled_with_progress(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = context(factory, server, tmp_path, openai_stream=True)
    seen: list[tuple[str, str]] = []
    ctx.on_delta = lambda step, text: seen.append((step, text))
    server.push(Reply(content=DOC_JSON, prompt_tokens=11, completion_tokens=22))
    assert generate(BRIEF, ctx) == DOC
    assert server.requests[0]["stream"] is True
    assert len(seen) >= 3 and "".join(t for _, t in seen) == DOC_JSON and seen[0][0] == "generate"
    [row] = rows(factory, ctx.org_id)
    assert (row.tokens_in, row.tokens_out, row.status) == (11, 22, GenerationStatus.SUCCEEDED)


def test_endpoint_without_json_schema_falls_back_to_tool_calls(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = context(factory, server, tmp_path)
    server.refuse.add("json_schema")
    server.push(Reply(tool_args=DOC_JSON), Reply(tool_args=DOC_JSON))
    assert generate(BRIEF, ctx) == DOC
    ctx.stream = True  # the remembered mode is used at once, streamed tool arguments too
    assert generate(BRIEF, ctx) == DOC
    modes = [("tools" if r.get("tools") else r.get("response_format", {}).get("type")) for r in server.requests]
    assert modes == ["json_schema", "tools", "tools"]
    assert server.requests[1]["tool_choice"]["function"]["name"] == "submit_document"
    statuses = [(r.status, (r.error or "")[:30]) for r in rows(factory, ctx.org_id)]
    assert statuses[0] == (GenerationStatus.FAILED, "endpoint refused json_schema o")
    assert [s for s, _ in statuses[1:]] == [GenerationStatus.SUCCEEDED] * 2


def test_json_mode_then_plain_when_tools_are_refused_too(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = context(factory, server, tmp_path)
    server.refuse.update({"json_schema", "tools", "json_object"})
    server.push(Reply(content=f"Here it is:\n```json\n{DOC_JSON}\n```"))
    assert generate(BRIEF, ctx) == DOC
    last = server.requests[-1]
    assert "response_format" not in last and "JSON schema" in last["messages"][0]["content"]


def test_malformed_json_is_re_asked_with_the_error(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = context(factory, server, tmp_path)
    server.push(Reply(content='{"type": "checklist", "title": '), Reply(content=DOC_JSON))
    assert generate(BRIEF, ctx) == DOC
    feedback = server.requests[1]["messages"][-1]["content"]
    assert "failed validation: the answer is not valid JSON" in feedback
    assert server.requests[1]["messages"][-2] == {"role": "assistant", "content": '{"type": "checklist", "title": '}
    first, second = rows(factory, ctx.org_id)
    assert first.status is GenerationStatus.FAILED and first.error.startswith("invalid answer: the answer is not valid JSON")
    assert second.status is GenerationStatus.SUCCEEDED


def test_schema_invalid_answers_fail_with_a_clear_message(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = context(factory, server, tmp_path)
    wrong_type = DOC.model_copy(update={"type": MagnetType.EBOOK}).model_dump_json()
    server.push(Reply(content='{"type": "checklist", "title": ""}'), Reply(content=wrong_type),
                Reply(content='{"type": "checklist", "title": "x", "sections": [], "colour": 1}'))
    with pytest.raises(InvalidAnswerError, match="no valid Document for the generate step in 3 attempts") as err:
        generate(BRIEF, ctx)
    assert "colour: Extra inputs are not permitted" in str(err.value)
    feedback = server.requests[2]["messages"][-1]["content"]
    assert "must be of type 'checklist', not 'ebook'" in feedback
    assert [r.status for r in rows(factory, ctx.org_id)] == [GenerationStatus.FAILED] * 3


def test_429_and_503_wait_what_the_server_asks_then_succeed(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, sleeps = context(factory, server, tmp_path)
    server.push(Fail(429, "slow down", {"retry-after": "2"}), Fail(503, "busy", {"retry-after-ms": "250"}),
                Fail(500, "oops"), Reply(content=DOC_JSON))
    assert generate(BRIEF, ctx) == DOC
    assert sleeps[:2] == [2.0, 0.25]
    assert 1.0 <= sleeps[2] <= 2.0  # third retry: backoff 0.5 * 2**2 s, jitter factor in [0.5, 1]
    assert len(server.requests) == 4
    [row] = rows(factory, ctx.org_id)
    assert row.status is GenerationStatus.SUCCEEDED


def test_a_timed_out_request_is_retried(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, sleeps = context(factory, server, tmp_path, openai_timeout_s=0.3)
    server.push(Reply(content='{"answer": "late"}', delay=1.5), Reply(content='{"answer": "on time"}'))
    assert ask(ctx, "research", [{"role": "user", "content": "?"}], Tiny).answer == "on time"
    assert len(sleeps) == 1 and len(server.requests) == 2


def test_persistent_failure_gives_a_clear_error_and_a_failed_row(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, sleeps = context(factory, server, tmp_path, openai_max_retries=2)
    server.push(*[Fail(500, "model crashed")] * 3)
    with pytest.raises(AIUnavailableError, match=r"failed 3 times \(HTTP 500: model crashed\)") as err:
        generate(BRIEF, ctx)
    assert err.value.retryable and err.value.step == "generate"
    assert len(sleeps) == 2
    [row] = rows(factory, ctx.org_id)
    assert row.status is GenerationStatus.FAILED and "model crashed" in (row.error or "")
    server.push(Fail(429, "quota", {"retry-after": "3600"}))
    with pytest.raises(AIUnavailableError, match="asked to wait 3600 s"):
        generate(BRIEF, ctx)


class Tiny(BaseModel):
    answer: str


def test_monthly_budget_refuses_when_exhausted(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = context(factory, server, tmp_path, org_settings={"ai": {"monthly_token_budget": 1000}})
    server.push(Reply(content='{"answer": "yes"}', prompt_tokens=400, completion_tokens=350))
    messages = [{"role": "user", "content": "Say yes."}]
    assert ask(ctx, "research", messages, Tiny).answer == "yes"
    assert 0 < server.requests[0]["max_tokens"] <= 1000
    with pytest.raises(BudgetExceededError, match="used 750 of its 1,000 AI tokens this month") as err:
        ask(ctx, "research", messages, Tiny)
    assert (err.value.used, err.value.limit) == (750, 1000)
    assert len(server.requests) == 1  # refused before sending
    assert [r.status for r in rows(factory, ctx.org_id)] == [GenerationStatus.SUCCEEDED, GenerationStatus.FAILED]


def test_request_budget_refuses_an_oversized_prompt(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = context(factory, server, tmp_path, ai_request_token_budget=1000)
    with pytest.raises(BudgetExceededError, match="exceeds LODESTONE_AI_REQUEST_TOKEN_BUDGET"):
        generate(BRIEF, ctx)
    assert server.requests == []


def test_model_override_per_organization_and_per_call(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = context(factory, server, tmp_path, org_settings={"ai": {"model": "org-model"}})
    server.push(Reply(content='{"answer": "a"}'), Reply(content='{"answer": "b"}'))
    ask(ctx, "research", [{"role": "user", "content": "?"}], Tiny)
    ctx.model = "call-model"
    ask(ctx, "research", [{"role": "user", "content": "?"}], Tiny)
    assert [r["model"] for r in server.requests] == ["org-model", "call-model"]


def test_full_pipeline_online_runs_every_step_in_order(factory, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = context(factory, server, tmp_path)
    notes = Research(angle="Price for the buyer", key_points=["Anchor on value"],
                     outline=[{"title": "Plans", "points": ["three tiers"]}])  # type: ignore[list-item]
    leveraged = DOC.model_dump(mode="json")
    leveraged["summary"] = "Leverage these steps."
    voiced = DOC.model_dump(mode="json")
    voiced["summary"] = "Use these steps."
    server.push(Reply(content=notes.model_dump_json()), Reply(content=DOC_JSON), Reply(content=DOC_JSON),
                Reply(content=DOC_JSON), Reply(content=Document.model_validate(leveraged).model_dump_json()),
                Reply(content=Document.model_validate(voiced).model_dump_json()))
    result = run(BRIEF, ctx, voice={"tone": "plain", "avoid": ["leverage"]})
    assert result.steps == ["research", "generate", "optimize", "visualize", "personalize"]
    assert result.research == notes and result.document.summary == "Use these steps."
    assert "Never use these words: leverage" in server.requests[4]["messages"][-1]["content"]
    assert "never uses 'leverage'" in server.requests[5]["messages"][-1]["content"]
    steps = [(r.step, r.status.value) for r in rows(factory, ctx.org_id)]
    assert steps == [("research", "succeeded"), ("generate", "succeeded"), ("optimize", "succeeded"),
                     ("visualize", "succeeded"), ("personalize", "failed"), ("personalize", "succeeded")]


def test_offline_pipeline_is_deterministic_and_recorded(factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = context(factory, None, tmp_path)
    assert ctx.offline
    brief = Brief(type=MagnetType.EBOOK, topic="cutting churn in the first 90 days")
    voice = {"tone": "plain", "avoid": ["routine"], "replacements": {"routine": "habit"}}
    first = run(brief, ctx, voice=voice)
    second = run(brief, ctx, voice=voice)
    assert first.document == second.document and first.offline
    assert "routine" not in first.document.plain_text().lower()
    assert "habit" in first.document.plain_text()
    recorded = rows(factory, ctx.org_id)
    assert [r.step for r in recorded[:5]] == ["research", "generate", "optimize", "visualize", "personalize"]
    assert {r.model for r in recorded} == {"offline"} and all(r.tokens_in == 0 for r in recorded)
    assert Document.model_validate_json(recorded[1].response or "").type is MagnetType.EBOOK
    with pytest.raises(AIRequestError, match="LODESTONE_OPENAI_BASE_URL is empty"):
        ask(ctx, "research", [{"role": "user", "content": "?"}], Tiny)  # never the public default
