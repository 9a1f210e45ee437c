"""Django system checks: fail loudly at start-up on unusable encryption keys, outbound policy or
rate-limit settings."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from connections import rate_store
from connections.issuetrak import site_limits
from connections.issuetrak.policy import OutboundPolicy
from connections.secrets import _fernet

# The tag lets a command run just this check (see `manage.py connections`); `manage.py check`,
# runserver, migrate and the Celery worker (issuetrak_admin/celery.py) run it with all the others.
TOKEN_KEYS = "token_keys"


@register(TOKEN_KEYS)
def token_keys_usable(app_configs, **kwargs):
    try:
        _fernet()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="connections.E001")]
    return []


@register()
def outbound_policy_readable(app_configs, **kwargs):
    try:
        OutboundPolicy.from_settings()
    except ValueError as exc:
        return [Error(str(exc), id="connections.E010")]
    return []


@register(TOKEN_KEYS)
def stored_tokens_decryptable(app_configs, **kwargs):
    """A well-formed but wrong key passes E001; a bounded sample of stored tokens catches it."""
    from connections.faults import token_key_problem

    try:
        _fernet()
        problem = token_key_problem()
    except (ImproperlyConfigured, DatabaseError):
        return []  # malformed keys are E001; no table yet (before `migrate`) holds no token
    return [Error(problem, id="connections.E002",
                  hint="The check decrypts the oldest and newest stored tokens.")] if problem else []


@register()
def rate_limit_settings_usable(app_configs, **kwargs):
    try:
        site_limits.check_share(settings.ISSUETRAK_RATE_SHARE)
        site_limits.parse_overrides(settings.ISSUETRAK_RATE_LIMITS)
        rate_store.configured_store()
    except site_limits.LimitsRefused as exc:
        return [Error(str(exc), id="connections.E003")]
    return []
