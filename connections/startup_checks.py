"""Django system checks: fail loudly at start-up on unusable encryption keys."""

from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from connections.secrets import _fernet


@register()
def token_keys_usable(app_configs, **kwargs):
    try:
        _fernet()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="connections.E001")]
    return []
