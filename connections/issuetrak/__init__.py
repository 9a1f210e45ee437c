"""The one module that speaks to Issuetrak API v2.

Plain Python, usable from `manage.py shell` or a script. Models, views and tasks call
`IssuetrakClient` and never import `requests`. Three modules, one job each:

- `transport`: one HTTP exchange under a deadline (body included), the body-size cap, which
  redirects are followed, and naming network failures; the webhook sender uses it too.
- `answers`: `Outcome`, `ApiResult`, and what a complete answer means (`_Assumed` holds every
  detail of API v2 behaviour we had to assume).
- `client`: `IssuetrakClient` (the calls, the one 429 retry) and the redaction of the token.

Network and HTTP problems never raise: each comes back as an `ApiResult` with a typed `Outcome`.

    with IssuetrakClient("https://support.example.com", token) as site:
        result = site.system_settings()
        if not result.ok:
            print(result.outcome, result.message)
"""


from connections.issuetrak.answers import ApiResult, Outcome, retry_after_seconds
from connections.issuetrak.client import MAX_PAGE_SIZE, REDACTED, IssuetrakClient
from connections.issuetrak.transport import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S, Transport

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT_S",
    "MAX_PAGE_SIZE",
    "REDACTED",
    "ApiResult",
    "IssuetrakClient",
    "Outcome",
    "Transport",
    "retry_after_seconds",
]
