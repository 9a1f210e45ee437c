"""`IssuetrakClient`: the API v2 calls the app makes, each under the site's rate limiter
(`site_limits`), the one 429 retry, and the redaction of the token from everything a site says."""

from __future__ import annotations

import logging
import math
import operator
import re
import time
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings

from connections.issuetrak import shapes, site_limits
from connections.issuetrak.answers import (
    _TRACE_ID_LIMIT,
    ApiResult,
    Outcome,
    _interpret,
    _one_line,
)
from connections.issuetrak.transport import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S, Transport, _Failure

logger = logging.getLogger("connections.issuetrak")

# Longer waits are reported as rate-limited: a checklist must not hang on a busy site.
RETRY_AFTER_MAX_SLEEP_S = 2.0
# A 429 without a usable Retry-After still stops every worker from sending to the site a while.
NO_RETRY_AFTER_BACKOFF_S = 60.0
SEARCH_PAGE_SIZE = 5
MAX_PAGE_SIZE = 100  # the API refuses PageSize above 100
REDACTED = "[redacted]"


# --- The redaction helper ----------------------------------------------------------------------


class _Redactor:
    """Replaces the token (as given, as sent, URL-encoded, and any run of MIN_RUN or more of its
    characters) with "[redacted]" in server text.

    Applied to every ApiResult field built from what a site said, so a site that echoes the
    token in an error body or a header cannot get it into a message, a log line or a repr; nor
    can it echo most of it (say, all but the last character) and leave the rest to be guessed.
    Matching ignores case because host names (e.g. from a Location header) come back lowercased.
    """

    MIN_RUN = 8

    def __init__(self, *secrets: str):
        forms = {form.lower() for secret in secrets for form in (secret, quote(secret, safe=""))
                 if form}
        # Every MIN_RUN-long window of every form (a run of MIN_RUN+ characters contains one),
        # found at every position, overlapping, by a lookahead.
        windows = {form[i:i + self.MIN_RUN] for form in forms
                   for i in range(max(len(form) - self.MIN_RUN + 1, 0))}
        self._windows = (re.compile("(?=(?:" + "|".join(map(re.escape, sorted(windows))) + "))", re.I)
                         if windows else None)
        alternatives = sorted(forms, key=len, reverse=True)  # longest first: no partial leftovers
        self._pattern = re.compile("|".join(map(re.escape, alternatives)), re.I) if forms else None

    def __repr__(self) -> str:
        return f"_Redactor({REDACTED})"

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._mask_runs(self._pattern.sub(REDACTED, value))

    def _mask_runs(self, value: str) -> str:
        """Replace each stretch of text covered by token windows with one REDACTED."""
        if self._windows is None:
            return value
        spans: list[list[int]] = []
        for match in self._windows.finditer(value):
            start, end = match.start(), match.start() + self.MIN_RUN
            if spans and start <= spans[-1][1]:
                spans[-1][1] = end
            else:
                spans.append([start, end])
        for start, end in reversed(spans):
            value = value[:start] + REDACTED + value[end:]
        return value

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
        plain = result.plain_message
        return replace(
            result,
            message=_one_line(self.text(result.message)),
            plain_message=None if plain is None else _one_line(self.text(plain)),
            trace_id=trace_id,
            values=self.data(result.values),
            paging=self.data(result.paging),
        )


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


def _checked(result: ApiResult, shape: Any) -> ApiResult:
    """A successful result whose values break the documented shape, as a bad-response."""
    found = shapes.problem(result.values, shape) if result.ok and shape is not None else None
    if found is None:
        return result
    message = f"{result.status}: the answer is not what the API documents ({found})"
    return replace(result, outcome=Outcome.BAD_RESPONSE, values=None, paging=None, message=message)


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
        self.site = site_limits.site_key(self.base_url)
        if timeout is None:
            timeout = _setting("ISSUETRAK_TIMEOUT_S", DEFAULT_TIMEOUT_S)
        self.timeout = float(timeout)
        self.max_bytes = max_bytes
        # A monotonic time no call may run past (a checklist's budget); None: the timeout only.
        self.ends_by: float | None = None
        header = _header_value(token)
        self._redactor = _Redactor(token, header)
        self._session = requests.Session()
        self._session.headers.update({"X-Api-Key": header, "Accept": "application/json"})
        self._transport = Transport(
            self._session, self.timeout, max_bytes, verify,
            holds_secret=lambda target: self._redactor.text(target) != target,
        )

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
        return self._call("GET", "System/Settings", shape=shapes.ANY_OBJECT)

    def search_users(self, login_id: str) -> ApiResult:
        """POST /Users/Search for one login ID (the User ID shown in Issuetrak); values is a list."""
        body = {
            "id": {"type": "MatchAny", "values": [login_id]},
            "pageNumber": 1,
            "pageSize": SEARCH_PAGE_SIZE,
        }
        return self._call("POST", "Users/Search", body=body, shape=shapes.USERS)

    def get_user(self, iid: int) -> ApiResult:
        """GET /Users/{iid}: values holds isSysAdmin, isActive, …"""
        return self._call("GET", f"Users/{_iid(iid)}", shape=shapes.USER)

    def user_groups(self, iid: int, page: int = 1, page_size: int = MAX_PAGE_SIZE) -> ApiResult:
        """GET /Users/{iid}/Memberships/Groups: values is [{"groupIid": n}, …]."""
        return self._call("GET", f"Users/{_iid(iid)}/Memberships/Groups", params=_paging(page, page_size),
                          shape=shapes.MEMBERSHIPS)

    def get_group(self, iid: int) -> ApiResult:
        """GET /Groups/{iid}: values["permissions"] lists the group's permissions."""
        return self._call("GET", f"Groups/{_iid(iid)}", shape=shapes.GROUP)

    def list_users(self, page: int = 1, page_size: int = MAX_PAGE_SIZE) -> ApiResult:
        """GET /Users, one page; paging holds page, itemTotal, pageCount."""
        return self._call("GET", "Users", params=_paging(page, page_size), shape=shapes.USER_REFS)

    def list_groups(self, page: int = 1, page_size: int = MAX_PAGE_SIZE) -> ApiResult:
        """GET /Groups, one page; paging holds page, itemTotal, pageCount."""
        return self._call("GET", "Groups", params=_paging(page, page_size), shape=shapes.GROUP_REFS)

    # --- The writes a permission repair makes (an admin token; see connections.permission_repair) ---

    def create_group(self, body: dict) -> ApiResult:
        """POST /Groups (CreateGroup): values is the new Group."""
        return self._call("POST", "Groups", body=body, shape=shapes.GROUP)

    def update_group(self, iid: int, body: dict) -> ApiResult:
        """PUT /Groups/{iid} (UpdateGroup): the body replaces the group, so send a merged state."""
        return self._call("PUT", f"Groups/{_iid(iid)}", body=body, shape=shapes.GROUP)

    def update_user(self, iid: int, body: dict) -> ApiResult:
        """PUT /Users/{iid} (UpdateUser): the body replaces the user, so send a merged state."""
        return self._call("PUT", f"Users/{_iid(iid)}", body=body, shape=shapes.USER)

    def add_membership(self, user_iid: int, group_iids: list[int]) -> ApiResult:
        """POST /Users/{iid}/Memberships/Groups with [{groupIid}, …]."""
        body = [{"groupIid": _iid(g)} for g in group_iids]
        return self._call("POST", f"Users/{_iid(user_iid)}/Memberships/Groups", body=body)

    def remove_membership(self, user_iid: int, group_iids: list[int]) -> ApiResult:
        """DELETE /Users/{iid}/Memberships/Groups with [{groupIid}, …]."""
        body = [{"groupIid": _iid(g)} for g in group_iids]
        return self._call("DELETE", f"Users/{_iid(user_iid)}/Memberships/Groups", body=body)

    # --- All outbound HTTP goes through here ---

    def _call(self, method: str, path: str, *, params: dict | None = None, body: Any = None,
              shape: Any = None) -> ApiResult:
        """One API call: a slot in the site's rate limits, then one deadline for the exchange
        (redirects and body included); a short 429 is retried once, after the shared back-off.

        `shape` is what `values` must look like on success (see `shapes`); anything else is
        a bad-response result.
        """
        started = time.monotonic()
        result, budget_cut = self._attempt(method, path, params, body)
        if self._may_retry(result):
            logger.debug("issuetrak %s /api/v2/%s: 429, retrying in %g s", method, path, result.retry_after)
            result, budget_cut = self._attempt(method, path, params, body)  # acquire waits out the back-off
        result = _checked(result, shape)
        if budget_cut and result.outcome is Outcome.TIMEOUT:
            host = urlsplit(self.base_url).hostname
            result = replace(result, message=f"the time budget ran out while waiting for {host}")
        elapsed_ms = round((time.monotonic() - started) * 1000)
        result = replace(self._redactor.result(result), elapsed_ms=elapsed_ms, url_path=f"/api/v2/{path}")
        self._log(method, result)
        return result

    @staticmethod
    def _may_retry(result: ApiResult) -> bool:
        wait = result.retry_after
        return result.outcome is Outcome.RATE_LIMITED and wait is not None and wait <= RETRY_AFTER_MAX_SLEEP_S

    def _attempt(self, method: str, path: str, params: dict | None, body: Any) -> tuple[ApiResult, bool]:
        """The result, and whether the checklist's budget (`ends_by`) cut the exchange's deadline."""
        ticket = uuid.uuid4().hex
        try:
            # The slot is held for the whole exchange (its deadline, and a second to spare).
            site_limits.acquire(self.site, write=site_limits.is_write(method), until=self.ends_by,
                                ticket=ticket, hold_s=self.timeout + 1)
        except site_limits.SiteBusy as busy:
            # Nothing was sent: our share of the site's budget is spent for longer than we wait.
            return ApiResult(Outcome.RATE_LIMITED, retry_after=math.ceil(busy.wait), message=str(busy)), False
        deadline = time.monotonic() + self.timeout
        budget_cut = self.ends_by is not None and self.ends_by < deadline
        deadline = self.ends_by if budget_cut else deadline
        try:
            url = f"{self.base_url}/api/v2/{path}"
            answer = self._transport.exchange(method, url, params=params, body=body, deadline=deadline)
        except _Failure as failure:
            return failure.result, budget_cut
        finally:
            self._sent(ticket)
        result = _interpret(answer, path)
        if result.outcome is Outcome.RATE_LIMITED:
            site_limits.backoff(self.site, result.retry_after or NO_RETRY_AFTER_BACKOFF_S)
        return result, budget_cut

    def _sent(self, ticket: str) -> None:
        """Count the call from the moment it ended: never before the site counted it."""
        try:
            site_limits.sent(self.site, ticket)
        except Exception:  # the store is unreachable: the held slot simply ages out later
            logger.warning("could not re-stamp a call to the rate limiter's store", exc_info=True)

    def _log(self, method: str, result: ApiResult) -> None:
        # Path only (never the query), no body, no token; the message is already redacted.
        host = urlsplit(self.base_url).netloc
        detail = "" if result.ok else f": {result.message}"
        logger.info(
            "issuetrak %s %s%s -> %s %s in %d ms%s",
            method, host, result.url_path, result.status or "-", result.outcome, result.elapsed_ms, detail,
        )
