"""Normalising an Issuetrak Application URL into the Base URL, as a form validator."""

from django.core.exceptions import ValidationError

from connections.issuetrak import rules


def normalize_base_url(value: str | None) -> str:
    """The client package's Base URL rule, its refusal turned into a ValidationError."""
    try:
        return rules.normalize_base_url(value)
    except rules.InputRefused as refused:
        raise ValidationError(str(refused), code=refused.code) from None
