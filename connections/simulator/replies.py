"""What the simulator sends back: API envelopes, trace ids, and the web server's own pages.

A `Reply` is plain data (status, headers, body) so the API logic never touches a socket.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

JSON = "application/json; charset=utf-8"
HTML = "text/html"


@dataclass
class Reply:
    """One HTTP answer, before it is written to the socket."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised inside an endpoint to answer with the error envelope."""

    def __init__(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message
        self.headers = headers or {}

    def reply(self) -> Reply:
        """The error envelope for this error."""
        return error(self.status, self.kind, self.message, self.headers)


def new_trace_id() -> str:
    """A W3C trace-context id, as ASP.NET puts in `traceId`: ``00-<32 hex>-<16 hex>-00``."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON body with camelCase keys, as the API writes it."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, body, JSON, headers or {})


def success(values: Any, paging: dict[str, int] | None = None) -> Reply:
    """The success envelope ``{"traceId", "values"}``, plus ``pagingInformation`` for pages."""
    payload: dict[str, Any] = {"traceId": new_trace_id(), "values": values}
    if paging is not None:
        payload["pagingInformation"] = paging
    return json_reply(200, payload)


def trace_only(status: int = 200) -> Reply:
    """An envelope with only a ``traceId`` (`ApiResponseTraceId`)."""
    return json_reply(status, {"traceId": new_trace_id()})


def error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    """The error envelope ``{"traceId", "information": [{"type", "message"}]}``."""
    payload = {"traceId": new_trace_id(), "information": [{"type": kind, "message": message}]}
    return json_reply(status, payload, headers)


def unauthorized() -> Reply:
    """401 with no body: Issuetrak documents none ("Missing or invalid authentication token")."""
    return Reply(401)


def not_found_page() -> Reply:
    """IIS's own 404 page: what a path outside an installed API v2 application gets."""
    return Reply(404, _IIS_404.encode(), HTML)


def login_page() -> Reply:
    """An HTML page with 200, as when a proxy or the web UI answers instead of the API."""
    return Reply(200, _LOGIN_PAGE.encode(), "text/html; charset=utf-8")


def redirect(location: str) -> Reply:
    """A 302 with an "Object moved" page, as IIS writes it."""
    page = f'<html><head><title>Object moved</title></head><body><h2>Object moved to <a href="{location}">here</a>.</h2></body></html>'  # noqa: E501
    return Reply(302, page.encode(), "text/html; charset=utf-8", {"Location": location})


_IIS_404 = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>
<title>404 - File or directory not found.</title>
</head>
<body>
<div id="header"><h1>Server Error</h1></div>
<div id="content">
 <div class="content-container"><fieldset>
  <h2>404 - File or directory not found.</h2>
  <h3>The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable.</h3>
 </fieldset></div>
</div>
</body>
</html>
"""  # noqa: E501

_LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Issuetrak - Login</title></head>
<body>
<form method="post" action="Login.asp">
  <label>User ID <input name="UserID"></label>
  <label>Password <input name="Password" type="password"></label>
  <button type="submit">Log In</button>
</form>
</body>
</html>
"""
