"""The one module that speaks to Issuetrak API v2.

Plain Python, usable from `manage.py shell` or a script. Models, views and tasks call
`IssuetrakClient` and never import `requests`. Every request goes through `IssuetrakClient._call`,
which owns the policy: a deadline for the whole call (body included), a cap on the response
size, which redirects are followed, the one 429 retry, and the redaction of the token. Network
and HTTP problems never raise: each comes back as an `ApiResult` with a typed `Outcome`.

    with IssuetrakClient("https://support.example.com", token) as site:
        result = site.system_settings()
        if not result.ok:
            print(result.outcome, result.message)
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import http.client
import json
import logging
import operator
import re
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests
import urllib3.exceptions
from django.conf import settings

logger = logging.getLogger("connections.issuetrak")

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 3
# Longer waits are reported as rate-limited: a checklist must not hang on a busy site.
RETRY_AFTER_MAX_SLEEP_S = 2.0
SEARCH_PAGE_SIZE = 5
MAX_PAGE_SIZE = 100  # the API refuses PageSize above 100
REDACTED = "[redacted]"
_READ_CHUNK = 64 * 1024
_MESSAGE_LIMIT = 300
_TRACE_ID_LIMIT = 100
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


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
    Outcome.DISABLED: "API v2 is installed but switched off (Settings → System → Features).",
    Outcome.UNAUTHORIZED: "The API token was refused: wrong, revoked or expired.",
    Outcome.FORBIDDEN: "The token's user lacks the permission this request needs.",
    Outcome.NOT_FOUND: "The API says the item does not exist, or hides it from the token's user.",
    Outcome.RATE_LIMITED: "Issuetrak's rate limit was reached; try again later.",
    Outcome.SERVER_ERROR: "The site had an internal error.",
    Outcome.BAD_RESPONSE: "The answer was not the API's JSON (a web page, garbage, or too large).",
    Outcome.REDIRECTED: "The site redirects to another host or to plain http, which is not followed.",
}
_NETWORK_FAILURES = frozenset({Outcome.DNS, Outcome.CONNECT, Outcome.TLS, Outcome.TIMEOUT})


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
        return path in _Assumed.BODY_OPTIONAL_PATHS


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


def _megabytes(size: int) -> str:
    return f"{size // (1024 * 1024)} MB" if size % (1024 * 1024) == 0 else f"{size} bytes"


# --- The redaction helper ----------------------------------------------------------------------


class _Redactor:
    """Replaces the token (as given, as sent, and URL-encoded) with "[redacted]" in server text.

    Applied to every ApiResult field built from what a site said, so a site that echoes the
    token in an error body or a header cannot get it into a message, a log line or a repr.
    Matching ignores case because host names (e.g. from a Location header) come back lowercased.
    """

    def __init__(self, *secrets: str):
        forms = {form for secret in secrets for form in (secret, quote(secret, safe="")) if form}
        alternatives = sorted(forms, key=len, reverse=True)  # longest first: no partial leftovers
        self._pattern = re.compile("|".join(map(re.escape, alternatives)), re.I) if forms else None

    def __repr__(self) -> str:
        return f"_Redactor({REDACTED})"

    def text(self, value: str) -> str:
        return self._pattern.sub(REDACTED, value) if self._pattern else value

    def data(self, value: Any) -> Any:
        """Redact every string (keys included) inside decoded JSON."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.data(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(key)): self.data(item) for key, item in value.items()}
        return value

    def result(self, result: ApiResult) -> ApiResult:
        """The result with every server-derived field redacted, then cut to size."""
        trace_id = _one_line(self.text(result.trace_id), _TRACE_ID_LIMIT) if result.trace_id else None
        return replace(
            result,
            message=_one_line(self.text(result.message)),
            trace_id=trace_id,
            values=self.data(result.values),
            paging=self.data(result.paging),
        )


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


# --- Network failures ----------------------------------------------------------------------------


class _Failure(Exception):
    """Internal early exit carrying a finished result; never escapes IssuetrakClient._call."""

    def __init__(self, outcome: Outcome, message: str, status: int | None = None):
        super().__init__(message)
        self.result = ApiResult(outcome, status=status, message=message)


def _exception_chain(exc: BaseException):
    """The exception and every exception it wraps (requests → urllib3 → socket/ssl)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = (getattr(current, "reason", None), current.__cause__, current.__context__, *current.args)
        todo.extend(item for item in linked if isinstance(item, BaseException))


_TLS_REASONS = {
    10: "the certificate has expired",
    18: "the certificate is self-signed",
    19: "the certificate chain ends in a self-signed CA that is not trusted",
    20: "the certificate's issuer is not trusted (private CA, or a missing intermediate)",
    21: "the certificate's issuer is not trusted (private CA, or a missing intermediate)",
    62: "the certificate is for another host name",
    64: "the certificate is for another host name (IP address mismatch)",
}


def _tls_message(chain: list[BaseException]) -> str:
    verify = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
    if verify is None:
        return "the TLS handshake failed (is https served on this port?)"
    code = getattr(verify, "verify_code", None)
    if code is None and "hostname" in str(verify).lower():
        code = 62
    reason = _TLS_REASONS.get(code) or getattr(verify, "verify_message", "") or "it is not valid"
    return f"certificate invalid: {reason}"


def _network_failure(exc: BaseException, host: str, timeout: float) -> _Failure:
    """Name what went wrong below HTTP: DNS, TCP, TLS, time, or a non-HTTP answer."""
    chain = list(_exception_chain(exc))
    found = {type(item) for item in chain}

    def has(kind) -> bool:
        return any(issubclass(item, kind) for item in found)

    if has(ssl.SSLError) or isinstance(exc, requests.exceptions.SSLError):
        return _Failure(Outcome.TLS, f"{host}: {_tls_message(chain)}")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _Failure(Outcome.TIMEOUT, f"could not connect to {host} within {timeout:g} s")
    if isinstance(exc, requests.exceptions.Timeout) or has(TimeoutError):
        return _Failure(Outcome.TIMEOUT, f"{host} did not answer within {timeout:g} s")
    if has(socket.gaierror):
        return _Failure(Outcome.DNS, f"the host name {host} does not resolve (DNS)")
    if has(ConnectionRefusedError):
        return _Failure(Outcome.CONNECT, f"{host} refused the connection (nothing listens on that port)")
    if has(http.client.RemoteDisconnected) or has(ConnectionResetError):
        return _Failure(Outcome.CONNECT, f"{host} closed the connection without answering")
    if has(http.client.HTTPException):
        return _Failure(Outcome.BAD_RESPONSE, f"{host} answered with something that is not HTTP")
    return _Failure(Outcome.CONNECT, f"could not connect to {host} ({type(exc).__name__})")


# --- Redirect policy -----------------------------------------------------------------------------


def _effective_port(parts) -> int | None:
    try:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:  # a port that is not a number
        return None


def _check_redirect(current: str, target: str, status: int) -> None:
    """Allow same-host redirects only; never https → http. Messages name the host, not the URL."""
    old, new = urlsplit(current), urlsplit(target)
    host = new.hostname or "an unnamed host"
    refusal = None
    if new.scheme not in ("http", "https"):
        refusal = "to a non-web address"
    elif old.scheme == "https" and new.scheme == "http":
        refusal = f"from https to plain http ({host})"
    elif new.hostname != old.hostname or not _same_port_or_upgrade(old, new):
        refusal = f"to another host ({host})"
    if refusal:
        raise _Failure(Outcome.REDIRECTED, f"{status}: the site redirects {refusal}", status)


def _same_port_or_upgrade(old, new) -> bool:
    # http → https on the same host name may change the port (80 → 443); nothing else may.
    upgrade = (old.scheme, new.scheme) == ("http", "https")
    return upgrade or _effective_port(old) == _effective_port(new)


def _method_after_redirect(status: int, method: str, body: Any) -> tuple[str, Any]:
    # 303 means "GET this instead". For 301/302 we keep the method and body, unlike browsers:
    # a search POST turned into a GET would hit a different endpoint and mislead the checklist.
    return ("GET", None) if status == 303 else (method, body)


# --- Reading the body under the deadline -----------------------------------------------------


def _set_socket_timeout(response: requests.Response, seconds: float) -> None:
    # urllib3's read timeout applies to each recv, not to the whole body; keeping it at the time
    # left means one recv can never run past the deadline.
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.01))


def _read_piece(response: requests.Response, deadline: float, timeout: float) -> bytes:
    status = response.status_code
    late = _Failure(Outcome.TIMEOUT, f"the answer did not finish within {timeout:g} s", status)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise late
    _set_socket_timeout(response, remaining)
    try:
        # read1: whatever one recv brings, so a server trickling bytes is checked between them.
        return response.raw.read1(_READ_CHUNK, decode_content=True)
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
        raise late from None
    except (urllib3.exceptions.HTTPError, OSError):
        raise _Failure(Outcome.BAD_RESPONSE, "the answer was cut off or garbled", status) from None


def _read_body(response: requests.Response, deadline: float, max_bytes: int, timeout: float) -> bytes:
    """The whole body, or a _Failure once it passes max_bytes or the deadline."""
    message = f"response larger than {_megabytes(max_bytes)}"
    too_large = _Failure(Outcome.BAD_RESPONSE, message, response.status_code)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large  # refuse before reading a byte
    chunks, size = [], 0
    while piece := _read_piece(response, deadline, timeout):
        size += len(piece)
        if size > max_bytes:
            raise too_large
        chunks.append(piece)
    return b"".join(chunks)


# --- Settings and input checks ------------------------------------------------------------------


def _setting(name: str, default: Any) -> Any:
    """A Django setting when Django is configured, else the default (plain-Python use)."""
    return getattr(settings, name, default) if settings.configured else default


def _clean_base_url(base_url: str) -> str:
    url = re.sub(r"/api/v2/?$", "", base_url.strip().rstrip("/"), flags=re.I).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("base_url must be an http(s) address such as https://support.example.com")
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise ValueError("base_url must not carry credentials, a query or a fragment")
    return url


def _header_value(token: str) -> str:
    # Surrounding whitespace (a pasted newline) can never be part of a token. Anything else odd
    # is refused here, with a message that does not repeat the value: requests would otherwise
    # raise an error that quotes the header, token included.
    value = token.strip()
    if not (value.isascii() and value.isprintable()):
        raise ValueError("the API token contains characters that cannot be sent in an HTTP header")
    return value


def _iid(value: int) -> int:
    if isinstance(value, bool):
        raise TypeError("an IID is an integer")
    return operator.index(value)  # refuses strings, so nothing can be spliced into the path


def _paging(page: int, page_size: int) -> dict[str, int]:
    if _iid(page) < 1 or not 1 <= _iid(page_size) <= MAX_PAGE_SIZE:
        raise ValueError(f"page must be ≥ 1 and page_size between 1 and {MAX_PAGE_SIZE}")
    return {"PageNumber": page, "PageSize": page_size}


# --- The client -----------------------------------------------------------------------------------


class IssuetrakClient:
    """A connection to one site's API v2 with one token; every method returns an ApiResult."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float | None = None,
        verify: bool | str = True,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ):
        """ISSUETRAK_TIMEOUT_S applies unless `timeout` is given; `verify` may name a CA file.

        Raises ValueError for a malformed base URL or a token that cannot be sent in a header:
        those are the caller's mistakes, not the site's. Whether plain http is acceptable
        (ISSUETRAK_ALLOW_HTTP) is the checklist's base_url step to decide, not the client's.
        """
        self.base_url = _clean_base_url(base_url)
        if timeout is None:
            timeout = _setting("ISSUETRAK_TIMEOUT_S", DEFAULT_TIMEOUT_S)
        self.timeout = float(timeout)
        self.max_bytes = max_bytes
        header = _header_value(token)
        self._redactor = _Redactor(token, header)
        self._session = requests.Session()
        self._session.headers.update({"X-Api-Key": header, "Accept": "application/json"})
        self._verify = verify

    def __repr__(self) -> str:
        return f"<IssuetrakClient {self.base_url} token={REDACTED}>"

    def __enter__(self) -> IssuetrakClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    # --- The API calls the checklist makes ---

    def authenticate_test(self) -> ApiResult:
        """GET /Authenticate/test: does API v2 answer, and does it accept the token?"""
        return self._call("GET", "Authenticate/test")

    def system_settings(self) -> ApiResult:
        """GET /System/Settings: an authenticated read any API user may make."""
        return self._call("GET", "System/Settings")

    def search_users(self, login_id: str) -> ApiResult:
        """POST /Users/Search for one login ID (the User ID shown in Issuetrak); values is a list."""
        body = {
            "id": {"type": "MatchAny", "values": [login_id]},
            "pageNumber": 1,
            "pageSize": SEARCH_PAGE_SIZE,
        }
        return self._call("POST", "Users/Search", body=body)

    def get_user(self, iid: int) -> ApiResult:
        """GET /Users/{iid}: values holds isSysAdmin, isActive, …"""
        return self._call("GET", f"Users/{_iid(iid)}")

    def user_groups(self, iid: int, page: int = 1, page_size: int = MAX_PAGE_SIZE) -> ApiResult:
        """GET /Users/{iid}/Memberships/Groups: values is [{"groupIid": n}, …]."""
        return self._call("GET", f"Users/{_iid(iid)}/Memberships/Groups", params=_paging(page, page_size))

    def get_group(self, iid: int) -> ApiResult:
        """GET /Groups/{iid}: values["permissions"] lists the group's permissions."""
        return self._call("GET", f"Groups/{_iid(iid)}")

    def list_users(self, page: int = 1, page_size: int = MAX_PAGE_SIZE) -> ApiResult:
        """GET /Users, one page; paging holds page, itemTotal, pageCount."""
        return self._call("GET", "Users", params=_paging(page, page_size))

    def list_groups(self, page: int = 1, page_size: int = MAX_PAGE_SIZE) -> ApiResult:
        """GET /Groups, one page; paging holds page, itemTotal, pageCount."""
        return self._call("GET", "Groups", params=_paging(page, page_size))

    # --- All outbound HTTP goes through here ---

    def _call(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> ApiResult:
        """One API call under one deadline: redirects, the single 429 retry and the body included."""
        started = time.monotonic()
        deadline = started + self.timeout
        result = self._attempt(method, path, params, body, deadline)
        if self._may_retry(result, deadline):
            logger.debug("issuetrak %s /api/v2/%s: 429, retrying in %g s", method, path, result.retry_after)
            time.sleep(result.retry_after)
            result = self._attempt(method, path, params, body, deadline)
        elapsed_ms = round((time.monotonic() - started) * 1000)
        result = replace(self._redactor.result(result), elapsed_ms=elapsed_ms, url_path=f"/api/v2/{path}")
        self._log(method, result)
        return result

    def _may_retry(self, result: ApiResult, deadline: float) -> bool:
        wait = result.retry_after
        if result.outcome is not Outcome.RATE_LIMITED or wait is None or wait > RETRY_AFTER_MAX_SLEEP_S:
            return False
        return time.monotonic() + wait < deadline  # a retry that cannot finish in time is pointless

    def _attempt(self, method: str, path: str, params: dict | None, body: Any, deadline: float) -> ApiResult:
        try:
            answer = self._exchange(method, f"{self.base_url}/api/v2/{path}", params, body, deadline)
        except _Failure as failure:
            return failure.result
        return _interpret(answer, path)

    def _exchange(self, method: str, url: str, params: dict | None, body: Any, deadline: float) -> _Answer:
        """Send, following at most MAX_REDIRECTS same-host redirects, and read the answer."""
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, params, body, deadline)
            location = response.headers.get("Location")
            if response.status_code not in _REDIRECT_STATUSES or not location:
                return self._read(response, deadline)
            response.close()
            target = urljoin(response.url, location.strip())
            _check_redirect(response.url, target, response.status_code)
            self._refuse_echoed_token(target, response.status_code)
            logger.debug("issuetrak %s: following a same-host redirect to %s", method, urlsplit(target).path)
            method, body = _method_after_redirect(response.status_code, method, body)
            url, params = target, None  # the target carries its own query
        raise _Failure(Outcome.REDIRECTED, f"more than {MAX_REDIRECTS} redirects", response.status_code)

    def _refuse_echoed_token(self, target: str, status: int) -> None:
        # urllib3 logs each request line (query included) at DEBUG; a redirect address that
        # repeats the token would put it in a log line, so it is not followed.
        if self._redactor.text(target) != target:
            message = f"{status}: the site redirects to an address with the token in it"
            raise _Failure(Outcome.REDIRECTED, message, status)

    def _send(
        self, method: str, url: str, params: dict | None, body: Any, deadline: float
    ) -> requests.Response:
        remaining = deadline - time.monotonic()
        host = urlsplit(url).hostname or "the site"
        if remaining <= 0:
            raise _Failure(Outcome.TIMEOUT, f"{host} did not answer within {self.timeout:g} s")
        try:
            return self._session.request(
                method, url, params=params, json=body, stream=True, allow_redirects=False,
                timeout=(remaining, remaining),
                # Per request, not on the session: requests lets REQUESTS_CA_BUNDLE override
                # a session-level verify, which would ignore a certificate given for this site.
                verify=self._verify,
            )
        except requests.RequestException as exc:
            raise _network_failure(exc, host, self.timeout) from None

    def _read(self, response: requests.Response, deadline: float) -> _Answer:
        try:
            body = _read_body(response, deadline, self.max_bytes, self.timeout)
            response.raw.release_conn()  # read to the end: the connection can be reused
            return _Answer(response.status_code, response.headers, body)
        finally:
            response.close()

    def _log(self, method: str, result: ApiResult) -> None:
        # Path only (never the query), no body, no token; the message is already redacted.
        host = urlsplit(self.base_url).netloc
        detail = "" if result.ok else f": {result.message}"
        logger.info(
            "issuetrak %s %s%s -> %s %s in %d ms%s",
            method, host, result.url_path, result.status or "-", result.outcome, result.elapsed_ms, detail,
        )
