"""Every simulator scenario, every step's exact status (the checklist's contract)."""

import datetime as dt

import pytest
from django.utils import timezone

from connections.checklist import STEP_KEYS, Subject, overall_of, run_checklist

P, W, F, S, E = "pass", "warn", "fail", "skip", "error"

# site → statuses in STEP_KEYS order:
# base_url reachable installed enabled version token_valid token_user token_admin
# expiration_set expiry_window label_matches_token_name
SCENARIOS = {
    "healthy":         [P, P, P, P, P, P, P, P, P, P, P],
    "group-admin":     [P, P, P, P, P, P, P, P, P, P, P],
    "not-admin":       [P, P, P, P, P, P, W, F, P, P, P],
    "read-only-admin": [P, P, P, P, P, P, P, F, P, P, P],
    "inactive-user":   [P, P, P, P, P, P, F, S, P, P, P],
    "no-api":          [P, P, F, S, W, S, S, S, P, P, P],
    "api-disabled":    [P, P, P, F, P, S, S, S, P, P, P],
    "revoked-token":   [P, P, P, P, P, F, S, S, P, P, P],
    "slow":            [P, F, S, S, S, S, S, S, P, P, P],  # unreachable: version waits too
    "rate-limited":    [P, P, E, S, W, S, S, S, P, P, P],
    "server-error":    [P, P, E, S, W, S, S, S, P, P, P],
    "garbage":         [P, P, F, S, W, S, S, S, P, P, P],
    "redirect-away":   [P, F, S, S, S, S, S, S, P, P, P],
}
OVERALL = {"healthy": P, "group-admin": P}


def subject_for(simulator, site, **changes):
    fields = {
        "label": "Zapier", "base_url": simulator.site_url(site), "token": "good-token",
        "token_name": "Zapier", "token_user": "integration",
        "expires_on": timezone.localdate() + dt.timedelta(days=90),
    }
    return Subject(**(fields | changes))


@pytest.mark.parametrize("site", SCENARIOS)
def test_each_scenario_gives_the_expected_status_for_every_step(simulator, site, settings):
    settings.ISSUETRAK_TIMEOUT_S = 1
    results = run_checklist(subject_for(simulator, site))

    assert [r.key for r in results] == list(STEP_KEYS)
    assert {r.key: str(r.status) for r in results} == dict(zip(STEP_KEYS, SCENARIOS[site], strict=True))
    assert overall_of(results) == OVERALL.get(site, F)
    for result in results:
        assert result.message
        assert result.status == P or result.fix, f"{result.key} has no fix"


def test_a_skipped_step_names_the_step_it_waits_on(simulator):
    results = {r.key: r for r in run_checklist(subject_for(simulator, "api-disabled"))}
    assert "api_v2_enabled" in results["token_valid"].message
    assert "api_v2_enabled" in results["token_admin"].message


def test_a_revoked_token_past_its_recorded_date_says_expired(simulator):
    expired = timezone.localdate() - dt.timedelta(days=2)
    results = {r.key: r for r in run_checklist(subject_for(simulator, "revoked-token", expires_on=expired))}
    assert results["token_valid"].message == f"The token was rejected: it expired on {expired:%Y-%m-%d}."
    assert results["expiry_window"].status == F


def test_a_revoked_token_says_wrong_or_revoked(simulator):
    results = {r.key: r for r in run_checklist(subject_for(simulator, "revoked-token"))}
    assert "wrong or revoked" in results["token_valid"].message


def test_no_token_user_recorded_warns_on_both_user_steps(simulator):
    results = {r.key: r for r in run_checklist(subject_for(simulator, "healthy", token_user=""))}
    assert results["token_user"].status == W and "API v2 cannot tell" in results["token_user"].fix
    assert results["token_admin"].status == W
    assert overall_of(list(results.values())) == W


def test_an_unknown_token_user_fails(simulator):
    results = {r.key: r for r in run_checklist(subject_for(simulator, "healthy", token_user="ghost"))}
    assert results["token_user"].status == F and "“ghost”" in results["token_user"].message
    assert results["token_admin"].status == S


def test_not_admin_explains_the_two_qualifying_permissions(simulator):
    results = {r.key: r for r in run_checklist(subject_for(simulator, "not-admin"))}
    fix = results["token_admin"].fix
    assert "Sys Admin" in fix and "Can access and maintain Administration functions" in fix
    assert "Can authenticate with the API v2" in fix


def test_plain_http_fails_unless_allowed(simulator, settings):
    settings.ISSUETRAK_ALLOW_HTTP = False
    results = run_checklist(subject_for(simulator, "healthy"))
    assert results[0].status == F and "requires SSL" in results[0].message
    assert all(r.status == S for r in results[1:4])


@pytest.mark.parametrize(
    ("recorded", "status", "words"),
    [
        ("", P, "At least 14.9 (API v2 answers) — confirm the exact version"),
        ("14.8.3", F, "older than 14.9"),
        ("14.9", W, "upgrade recommended: new API v2 endpoints come with new versions"),
        ("14.10", W, "upgrade recommended"),
        ("17.3", P, "most recent"),
        ("17.10.1", P, "most recent"),
    ],
)
def test_versions_compare_numerically(simulator, settings, recorded, status, words):
    settings.ISSUETRAK_LATEST_VERSION = "17.3"
    results = {r.key: r for r in run_checklist(subject_for(simulator, "healthy", issuetrak_version=recorded))}
    assert results["version"].status == status
    assert words in results["version"].message


def test_cloud_sites_skip_the_version_step(simulator):
    results = {r.key: r for r in run_checklist(subject_for(simulator, "healthy", cloud=True))}
    assert results["version"].status == S


@pytest.mark.parametrize(
    ("days", "status", "words"),
    [(90, P, "Expires in 90 days"), (30, W, "Expires in 30 days"), (1, W, "in 1 day"),
     (0, W, "Expires today"), (-1, F, "Expired on")],
)
def test_the_expiry_window_follows_the_largest_threshold(simulator, days, status, words):
    expires = timezone.localdate() + dt.timedelta(days=days)
    results = {r.key: r for r in run_checklist(subject_for(simulator, "healthy", expires_on=expires))}
    assert results["expiry_window"].status == status
    assert words in results["expiry_window"].message


def test_no_expiration_date_warns_and_skips_the_window(simulator):
    results = {r.key: r for r in run_checklist(subject_for(simulator, "healthy", expires_on=None))}
    assert results["expiration_set"].status == W and "strongly advises" in results["expiration_set"].fix
    assert results["expiry_window"].status == S


def test_a_label_differing_from_the_token_name_warns(simulator):
    results = {r.key: r for r in run_checklist(subject_for(simulator, "healthy", token_name="Reports"))}
    assert results["label_matches_token_name"].status == W
    assert "“Reports”" in results["label_matches_token_name"].message


def test_a_self_signed_certificate_fails_reachable_and_says_so(settings):
    from connections.simulator import IssuetrakSimulator

    settings.ISSUETRAK_ALLOW_HTTP = False
    with IssuetrakSimulator(tls=True) as sim:
        results = {r.key: r for r in run_checklist(subject_for(sim, "healthy"))}
    assert results["base_url"].status == P
    assert results["reachable"].status == F
    assert "self-signed" in results["reachable"].message
    assert "trusted authority" in results["reachable"].fix


def test_the_version_step_waits_on_an_unreachable_site_like_its_siblings(simulator, settings):
    settings.ISSUETRAK_TIMEOUT_S = 1
    results = {r.key: r for r in run_checklist(subject_for(simulator, "slow"))}
    assert results["version"].status == results["api_v2_enabled"].status == "skip"
    assert results["version"].message == results["api_v2_installed"].message
    assert "Site is reachable" in results["version"].message
