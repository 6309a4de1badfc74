"""One structured model call through the ``openai`` client, with every safeguard around it.

``ask()`` sends chat messages to any OpenAI-compatible endpoint and returns a validated
pydantic object:

* **Structured output.** The answer is requested as ``response_format: json_schema`` with the
  model's JSON schema. An endpoint that refuses it (HTTP 400/422) is asked again with a
  forced tool call, then JSON mode, then plain text with the schema in the prompt; the mode
  that worked is remembered per endpoint and model.
* **Validation.** Malformed JSON or a schema error is fed back to the model ("your answer
  failed validation: ...") up to ``LODESTONE_AI_VALIDATION_RETRIES`` times, then
  :class:`InvalidAnswerError` says what was wrong.
* **Transient failures.** 429, 5xx, timeouts and dropped connections are retried up to
  ``LODESTONE_OPENAI_MAX_RETRIES`` times with exponential backoff and jitter, waiting what
  ``Retry-After``/``retry-after-ms`` asks (never more than ``LODESTONE_OPENAI_MAX_RETRY_WAIT_S``).
* **Budgets.** The prompt plus the answer's ``max_tokens`` must fit
  ``LODESTONE_AI_REQUEST_TOKEN_BUDGET`` and the organization's tokens left this month.
* **Records.** Every request that reached the endpoint (or was refused for budget) is a row
  in ``ai_generations`` with tokens, latency, status and error.
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from content.ai.errors import (
    AIRequestError,
    AIUnavailableError,
    BudgetExceededError,
    InvalidAnswerError,
)
from content.ai.usage import ensure_budget, estimate_tokens, org_ai_settings, prompt_text, record
from kernel.metadata.enums import GenerationStatus
from kernel.pii import screen
from kernel.settings import Settings

T = TypeVar("T", bound=BaseModel)

MODES = ("json_schema", "tools", "json_object", "plain")
#: Fewest answer tokens worth asking for.
MIN_ANSWER_TOKENS = 256
_MODE_CACHE: dict[tuple[str, str], str] = {}


@dataclass
class CallContext:
    """Who a call is for and how to run it (one per pipeline run).

    Args:
        org_id: the organization billed and recorded.
        sessions: metadata session factory; records commit on their own.
        settings: endpoint, model, budgets, retries.
        magnet_id: recorded on every row (uniqueness reads it); None before the magnet exists.
        created_by: user id recorded on every row.
        model: per-call override; else the organization's ``settings.ai.model``; else
            ``LODESTONE_OPENAI_MODEL``.
        stream: ask for SSE answers (default ``LODESTONE_OPENAI_STREAM``).
        on_delta: called with (step, text) as a streamed answer arrives.
        sleep / rng: injectable for tests (clocks and randomness only).
    """

    org_id: str
    sessions: sessionmaker[Session]
    settings: Settings
    magnet_id: str | None = None
    created_by: str | None = None
    model: str | None = None
    stream: bool | None = None
    on_delta: Callable[[str, str], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    _client: openai.OpenAI | None = None

    @property
    def offline(self) -> bool:
        """True when no endpoint is configured: the pipeline uses the offline generator."""
        return not self.settings.openai_base_url

    def resolved_model(self) -> str:
        if self.model:
            return self.model
        with self.sessions() as session:
            override = org_ai_settings(session, self.org_id).get("model")
        return str(override) if override else self.settings.openai_model

    def pii_policy(self) -> str:
        """The organization's ``settings.pii_policy``, else ``LODESTONE_PII_POLICY``."""
        from kernel.metadata.models import Organization
        from kernel.pii import org_policy

        with self.sessions() as session:
            org = session.get(Organization, self.org_id)
            return org_policy(org.settings if org else None, self.settings.pii_policy)

    def client(self) -> openai.OpenAI:
        if self._client is None:
            self._client = openai.OpenAI(
                base_url=self.settings.openai_base_url, api_key=self.settings.openai_api_key or "unused",
                timeout=self.settings.openai_timeout_s, max_retries=0)
        return self._client


@dataclass(frozen=True)
class Answer:
    text: str
    prompt_tokens: int
    completion_tokens: int


class _Refused(Exception):
    """The endpoint refused the structured-output mode (try the next one)."""


def ask(ctx: CallContext, step: str, messages: list[dict[str, Any]], schema: type[T],
        check: Callable[[T], str | None] | None = None) -> T:
    """Ask the model for an instance of ``schema``; validated, budgeted, retried and recorded.

    Args:
        step: pipeline step name recorded with each call.
        messages: chat messages (system + user); the schema is added as needed.
        schema: the pydantic model the answer must validate against.
        check: extra validation after the schema (e.g. "keep the type"); returns an error
            message to feed back, or None.

    Raises:
        BudgetExceededError, AIUnavailableError, AIRequestError, InvalidAnswerError.
    """
    if ctx.offline:  # never fall through to the openai client's default (public) endpoint
        raise AIRequestError("no model endpoint is configured (LODESTONE_OPENAI_BASE_URL is empty); "
                             "the pipeline steps run offline instead", step=step)
    model = ctx.resolved_model()
    settings = ctx.settings
    name = schema.__name__
    json_schema = schema.model_json_schema()
    policy = ctx.pii_policy()  # personal data never reaches the model (kernel.pii)
    conversation = [{**m, "content": screen(m["content"], policy, "ai_prompt")}
                    if isinstance(m.get("content"), str) else m for m in messages]
    last_error = ""
    attempts = settings.ai_validation_retries + 1
    key = (settings.openai_base_url, model)
    attempt = 0
    while attempt < attempts:
        mode = _MODE_CACHE.get(key, MODES[0])
        request = _with_schema(conversation, json_schema, mode)
        prompt = prompt_text(request)
        prompt_tokens = estimate_tokens(prompt) + (estimate_tokens(json.dumps(json_schema)) if mode in ("json_schema", "tools") else 0)
        max_tokens = settings.ai_request_token_budget - prompt_tokens
        if max_tokens < MIN_ANSWER_TOKENS:
            error = (f"the {step} prompt is about {prompt_tokens:,} tokens; with room for an answer it "
                     f"exceeds LODESTONE_AI_REQUEST_TOKEN_BUDGET ({settings.ai_request_token_budget:,}). "
                     "Shorten the input or raise the budget.")
            _record_failure(ctx, step, model, prompt, error)
            raise BudgetExceededError(error, step=step, model=model)
        try:
            left = ensure_budget(ctx.sessions, ctx.org_id, settings, prompt_tokens + MIN_ANSWER_TOKENS,
                                 step=step, model=model)
        except BudgetExceededError as exc:
            _record_failure(ctx, step, model, prompt, str(exc))
            raise
        if left is not None:
            max_tokens = min(max_tokens, left - prompt_tokens)
        started = time.monotonic()
        try:
            answer = _send(ctx, step, model, request, mode, name, json_schema, max_tokens)
        except _Refused as exc:
            _record_failure(ctx, step, model, prompt, f"endpoint refused {mode} output: {exc}",
                            latency_ms=_ms(started))
            next_index = MODES.index(mode) + 1
            if next_index >= len(MODES):
                raise AIRequestError(f"the endpoint refused every output mode for {step}: {exc}",
                                     step=step, model=model) from exc
            _MODE_CACHE[key] = MODES[next_index]
            continue  # not an answer: does not use up a validation attempt
        except (AIUnavailableError, AIRequestError) as exc:
            exc.step, exc.model = step, model
            _record_failure(ctx, step, model, prompt, str(exc), latency_ms=_ms(started))
            raise
        attempt += 1
        latency = _ms(started)
        try:
            value = schema.model_validate(_json_of(answer.text))
            problem = check(value) if check else None
            if problem:
                raise ValueError(problem)
        except (ValueError, ValidationError) as exc:
            last_error = _describe(exc)
            record(ctx.sessions, org_id=ctx.org_id, magnet_id=ctx.magnet_id, step=step, model=model,
                   prompt=prompt, response=answer.text, tokens_in=answer.prompt_tokens,
                   tokens_out=answer.completion_tokens, latency_ms=latency,
                   status=GenerationStatus.FAILED, error=f"invalid answer: {last_error}",
                   created_by=ctx.created_by)
            conversation = list(messages) + [
                {"role": "assistant", "content": answer.text[:20_000]},
                {"role": "user", "content": (
                    f"Your answer failed validation: {last_error}. Answer again with one JSON object "
                    f"that matches the {name} schema exactly, nothing else.")},
            ]
            continue
        record(ctx.sessions, org_id=ctx.org_id, magnet_id=ctx.magnet_id, step=step, model=model,
               prompt=prompt, response=answer.text, tokens_in=answer.prompt_tokens,
               tokens_out=answer.completion_tokens, latency_ms=latency,
               status=GenerationStatus.SUCCEEDED, created_by=ctx.created_by)
        return value
    raise InvalidAnswerError(
        f"the model {model!r} gave no valid {name} for the {step} step in {attempts} attempts; "
        f"last problem: {last_error}. Try again, use a stronger model, or write the draft offline.",
        step=step, model=model)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record_failure(ctx: CallContext, step: str, model: str, prompt: str, error: str,
                    latency_ms: int = 0) -> None:
    record(ctx.sessions, org_id=ctx.org_id, magnet_id=ctx.magnet_id, step=step, model=model,
           prompt=prompt, response=None, tokens_in=0, tokens_out=0, latency_ms=latency_ms,
           status=GenerationStatus.FAILED, error=error, created_by=ctx.created_by)


def _with_schema(messages: list[dict[str, Any]], schema: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    if mode in ("json_schema", "tools"):
        return messages
    hint = ("Answer with one JSON object only (no prose, no code fences) that validates against "
            "this JSON schema:\n" + json.dumps(schema, separators=(",", ":")))
    return [{"role": "system", "content": hint}] + messages


def _json_of(text: str) -> Any:
    """The JSON object in an answer (tolerates code fences and text around it)."""
    stripped = text.strip()
    fenced = re.match(r"^```(?:json)?\s*(.*?)\s*```$", stripped, re.S)
    if fenced:
        stripped = fenced.group(1)
    try:
        return json.loads(stripped)
    except json.JSONDecodeError as exc:
        start, end = stripped.find("{"), stripped.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(stripped[start : end + 1])
            except json.JSONDecodeError:
                pass
        raise ValueError(f"the answer is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()[:8]]
        more = exc.error_count() - 8
        return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
    return str(exc)


def _send(ctx: CallContext, step: str, model: str, messages: list[dict[str, Any]], mode: str,
          name: str, schema: dict[str, Any], max_tokens: int) -> Answer:
    """One completion with transient retries; raises _Refused for an unsupported mode."""
    kwargs: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": max_tokens}
    if mode == "json_schema":
        kwargs["response_format"] = {"type": "json_schema",
                                     "json_schema": {"name": name, "schema": schema, "strict": False}}
    elif mode == "tools":
        kwargs["tools"] = [{"type": "function", "function": {
            "name": f"submit_{name.lower()}", "description": f"Submit the {name}.", "parameters": schema}}]
        kwargs["tool_choice"] = {"type": "function", "function": {"name": f"submit_{name.lower()}"}}
    elif mode == "json_object":
        kwargs["response_format"] = {"type": "json_object"}
    stream = ctx.settings.openai_stream if ctx.stream is None else ctx.stream
    settings = ctx.settings
    retries = settings.openai_max_retries
    for n in range(retries + 1):
        try:
            if stream:
                return _streamed(ctx, step, kwargs, messages)
            completion = ctx.client().chat.completions.create(**kwargs)
            return _answer(completion, messages)
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status in (400, 422) and mode != "plain":
                raise _Refused(_error_text(exc)) from exc
            if status != 429 and status < 500:
                hint = {401: "check LODESTONE_OPENAI_API_KEY", 403: "the key may not use this model",
                        404: f"check the model name {model!r} and LODESTONE_OPENAI_BASE_URL"}.get(status, "")
                raise AIRequestError(f"the model endpoint refused the request (HTTP {status}: "
                                     f"{_error_text(exc)}){'; ' + hint if hint else ''}") from exc
            reason = f"HTTP {status}: {_error_text(exc)}"
            wait = _retry_after(exc.response.headers)
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            reason, wait = f"{type(exc).__name__}: {exc}", None
        if n == retries:
            raise AIUnavailableError(
                f"the model endpoint failed {retries + 1} times ({reason}); try again later")
        if wait is not None and wait > settings.openai_max_retry_wait_s:
            raise AIUnavailableError(
                f"the model endpoint asked to wait {wait:g} s before retrying ({reason}), longer than "
                f"LODESTONE_OPENAI_MAX_RETRY_WAIT_S ({settings.openai_max_retry_wait_s:g} s); try again later")
        if wait is None:
            wait = min(settings.openai_max_retry_wait_s, 0.5 * 2**n) * (0.5 + ctx.rng.random() / 2)
        ctx.sleep(wait)
    raise AssertionError("unreachable")


def _error_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
    return str(exc.message)[:300]


def _retry_after(headers: Any) -> float | None:
    """Seconds the server asked to wait (``retry-after-ms``, ``Retry-After`` seconds or date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def _answer(completion: Any, messages: list[dict[str, Any]]) -> Answer:
    if not completion.choices:
        raise AIUnavailableError("the model endpoint answered without choices")
    message = completion.choices[0].message
    text = message.content or ""
    if message.tool_calls:
        text = message.tool_calls[0].function.arguments or text
    usage = completion.usage
    prompt_tokens = usage.prompt_tokens if usage else estimate_tokens(prompt_text(messages))
    completion_tokens = usage.completion_tokens if usage else estimate_tokens(text)
    return Answer(text, prompt_tokens, completion_tokens)


def _streamed(ctx: CallContext, step: str, kwargs: dict[str, Any], messages: list[dict[str, Any]]) -> Answer:
    parts: list[str] = []
    tool_parts: list[str] = []
    usage = None
    stream = ctx.client().chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta
            piece = delta.content or ""
            for call in delta.tool_calls or []:
                if call.function and call.function.arguments:
                    tool_parts.append(call.function.arguments)
                    piece += call.function.arguments
            if delta.content:
                parts.append(delta.content)
            if piece and ctx.on_delta:
                ctx.on_delta(step, piece)
    text = "".join(tool_parts) or "".join(parts)
    prompt_tokens = usage.prompt_tokens if usage else estimate_tokens(prompt_text(messages))
    completion_tokens = usage.completion_tokens if usage else estimate_tokens(text)
    return Answer(text, prompt_tokens, completion_tokens)
