"""The audit trail's helper: which fields a form changed (never a token).

Rows are written with `AuditEvent.objects.record(...)`; failed sign-ins in `sign_in`.
"""


def changed_fields(form) -> str:
    """Names of the fields a form changed; for the token only that it changed, never its value."""
    names = [form.fields[name].label or name for name in form.changed_data
             if name != "token" or form.cleaned_data.get("token")]
    return ", ".join(str(n) for n in names) or "nothing"

