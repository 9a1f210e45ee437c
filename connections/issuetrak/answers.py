"""What an Issuetrak answer means: `Outcome`, `ApiResult`, and the classification of a complete
HTTP answer (pure: no network). Every assumed detail of API v2 behaviour lives in `_Assumed`."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from connections.procedure import FEATURES_MENU

_MESSAGE_LIMIT = 300
_TRACE_ID_LIMIT = 100


class Outcome(StrEnum):
    """What came of one call to a site; `ok` is the only success."""

    OK = "ok"
    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    NOT_INSTALLED = "not-installed"
    DISABLED = "disabled"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not-found"
    RATE_LIMITED = "rate-limited"
    SERVER_ERROR = "server-error"
    BAD_RESPONSE = "bad-response"
    REDIRECTED = "redirected"
    BLOCKED = "blocked"

    @property
    def description(self) -> str:
        """One plain-language sentence for people reading a checklist."""
        return _DESCRIPTIONS[self]

    @property
    def is_network_failure(self) -> bool:
        """True when no HTTP answer came back at all (the site is not reachable)."""
        return self in _NETWORK_FAILURES


_DESCRIPTIONS = {
    Outcome.OK: "The site answered as expected.",
    Outcome.DNS: "The site's host name does not resolve (DNS).",
    Outcome.CONNECT: "No connection could be made to the site, or it was dropped without an answer.",
    Outcome.TLS: "The site's HTTPS certificate could not be verified.",
    Outcome.TIMEOUT: "The site did not answer in time.",
    Outcome.NOT_INSTALLED: "The web server answered, but API v2 is not installed under /api/v2.",
    Outcome.DISABLED: f"API v2 is installed but switched off ({FEATURES_MENU}).",
    Outcome.UNAUTHORIZED: "The API token was refused: wrong, revoked or expired.",
    Outcome.FORBIDDEN: "The token's user lacks the permission this request needs.",
    Outcome.NOT_FOUND: "The API says the item does not exist, or hides it from the token's user.",
    Outcome.RATE_LIMITED: "Issuetrak's rate limit was reached; try again later.",
    Outcome.SERVER_ERROR: "The site had an internal error.",
    Outcome.BAD_RESPONSE: "The answer was not the API's JSON (a web page, garbage, or too large).",
    Outcome.REDIRECTED: "The site redirects to another host or to plain http, which is not followed.",
    Outcome.BLOCKED: "This server's outbound policy does not connect to that address or port.",
}
_NETWORK_FAILURES = frozenset({Outcome.DNS, Outcome.CONNECT, Outcome.TLS, Outcome.TIMEOUT, Outcome.BLOCKED})


@dataclass(frozen=True)
class ApiResult:
    """One call's result. Never holds the token, even when the site echoed it."""

    outcome: Outcome
    status: int | None = None
    values: Any = None
    paging: dict | None = None
    trace_id: str | None = None
    message: str = ""
    retry_after: float | None = None
    elapsed_ms: int = 0
    url_path: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


# ---------------------------------------------------------------------------------------------
# ASSUMED: how a site behaves where neither Issuetrak's OpenAPI document nor its help centre
# says (the details marked **assumed** in issuetrak-api-v2.md). Every such detail lives in this
# class and nowhere else, so a real site that differs is a one-place change and the checklist
# logic does not move.
# ---------------------------------------------------------------------------------------------
class _Assumed:
    # A site with API v2 switched off answers 403 with this `information[].type`.
    DISABLED_INFO_TYPE = "apidisabled"  # compared case-insensitively
    # 429 answers say when to come back in this header (seconds or an HTTP date); Issuetrak
    # documents no header at all, and without one we do not retry.
    RETRY_AFTER_HEADER = "Retry-After"
    # GET /Authenticate/test documents "200 OK" and no body: any 2xx that is not a web page counts.
    BODY_OPTIONAL_PATHS = frozenset({"Authenticate/test"})
    # Membership writes document a status and at most a traceId: no `values` to expect.
    BODY_OPTIONAL_PATTERN = re.compile(r"Users/\d+/Memberships/Groups")

    @staticmethod
    def is_api_envelope(body: Any) -> bool:
        """Did the API application write this body, rather than the web server in front of it?

        Assumed: API answers are JSON objects carrying `traceId`, `information` or `values`
        (ASP.NET's own problem-details answers carry `traceId` too); the web server's 404 is an
        HTML page or empty, so a 404 without an envelope means API v2 is not installed.
        """
        return isinstance(body, dict) and any(key in body for key in ("traceId", "information", "values"))

    @staticmethod
    def is_disabled(status: int, body: Any) -> bool:
        """A switched-off API v2: 403 with information[0].type == "ApiDisabled"."""
        types = [str(item.get("type", "")).lower() for item in _information(body)]
        return status == 403 and _Assumed.DISABLED_INFO_TYPE in types[:1]

    @staticmethod
    def body_optional(path: str) -> bool:
        """Whether a 2xx on this path is fine without the `values` envelope."""
        return path in _Assumed.BODY_OPTIONAL_PATHS or bool(_Assumed.BODY_OPTIONAL_PATTERN.fullmatch(path))


# --- Pure helpers ----------------------------------------------------------------------------


def retry_after_seconds(header_value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date); None if unusable."""
    value = (header_value or "").strip()
    if not value:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, round((when - now).total_seconds(), 3))


def _information(body: Any) -> list[dict]:
    """The error envelope's `information` entries (only well-formed ones)."""
    items = body.get("information") if isinstance(body, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _detail(body: Any) -> str:
    """The site's own explanation: the first information message, or a problem-details title."""
    for item in _information(body):
        if item.get("message"):
            return str(item["message"])
    if isinstance(body, dict) and isinstance(body.get("title"), str):
        return body["title"]
    return ""


def _one_line(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    """Collapse whitespace and control characters, then cut to `limit` characters."""
    line = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"

# --- Reading an answer into an ApiResult (pure: no network) ------------------------------------


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]  # case-insensitive (requests' CaseInsensitiveDict)
    body: bytes


class _NotJson:
    """Marks a body that is not JSON (distinct from a JSON `null`)."""


_NOT_JSON = _NotJson()


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else _NOT_JSON
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def _is_html(answer: _Answer) -> bool:
    content_type = answer.headers.get("Content-Type", "").lower()
    return "html" in content_type or answer.body.lstrip()[:1] == b"<"


def _describe_body(answer: _Answer, parsed: Any) -> str:
    """What came back instead of API JSON, for a message (the page title helps spot IIS/nginx)."""
    if not answer.body.strip():
        return "an empty body"
    if _is_html(answer):
        match = re.search(rb"<title[^>]*>(.*?)</title>", answer.body[:8192], re.I | re.S)
        title = html.unescape(match.group(1).decode("utf-8", "replace")).strip() if match else ""
        return f'an HTML page ("{title}")' if title else "an HTML page"
    if parsed is _NOT_JSON:
        return "text that is not JSON"
    return "JSON without the API's envelope"


def _with_detail(message: str, parsed: Any) -> str:
    detail = _detail(parsed)
    return f"{message}: {detail}" if detail else message


def _interpret(answer: _Answer, path: str) -> ApiResult:
    """Map a complete HTTP answer to an ApiResult (the status decides, then the body)."""
    parsed = _parse_json(answer.body)
    trace_id = parsed.get("traceId") if isinstance(parsed, dict) else None
    result = _classify(answer, parsed, path)
    return replace(result, status=answer.status, trace_id=trace_id if isinstance(trace_id, str) else None)


def _classify(answer: _Answer, parsed: Any, path: str) -> ApiResult:
    status = answer.status
    if 200 <= status < 300:
        return _success(answer, parsed, path)
    if status == 401:
        return ApiResult(
            Outcome.UNAUTHORIZED,
            message="401: the token was refused (wrong, revoked or expired; Issuetrak does not say which)",
        )
    if status == 403:
        return _forbidden(answer, parsed)
    if status == 404:
        return _not_found(answer, parsed)
    if status == 429:
        return _rate_limited(answer)
    if status >= 500:
        return ApiResult(Outcome.SERVER_ERROR, message=_server_error_message(status, parsed))
    return _unexpected(answer, parsed)


def _success(answer: _Answer, parsed: Any, path: str) -> ApiResult:
    if isinstance(parsed, dict) and "values" in parsed:
        paging = parsed.get("pagingInformation")
        paging = paging if isinstance(paging, dict) else None
        return ApiResult(Outcome.OK, values=parsed["values"], paging=paging)
    if _Assumed.body_optional(path) and not _is_html(answer):
        return ApiResult(Outcome.OK, message=f"{answer.status}: the API answered")
    message = f"{answer.status}: expected the API's JSON, got {_describe_body(answer, parsed)}"
    return ApiResult(Outcome.BAD_RESPONSE, message=message)


def _forbidden(answer: _Answer, parsed: Any) -> ApiResult:
    if _Assumed.is_disabled(answer.status, parsed):
        message = _with_detail("403: API v2 is switched off on this site", parsed)
        return ApiResult(Outcome.DISABLED, message=message)
    if _Assumed.is_api_envelope(parsed):
        message = _with_detail("403: the token's user lacks the permission for this request", parsed)
        return ApiResult(Outcome.FORBIDDEN, message=message)
    # e.g. IIS refusing plain http for an SSL-only application: the web server, not the API.
    described = _describe_body(answer, parsed)
    return ApiResult(Outcome.FORBIDDEN, message=f"403 from the web server, not the API: {described}")


def _not_found(answer: _Answer, parsed: Any) -> ApiResult:
    if _Assumed.is_api_envelope(parsed):
        message = _with_detail("404: not found, or hidden from the token's user", parsed)
        return ApiResult(Outcome.NOT_FOUND, message=message)
    described = _describe_body(answer, parsed)
    return ApiResult(
        Outcome.NOT_INSTALLED,
        message=f"404 from the web server, not API v2 ({described}): is API v2 installed at /api/v2?",
    )


def _rate_limited(answer: _Answer) -> ApiResult:
    wait = retry_after_seconds(answer.headers.get(_Assumed.RETRY_AFTER_HEADER))
    advice = f"; retry after {wait:g} s" if wait is not None else ""
    return ApiResult(Outcome.RATE_LIMITED, retry_after=wait, message=f"429: rate limit reached{advice}")


def _server_error_message(status: int, parsed: Any) -> str:
    trace_id = parsed.get("traceId") if isinstance(parsed, dict) else None
    message = f"{status}: the site had an internal error"
    if isinstance(trace_id, str) and trace_id:
        message += f" (traceId {trace_id})"
    return _with_detail(message, parsed)


def _unexpected(answer: _Answer, parsed: Any) -> ApiResult:
    if answer.status == 400:
        message = _with_detail("400: the site refused the request as invalid", parsed)
        return ApiResult(Outcome.BAD_RESPONSE, message=message)
    return ApiResult(Outcome.BAD_RESPONSE, message=f"unexpected HTTP status {answer.status}")

