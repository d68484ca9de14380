"""What the attribute conventions of agent telemetry say: span kind, names, tokens, cost, errors.

Layer: formats. It imports only from its own layer and the ones below it.

Traces from agent frameworks follow several naming conventions, often mixed in one span:
OpenTelemetry GenAI (``gen_ai.operation.name``, ``gen_ai.agent.name``, ``gen_ai.tool.name``,
``gen_ai.usage.*``), OpenInference (``openinference.span.kind``, ``llm.token_count.*``,
``tool.name``) and LangSmith (``langsmith.span.kind``). This module reads all of them from a
flat attribute mapping, so that every adapter classifies spans and finds errors the same way.

Errors are what the conventions call errors: a status code (OTLP ``2`` or
``STATUS_CODE_ERROR``); when the status is unset, an exception event that escaped the span
(one marked ``exception.escaped=false`` was caught inside it: an event, not a failure); and
tool results that report a failure in their payload (``{"isError": true}`` from MCP tools).
An explicit OK status wins over exception events. :func:`status_error`,
:func:`exception_error` and :func:`payload_error` turn each into a message, or ``None`` when
there is no error; :func:`handled_exceptions` lists the caught ones, which importers count
in the trace's warnings.

Examples
--------
>>> classify({"gen_ai.operation.name": "execute_tool"}, "execute_tool search")
'tool'
>>> tokens_of({"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5})
{'input': 10, 'output': 5, 'total': 15}
>>> payload_error('{"content": [{"type": "text", "text": "no such city"}], "isError": true}')
'no such city'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from agentsim.ingest._common import maybe_json
from agentsim.trace import SpanKind

__all__ = [
    "agent_name_of",
    "classify",
    "cost_of",
    "exception_error",
    "handled_exceptions",
    "model_of",
    "payload_error",
    "provider_of",
    "span_outcome",
    "status_error",
    "status_unknown",
    "tokens_of",
    "tool_name_of",
]

OPENINFERENCE_KINDS: dict[str, SpanKind | None] = {
    "LLM": "llm",
    "EMBEDDING": "llm",
    "TOOL": "tool",
    "RETRIEVER": "tool",
    "RERANKER": "tool",
    "AGENT": "agent",
    "CHAIN": "chain",
    "PROMPT": "chain",
    "GUARDRAIL": "other",
    "EVALUATOR": "other",
    "UNKNOWN": None,
}

_OPERATIONS: dict[str, SpanKind] = {
    "invoke_agent": "agent",
    "create_agent": "agent",
    "execute_tool": "tool",
    "chat": "llm",
    "text_completion": "llm",
    "completion": "llm",
    "generate_content": "llm",
    "embeddings": "llm",
    "call_llm": "llm",
    "responses": "llm",
    "chain": "chain",
}

RUN_TYPES: dict[str, SpanKind] = {
    "llm": "llm",
    "chat_model": "llm",
    "embedding": "llm",
    "tool": "tool",
    "retriever": "tool",
    "agent": "agent",
    "chain": "chain",
    "prompt": "chain",
    "parser": "chain",
}

# Token usage alone is no evidence: frameworks also report it, summed, on wrapper spans.
_LLM_HINTS = ("gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "llm.request.type")

_NAME_PREFIXES: tuple[tuple[str, SpanKind], ...] = (
    ("invoke_agent", "agent"),
    ("execute_tool", "tool"),
    ("call_llm", "llm"),
)


def classify(attrs: Mapping[str, Any], name: str) -> SpanKind | None:
    """The span kind the attributes declare, or ``None`` when they declare none.

    Explicit declarations win (OpenInference kind, then the GenAI operation name, then the
    LangSmith kind); then the presence of tool, agent or model attributes; then the GenAI
    span-name prefixes (``invoke_agent``, ``execute_tool``, ``call_llm``).

    >>> classify({"openinference.span.kind": "RETRIEVER"}, "search")
    'tool'
    >>> usage = {"gen_ai.usage.input_tokens": 3}
    >>> classify(usage, "call_llm"), classify(usage, "orchestrate_tools")
    ('llm', None)
    >>> classify({"gen_ai.agent.name": "joke_agent"}, "joke_agent run")
    'agent'
    >>> classify({"http.method": "GET"}, "GET") is None
    True
    """
    oi = attrs.get("openinference.span.kind")
    if isinstance(oi, str) and oi.upper() in OPENINFERENCE_KINDS:
        found = OPENINFERENCE_KINDS[oi.upper()]
        if found is not None:
            return found
    op = attrs.get("gen_ai.operation.name")
    if isinstance(op, str) and op.lower() in _OPERATIONS:
        return _OPERATIONS[op.lower()]
    ls_kind = attrs.get("langsmith.span.kind")
    if isinstance(ls_kind, str) and ls_kind.lower() in RUN_TYPES:
        return RUN_TYPES[ls_kind.lower()]
    if "gen_ai.tool.name" in attrs or "tool.name" in attrs:
        return "tool"
    if "gen_ai.agent.name" in attrs or "agent.name" in attrs:
        return "agent"
    if any(key in attrs for key in _LLM_HINTS):
        return "llm"
    lowered = name.lower()
    for prefix, kind in _NAME_PREFIXES:
        if lowered.startswith(prefix):
            return kind
    return None


_BRACKETED = re.compile(r"\[([^\]]+)\]")


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def agent_name_of(attrs: Mapping[str, Any], name: str) -> str:
    """The agent's name: from ``gen_ai.agent.name`` / ``agent.name``, else from the span name.

    >>> agent_name_of({}, "invoke_agent helm_agent")
    'helm_agent'
    >>> agent_name_of({}, "agent_run [hello_agent]")
    'hello_agent'
    """
    for key in ("gen_ai.agent.name", "agent.name", "agent_name"):
        found = _text(attrs.get(key))
        if found is not None:
            return found
    bracketed = _BRACKETED.search(name)
    if bracketed is not None:
        return bracketed.group(1).strip()
    for prefix in ("invoke_agent ", "agent_run "):
        if name.lower().startswith(prefix) and name[len(prefix) :].strip():
            return name[len(prefix) :].strip()
    return name


def tool_name_of(attrs: Mapping[str, Any], name: str) -> str:
    """The tool's name: from ``gen_ai.tool.name`` / ``tool.name``, else from the span name.

    >>> tool_name_of({}, "running tool: get_pun_suggestion")
    'get_pun_suggestion'
    """
    for key in ("gen_ai.tool.name", "tool.name"):
        found = _text(attrs.get(key))
        if found is not None:
            return found
    for prefix in ("execute_tool ", "running tool: ", "tool "):
        if name.lower().startswith(prefix) and name[len(prefix) :].strip():
            return name[len(prefix) :].strip()
    return name


def model_of(attrs: Mapping[str, Any]) -> str | None:
    """The model name, from GenAI, OpenInference or LangSmith attributes."""
    for key in (
        "gen_ai.response.model",
        "gen_ai.request.model",
        "llm.model_name",
        "ls_model_name",
        "model",
    ):
        found = _text(attrs.get(key))
        if found is not None:
            return found
    return None


PROVIDER_KEY = "gen_ai.provider.name"
"""The GenAI attribute naming an inference span's provider (required on such spans)."""
SIMULATED_PROVIDER = "agentsim"
"""The provider an export names for a simulated model (an imported span keeps its own)."""
_PROVIDER_KEYS = (PROVIDER_KEY, "gen_ai.system", "llm.provider", "llm.system")
USAGE_KEYS = {"input": "gen_ai.usage.input_tokens", "output": "gen_ai.usage.output_tokens"}
"""The GenAI names of token usage, which an export writes."""


def provider_of(attrs: Mapping[str, Any]) -> str | None:
    """The inference provider, from GenAI (current or older) or OpenInference attributes.

    >>> provider_of({"gen_ai.system": "openai"}), provider_of({}) is None
    ('openai', True)
    """
    for key in _PROVIDER_KEYS:
        found = _text(attrs.get(key))
        if found is not None:
            return found
    return None


_TOKEN_KEYS = {
    "input": (
        USAGE_KEYS["input"],
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
        "input_tokens",
        "prompt_tokens",
        "input",
    ),
    "output": (
        USAGE_KEYS["output"],
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
        "output_tokens",
        "completion_tokens",
        "output",
    ),
    "total": (
        "gen_ai.usage.total_tokens",
        "llm.usage.total_tokens",
        "llm.token_count.total",
        "total_tokens",
        "total",
    ),
}


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and value >= 0 and value.is_integer() and value < 1e15:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value) < 16:
        return int(value)
    return None


def tokens_of(attrs: Mapping[str, Any]) -> dict[str, int] | None:
    """Token counts as ``{"input", "output", "total"}`` (keys present when known).

    Reads GenAI, OpenInference, OpenAI and Langfuse usage keys; the total is the sum of input
    and output when it is not given.

    >>> tokens_of({"llm.token_count.prompt": "7", "llm.token_count.total": 9})
    {'input': 7, 'total': 9}
    >>> tokens_of({"http.method": "GET"}) is None
    True
    """
    out: dict[str, int] = {}
    for slot, keys in _TOKEN_KEYS.items():
        for key in keys:
            found = _count(attrs.get(key))
            if found is not None:
                out[slot] = found
                break
    if not out:
        return None
    if "total" not in out and "input" in out and "output" in out:
        out["total"] = out["input"] + out["output"]
    return out


def _money(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and 0 <= value < 1e12:
        return float(value)
    return None


def cost_of(attrs: Mapping[str, Any]) -> float:
    """Money spent, from a total-cost attribute or the sum of input and output costs.

    >>> cost_of({"gen_ai.usage.input_cost": 0.25, "gen_ai.usage.output_cost": 0.5})
    0.75
    """
    for key in ("gen_ai.usage.cost", "llm.cost.total", "operation.cost", "total_cost"):
        found = _money(attrs.get(key))
        if found is not None:
            return found
    parts = [
        _money(attrs.get(key))
        for key in (
            "gen_ai.usage.input_cost",
            "gen_ai.usage.output_cost",
            "llm.cost.prompt",
            "llm.cost.completion",
        )
    ]
    return sum(p for p in parts if p is not None)


_ERROR_CODES = {"2", "error", "status_code_error", "statuscode.error"}
_OK_CODES = {"1", "ok", "status_code_ok", "statuscode.ok"}
_UNSET_CODES = {"0", "unset", "status_code_unset", "statuscode.unset", ""}


def status_unknown(code: Any) -> bool:
    """Whether ``code`` is given but is no OpenTelemetry status (read as unset, with a warning).

    >>> status_unknown("banana"), status_unknown("STATUS_CODE_OK"), status_unknown(None)
    (True, False, False)
    """
    if code is None:
        return False
    if isinstance(code, bool):
        return True
    text = str(code).strip().lower()
    return text not in _ERROR_CODES | _OK_CODES | _UNSET_CODES


def status_error(code: Any, message: Any) -> tuple[bool | None, str | None]:
    """Read an OpenTelemetry-style status: ``(True, message)`` for an error, ``(False, None)``
    for an explicit OK and ``(None, None)`` when unset.

    >>> status_error("STATUS_CODE_ERROR", "boom")
    (True, 'boom')
    >>> status_error(1, "")
    (False, None)
    >>> status_error(0, None)
    (None, None)
    """
    if isinstance(code, bool) or code is None:
        return None, None
    text = str(code).strip().lower()
    if text in _ERROR_CODES:
        msg = _text(message) if isinstance(message, str) else None
        return True, msg or "error status"
    if text in _OK_CODES:
        return False, None
    return None, None


def _is_exception(name: str, attrs: Mapping[str, Any]) -> bool:
    return name.lower() == "exception" or any(k.startswith("exception.") for k in attrs)


def _handled(attrs: Mapping[str, Any]) -> bool:
    """Whether an exception event says the exception did not leave the span
    (``exception.escaped`` false, as a boolean or a string)."""
    escaped = attrs.get("exception.escaped")
    return escaped is False or (isinstance(escaped, str) and escaped.strip().lower() == "false")


def _exception_text(attrs: Mapping[str, Any]) -> str:
    kind = _text(attrs.get("exception.type"))
    message = _text(attrs.get("exception.message"))
    if kind and message:
        return f"{kind}: {message}"
    return kind or message or "exception"


def exception_error(events: Sequence[tuple[str, Mapping[str, Any]]]) -> str | None:
    """The message of the first exception event that left the span (``type: message``), or
    ``None``.

    An event marked ``exception.escaped=false`` records an exception the span caught (a
    cancelled poll, a retried request): it is an event, not the span's failure. An event
    without the flag counts as escaped, as the semantic conventions recommend recording only
    exceptions that escape a span.

    >>> exception_error([("exception", {"exception.type": "KeyError", "exception.message": "x"})])
    'KeyError: x'
    >>> exception_error([("exception", {"exception.type": "CancelledError",
    ...                                 "exception.escaped": "False"})]) is None
    True
    """
    for name, attrs in events:
        if not _is_exception(name, attrs) or _handled(attrs):
            continue
        return _exception_text(attrs)
    return None


def handled_exceptions(events: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """The exception events marked ``exception.escaped=false`` (caught inside the span).

    >>> handled_exceptions([("exception", {"exception.type": "CancelledError",
    ...                                    "exception.escaped": False})])
    ['CancelledError']
    """
    return [_exception_text(a) for n, a in events if _is_exception(n, a) and _handled(a)]


_FAILED = {"error", "failed", "failure"}


def _payload_text(payload: Mapping[str, Any]) -> str | None:
    for key in ("message", "error", "detail"):
        value = payload.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        found = _text(value)
        if found is not None:
            return found
    content = payload.get("content")
    if isinstance(content, list):
        texts = [c.get("text") for c in content if isinstance(c, dict)]
        joined = " ".join(t for t in texts if isinstance(t, str)).strip()
        if joined:
            return joined
    return _text(content)


def payload_error(payload: Any) -> str | None:
    """The error a tool result reports in its payload, or ``None``.

    A payload (a JSON object, or a string holding one) reports an error with ``isError`` or
    ``is_error`` true (MCP tool results), a non-empty ``error`` member, or a ``status`` /
    ``response_status`` of ``error`` or ``failed``.

    >>> payload_error({"response_status": "Error", "message": "no data"})
    'no data'
    >>> payload_error({"isError": False, "content": []}) is None
    True
    """
    payload = maybe_json(payload)
    if not isinstance(payload, dict):
        return None
    flagged = payload.get("isError") is True or payload.get("is_error") is True
    error = payload.get("error")
    if not flagged and error not in (None, False, "", {}, []):
        flagged = True
    for key in ("status", "response_status"):
        status = payload.get(key)
        if isinstance(status, str) and status.strip().lower() in _FAILED:
            flagged = True
    if not flagged:
        return None
    return _payload_text(payload) or "tool reported an error"


_TOOL_RESULT_KEYS = (
    "gen_ai.tool.call.result",
    "gen_ai.output",
    "gcp.vertex.agent.tool_response",
    "output.value",
    "tool_response",
)


def span_outcome(
    attrs: Mapping[str, Any],
    kind: SpanKind | None,
    status_code: Any = None,
    status_message: Any = None,
    events: Sequence[tuple[str, Mapping[str, Any]]] | None = None,
) -> tuple[bool, str | None]:
    """``(ok, error)`` from every error signal of an OpenTelemetry-style span.

    An error status fails the span; an explicit OK status overrides exception events (the
    exception was handled), an unset one does not, except for events marked
    ``exception.escaped=false`` (caught inside the span); a tool's result payload reporting
    an error fails the span whatever its status.

    >>> span_outcome({}, "chain", 0, None, [("exception", {"exception.type": "CancelledError"})])
    (False, 'CancelledError')
    >>> span_outcome({}, "chain", 0, None, [("exception", {"exception.type": "CancelledError",
    ...                                                    "exception.escaped": "False"})])
    (True, None)
    >>> span_outcome({"output.value": '{"isError": true, "content": "denied"}'}, "tool", "OK")
    (False, 'denied')
    """
    is_error, message = status_error(status_code, status_message)
    if is_error:
        return False, message
    if is_error is None and events:
        raised = exception_error(events)
        if raised is not None:
            return False, raised
    if kind == "tool":
        for key in _TOOL_RESULT_KEYS:
            if key in attrs:
                reported = payload_error(attrs[key])
                if reported is not None:
                    return False, reported
    return True, None
