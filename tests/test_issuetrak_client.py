"""The Issuetrak client against real sockets: each way a site can answer, or fail to."""

import contextlib
import datetime as dt
import json
import logging
import time

import pytest
import time_machine

from connections.issuetrak import ApiResult, IssuetrakClient, Outcome, retry_after_seconds
from tests.conftest import SECRET_TOKEN
from tests.http_fixtures import (
    RawServer,
    Reply,
    ScriptedServer,
    closed_port,
    self_signed_cert,
    server_tls_context,
    silent,
    trickle,
)

TOKEN = SECRET_TOKEN
SETTINGS = "/api/v2/System/Settings"
AUTH_TEST = "/api/v2/Authenticate/test"


def envelope(values, **extra):
    return {"traceId": "0HMGDP8E63BDF:00000004", "values": values, **extra}


def error_envelope(kind, message, trace_id="0HMGDP8E63BDF:00000009"):
    return {"traceId": trace_id, "information": [{"type": kind, "message": message}]}


def call(base_url, method="system_settings", *args, **options):
    """Make one call with a fresh client, as the checklist does."""
    with IssuetrakClient(base_url, options.pop("token", TOKEN), **options) as client:
        return getattr(client, method)(*args)


def serve(routes, **options):
    return ScriptedServer(routes, **options)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("certs")
    return {
        "local": self_signed_cert(folder, ["127.0.0.1"]),
        "other": self_signed_cert(folder, ["other.example"]),
    }


# --- Network failures ---------------------------------------------------------------------------


def test_it_reports_dns_for_a_host_that_does_not_resolve():
    result = call("https://nonexistent.invalid", timeout=1)
    assert result.outcome == Outcome.DNS
    assert "nonexistent.invalid" in result.message
    assert result.status is None and not result.ok


def test_it_reports_connect_when_nothing_listens():
    result = call(f"http://127.0.0.1:{closed_port()}", timeout=1)
    assert result.outcome == Outcome.CONNECT
    assert "refused" in result.message


def test_it_reports_tls_for_a_self_signed_certificate(certs):
    with serve({SETTINGS: Reply(200, envelope({}))}, ssl_context=server_tls_context(*certs["local"])) as site:
        result = call(site.url, timeout=1)
    assert result.outcome == Outcome.TLS
    assert "self-signed" in result.message
    assert site.seen == []


def test_it_trusts_that_certificate_when_given_it(certs):
    cert_path, _ = certs["local"]
    with serve({SETTINGS: Reply(200, envelope({}))}, ssl_context=server_tls_context(*certs["local"])) as site:
        result = call(site.url, timeout=1, verify=str(cert_path))
    assert result.outcome == Outcome.OK


def test_it_reports_tls_for_a_certificate_of_another_host(certs):
    cert_path, _ = certs["other"]
    with serve({SETTINGS: Reply(200, envelope({}))}, ssl_context=server_tls_context(*certs["other"])) as site:
        result = call(site.url, timeout=1, verify=str(cert_path))
    assert result.outcome == Outcome.TLS
    assert "another host name" in result.message


def test_it_times_out_on_a_server_that_never_answers():
    with RawServer(silent) as site:
        started = time.monotonic()
        result = call(site.url, timeout=1)
    assert result.outcome == Outcome.TIMEOUT
    assert time.monotonic() - started < 2


def test_it_cuts_a_trickling_body_at_the_deadline():
    with RawServer(trickle) as site:
        started = time.monotonic()
        result = call(site.url, timeout=1)
    elapsed = time.monotonic() - started
    assert result.outcome == Outcome.TIMEOUT
    assert result.status == 200
    assert 0.9 < elapsed < 2


def test_it_refuses_a_body_larger_than_2_mb():
    huge = envelope(["x" * 1000] * 3000)  # about 3 MB of valid JSON
    with serve({SETTINGS: Reply(200, huge)}) as site:
        result = call(site.url)
    assert result.outcome == Outcome.BAD_RESPONSE
    assert result.message == "response larger than 2 MB"
    assert result.values is None


def test_it_stops_reading_an_undeclared_body_past_the_cap():
    def endless_json(conn, stop):
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        with contextlib.suppress(OSError):  # the client stops reading, as it should
            conn.sendall(b'{"values": "' + b"x" * (3 * 1024 * 1024))

    with RawServer(endless_json) as site:
        result = call(site.url)
    assert result.outcome == Outcome.BAD_RESPONSE
    assert "larger than 2 MB" in result.message


# --- What the site answers ------------------------------------------------------------------------


def test_it_reports_not_installed_for_the_web_servers_html_404():
    page = "<html><head><title>404 - File or directory not found.</title></head></html>"
    with serve({AUTH_TEST: Reply(404, page)}) as site:
        result = call(site.url, "authenticate_test")
    assert result.outcome == Outcome.NOT_INSTALLED
    assert result.status == 404
    assert "File or directory not found" in result.message


def test_it_reports_not_found_for_the_apis_404_envelope():
    body = error_envelope("NotFound", "User with IID 42 was not found.")
    with serve({"/api/v2/Users/42": Reply(404, body)}) as site:
        result = call(site.url, "get_user", 42)
    assert result.outcome == Outcome.NOT_FOUND
    assert "User with IID 42 was not found." in result.message
    assert result.trace_id == "0HMGDP8E63BDF:00000009"


def test_it_reports_disabled_for_an_api_disabled_403():
    body = error_envelope("ApiDisabled", "API v2 is disabled.")
    with serve({AUTH_TEST: Reply(403, body)}) as site:
        result = call(site.url, "authenticate_test")
    assert result.outcome == Outcome.DISABLED
    assert result.status == 403


def test_it_reports_forbidden_for_a_plain_403():
    body = error_envelope("Permission", "You do not have permission to view groups.")
    with serve({"/api/v2/Groups/7": Reply(403, body)}) as site:
        result = call(site.url, "get_group", 7)
    assert result.outcome == Outcome.FORBIDDEN
    assert "permission to view groups" in result.message


def test_it_reports_unauthorized_for_401():
    with serve({SETTINGS: Reply(401)}) as site:
        result = call(site.url)
    assert result.outcome == Outcome.UNAUTHORIZED
    assert result.status == 401


def test_it_reports_a_long_rate_limit_without_sleeping_through_it():
    with serve({SETTINGS: Reply(429, headers={"Retry-After": "120"})}) as site:
        started = time.monotonic()
        result = call(site.url)
    assert result.outcome == Outcome.RATE_LIMITED
    assert result.retry_after == 120
    assert time.monotonic() - started < 1
    assert len(site.seen) == 1


def test_it_retries_once_after_a_short_retry_after():
    replies = [Reply(429, headers={"Retry-After": "1"}), Reply(200, envelope({"issuesEnabled": True}))]
    with serve({SETTINGS: replies}) as site:
        started = time.monotonic()
        result = call(site.url, timeout=2)
    assert result.outcome == Outcome.OK
    assert result.values == {"issuesEnabled": True}
    assert len(site.seen) == 2
    assert time.monotonic() - started >= 1


def test_it_retries_only_once():
    with serve({SETTINGS: Reply(429, headers={"Retry-After": "0"})}) as site:
        result = call(site.url)
    assert result.outcome == Outcome.RATE_LIMITED
    assert len(site.seen) == 2


def test_it_reports_server_error_with_the_trace_id():
    body = {"traceId": "0HN1:0000002A", "information": [{"type": "Error", "message": "An error occurred."}]}
    with serve({SETTINGS: Reply(500, body)}) as site:
        result = call(site.url)
    assert result.outcome == Outcome.SERVER_ERROR
    assert result.trace_id == "0HN1:0000002A"
    assert "0HN1:0000002A" in result.message


def test_it_reports_bad_response_for_an_html_page_with_200():
    with serve({SETTINGS: Reply(200, "<html><title>Issuetrak Login</title></html>")}) as site:
        result = call(site.url)
    assert result.outcome == Outcome.BAD_RESPONSE
    assert "HTML page" in result.message and "Issuetrak Login" in result.message


def test_it_reports_bad_response_for_json_without_the_envelope():
    with serve({SETTINGS: Reply(200, {"hello": "world"})}) as site:
        result = call(site.url)
    assert result.outcome == Outcome.BAD_RESPONSE


def test_it_accepts_authenticate_test_with_no_body():
    with serve({AUTH_TEST: Reply(200, b"")}) as site:
        result = call(site.url, "authenticate_test")
    assert result.ok
    assert result.url_path == AUTH_TEST


# --- Redirects --------------------------------------------------------------------------------------


def test_it_does_not_follow_a_redirect_to_another_host():
    with serve({SETTINGS: Reply(200, envelope({}))}) as other:
        elsewhere = f"http://localhost:{other.port}{SETTINGS}?key=abc"
        with serve({SETTINGS: Reply(302, headers={"Location": elsewhere})}) as site:
            result = call(site.url)
    assert result.outcome == Outcome.REDIRECTED
    assert result.status == 302
    assert "localhost" in result.message and "key=abc" not in result.message
    assert other.seen == []


def test_it_follows_a_same_host_redirect():
    routes = {
        SETTINGS: Reply(302, headers={"Location": "/api/v2/System/Settings/"}),
        SETTINGS + "/": Reply(200, envelope({"version": "x"})),
    }
    with serve(routes) as site:
        result = call(site.url)
    assert result.ok and result.values == {"version": "x"}
    assert [seen.path for seen in site.seen] == [SETTINGS, SETTINGS + "/"]
    assert site.seen[1].headers["X-Api-Key"] == TOKEN


def test_it_stops_after_a_few_redirects():
    with serve({SETTINGS: Reply(302, headers={"Location": SETTINGS})}) as site:
        result = call(site.url)
    assert result.outcome == Outcome.REDIRECTED
    assert len(site.seen) == 4


def test_it_refuses_a_redirect_from_https_to_http(certs):
    cert_path, _ = certs["local"]
    downgrade = Reply(301, headers={"Location": f"http://127.0.0.1:{closed_port()}{SETTINGS}"})
    with serve({SETTINGS: downgrade}, ssl_context=server_tls_context(*certs["local"])) as site:
        result = call(site.url, timeout=1, verify=str(cert_path))
    assert result.outcome == Outcome.REDIRECTED
    assert "https to plain http" in result.message


# --- Requests sent and envelopes read ------------------------------------------------------------


def test_it_sends_the_token_and_asks_for_json():
    with serve({SETTINGS: Reply(200, envelope({}))}) as site:
        call(site.url)
    headers = site.seen[0].headers
    assert headers["X-Api-Key"] == TOKEN
    assert headers["Accept"] == "application/json"
    assert "Authorization" not in headers


def test_it_reads_a_paged_list():
    users = [{"iid": 3, "id": "IntegrationUser", "isSysAdmin": False}]
    paging = {"page": 2, "itemTotal": 26, "pageCount": 2}
    with serve({"/api/v2/Users": Reply(200, envelope(users, pagingInformation=paging))}) as site:
        result = call(site.url, "list_users", 2, 25)
    assert result.ok
    assert result.values == users
    assert result.paging == paging
    assert result.trace_id == "0HMGDP8E63BDF:00000004"
    assert site.seen[0].path == "/api/v2/Users?PageNumber=2&PageSize=25"
    assert result.url_path == "/api/v2/Users"


def test_it_searches_users_by_login_id():
    found = envelope([{"iid": 3, "id": "IntegrationUser"}], pagingInformation={"page": 1, "itemTotal": 1,
                                                                                "pageCount": 1})
    with serve({"/api/v2/Users/Search": Reply(200, found)}) as site:
        result = call(site.url, "search_users", "IntegrationUser")
    assert result.values[0]["iid"] == 3
    sent = site.seen[0]
    assert sent.method == "POST"
    assert json.loads(sent.body)["id"] == {"type": "MatchAny", "values": ["IntegrationUser"]}


def test_it_reads_a_users_groups_and_a_group():
    routes = {
        "/api/v2/Users/3/Memberships/Groups": Reply(200, envelope([{"groupIid": 51}])),
        "/api/v2/Groups/51": Reply(200, envelope({"iid": 51, "name": "API Administrators",
                                                   "permissions": ["IsAdmin", "CanUseApiV2"]})),
    }
    with serve(routes) as site, IssuetrakClient(site.url, TOKEN) as client:
        groups = client.user_groups(3)
        group = client.get_group(groups.values[0]["groupIid"])
    assert group.values["permissions"] == ["IsAdmin", "CanUseApiV2"]


def test_it_refuses_an_iid_that_is_not_an_integer():
    with IssuetrakClient("https://support.example.com", TOKEN) as client, pytest.raises(TypeError):
        client.get_user("3/../../Groups")


# --- Secrets and logs -------------------------------------------------------------------------------


def test_it_never_lets_an_echoed_token_out(caplog):
    caplog.set_level(logging.DEBUG)
    echo = {"X-Echo": TOKEN, "Retry-After": TOKEN}
    routes = {
        SETTINGS: Reply(403, error_envelope("Permission", f"Token {TOKEN} may not read settings",
                                            trace_id=f"t-{TOKEN}"), echo),
        "/api/v2/Users/1": Reply(500, {"traceId": TOKEN, "information": [{"message": f"key {TOKEN}"}]}, echo),
        "/api/v2/Users/2": Reply(302, headers={"Location": f"http://{TOKEN}.example/?k={TOKEN}"}),
        "/api/v2/Users/3": Reply(200, envelope({"iid": 3, "id": "x", "isActive": True, "isSysAdmin": False,
                                                 "displayName": None, "isAgent": None,
                                                 "apiKey": TOKEN, TOKEN: [TOKEN]}), echo),
        "/api/v2/Users/4": Reply(404, f"<html><title>no {TOKEN}</title></html>", echo),
        "/api/v2/Users/5": Reply(429, error_envelope("RateLimit", TOKEN), echo),
        "/api/v2/Users/6": Reply(302, headers={"Location": f"/api/v2/{TOKEN}?k={TOKEN}"}),
    }
    with serve(routes) as site, IssuetrakClient(site.url, f" {TOKEN}\n") as client:
        results = [client.system_settings()] + [client.get_user(iid) for iid in range(1, 7)]
        client_repr = repr(client)
    assert [r.outcome for r in results] == [
        Outcome.FORBIDDEN, Outcome.SERVER_ERROR, Outcome.REDIRECTED, Outcome.OK,
        Outcome.NOT_INSTALLED, Outcome.RATE_LIMITED, Outcome.REDIRECTED,
    ]
    assert site.seen[0].headers["X-Api-Key"] == TOKEN  # sent stripped of the pasted whitespace
    assert "[redacted]" in results[0].message and "[redacted]" in results[1].trace_id
    for result in results:
        assert TOKEN.lower() not in (repr(result) + str(result.__dict__)).lower()
    assert TOKEN not in client_repr
    assert caplog.records, "each call is logged"
    for record in caplog.records:
        assert TOKEN.lower() not in record.getMessage().lower()


def test_it_logs_each_call_without_query_or_token(caplog):
    caplog.set_level(logging.INFO, logger="connections.issuetrak")
    with serve({"/api/v2/Users": Reply(200, envelope([]))}) as site:
        result = call(site.url, "list_users")
    [record] = [r for r in caplog.records if r.name == "connections.issuetrak"]
    line = record.getMessage()
    assert "GET" in line and "/api/v2/Users" in line and "200 ok" in line
    assert f"{result.elapsed_ms} ms" in line
    assert "PageSize" not in line


def test_it_refuses_a_token_that_cannot_go_in_a_header():
    with pytest.raises(ValueError) as refused:
        IssuetrakClient("https://support.example.com", "abc\ndef")
    assert "abc" not in str(refused.value)


# --- Settings and helpers --------------------------------------------------------------------------


def test_it_reads_its_timeout_from_settings(settings):
    settings.ISSUETRAK_TIMEOUT_S = 7
    with IssuetrakClient("https://support.example.com/", TOKEN) as client:
        assert client.timeout == 7
        assert client.base_url == "https://support.example.com"
    with IssuetrakClient("https://support.example.com", TOKEN, timeout=3) as client:
        assert client.timeout == 3


def test_it_refuses_a_base_url_that_is_not_a_web_address():
    for wrong in ("support.example.com", "ftp://support.example.com", "https://u:p@support.example.com"):
        with pytest.raises(ValueError):
            IssuetrakClient(wrong, TOKEN)
    with IssuetrakClient("https://support.example.com/api/v2/", TOKEN) as client:
        assert client.base_url == "https://support.example.com"


def test_it_reads_retry_after_in_seconds_or_as_a_date():
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds(" 1.5 ") == 1.5
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("-3") is None
    with time_machine.travel(dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=dt.UTC), tick=False):
        assert retry_after_seconds("Sat, 28 Nov 2026 12:01:30 GMT") == 90
        assert retry_after_seconds("Sat, 28 Nov 2026 11:00:00 GMT") == 0


def test_it_describes_every_outcome():
    assert [o.value for o in Outcome] == [
        "ok", "dns", "connect", "tls", "timeout", "not-installed", "disabled", "unauthorized",
        "forbidden", "not-found", "rate-limited", "server-error", "bad-response", "redirected", "blocked",
    ]
    assert all(o.description for o in Outcome)
    assert Outcome.TIMEOUT.is_network_failure and not Outcome.NOT_INSTALLED.is_network_failure
    assert ApiResult(Outcome.OK).ok and not ApiResult(Outcome.DNS).ok
