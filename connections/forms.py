"""The connection form: one set of rules for the browser and the CLI."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from connections import audit, procedure, secrets, text_rules
from connections.base_url import normalize_base_url
from connections.choices import AuditAction
from connections.issuetrak.rules import origin_text, same_origin
from connections.models import AuditEvent, Connection

MAX_RECIPIENTS = 20
_ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")
_VERSION = re.compile(r"\d{1,3}(\.\d{1,4}){1,3}")
# A token is never rendered back; htmx keeps the typed value in the browser (hx-preserve) while
# the rest of the form is re-rendered with its errors.
TOKEN_INPUT = {"autocomplete": "off", "hx-preserve": "true"}


def refuse_unsafe_text(value: str, what: str, *, allowed: str = "") -> str:
    """The value unchanged, or a ValidationError naming a control or bidi character in it."""
    message = text_rules.refusal(value, what, allowed=allowed)
    if message:
        raise ValidationError(message, code="unsafe_text")
    return value


def parse_recipients(value: str) -> list[str]:
    """Split a comma/space/semicolon separated list of addresses, validate and de-duplicate."""
    refuse_unsafe_text(value, "list of addresses", allowed="\t\r\n")
    addresses = []
    for address in filter(None, _ADDRESS_SEPARATORS.split(value or "")):
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(f"“{address[:80]}” is not an e-mail address.") from None
        if address.lower() not in (a.lower() for a in addresses):
            addresses.append(address)
    if not addresses:
        raise ValidationError("Give at least one address to warn before the token expires.")
    if len(addresses) > MAX_RECIPIENTS:
        raise ValidationError(f"At most {MAX_RECIPIENTS} addresses, please.")
    return addresses


def validate_version(value: str, *, required: bool = False) -> str:
    """An Issuetrak version as read off the site, e.g. 14.10.2."""
    value = refuse_unsafe_text(value or "", "version").strip()
    if required and not value:
        raise ValidationError("Enter the version you read in Issuetrak, e.g. 14.10.2.")
    if value and not _VERSION.fullmatch(value):
        raise ValidationError("Enter the version as numbers and dots, e.g. 14.10.2.")
    return value


class ConnectionForm(forms.ModelForm):
    token = forms.CharField(
        label="API Token",
        required=False,
        strip=False,
        error_messages={"required": "Paste the API token: it cannot be empty."},
        widget=forms.PasswordInput(render_value=False, attrs=TOKEN_INPUT),
        help_text=f"The New Token value Issuetrak showed once under {procedure.TOKENS_MENU}.",
    )
    notify = forms.CharField(
        label="Notify",
        max_length=2000,
        required=False,  # empty means the default addresses; clean_notify says when there are none
        help_text="E-mail addresses warned before the token expires, separated by commas.",
    )

    class Meta:
        model = Connection
        fields = ["label", "base_url", "token", "token_name", "expires_on", "token_user",
                  "hosting", "issuetrak_version", "notify"]
        widgets = {
            "expires_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "hosting": forms.RadioSelect,
        }
        help_texts = {
            "label": "Unique. Use the token's name, so you can find the Zapier connection "
            "to update when this token is revoked or expires.",
            "base_url": f"The Application URL from {procedure.DEFAULTS_MENU} in Issuetrak.",
            "token_name": "The Token Name you gave it in Issuetrak's Create New Token form.",
            "expires_on": "Optional, but strongly advised: a token with an expiration date "
            "enforces rotation, and we warn before it stops working. Without one it works "
            "until someone revokes it.",
            "issuetrak_version": "Self-hosted sites: the exact version, read from the drop-down "
            f"under your name in Issuetrak (at its bottom) or {procedure.LICENSE_MENU} "
            "“Running Version”, e.g. 14.10.2.",
            "token_user": "The Issuetrak User ID picked in the token's User field (blank there "
            "means the admin who created it). The checklist needs it to verify admin "
            "permissions, because API v2 cannot tell who a token belongs to.",
        }

    def __init__(self, *args, default_notify: list[str] | None = None, with_token: bool = True,
                 **kwargs):
        super().__init__(*args, **kwargs)
        # A token is typed here only when adding; afterwards it changes only through the checked
        # rotation (onboarding staff never see or set one).
        if self.instance.pk or not with_token:
            del self.fields["token"]
        else:
            self.fields["token"].required = True
        self.default_notify = [] if self.instance.pk else list(default_notify or [])
        recipients = self.instance.recipients if self.instance.pk else self.default_notify
        self.initial["notify"] = ", ".join(recipients)
        if self.default_notify:
            self.fields["notify"].help_text += " Left empty: " + ", ".join(self.default_notify) + "."

    def clean_label(self):
        label = " ".join(refuse_unsafe_text(self.cleaned_data["label"], "label").split())
        clash = Connection.objects.with_label(label).exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(f"A connection labelled “{label}” already exists.")
        return label

    def clean_base_url(self):
        base_url = normalize_base_url(self.cleaned_data["base_url"])
        stored = self.instance
        if stored.pk and stored.has_token and not same_origin(stored.base_url, base_url):
            raise ValidationError(origin_bound_message(stored, base_url), code="origin")
        return base_url

    def clean_token(self):
        return secrets.clean_token(self.cleaned_data.get("token", ""))

    def clean_token_name(self):
        return refuse_unsafe_text(self.cleaned_data["token_name"], "token name").strip()

    def clean_token_user(self):
        return refuse_unsafe_text(self.cleaned_data["token_user"], "token user").strip()

    def clean_issuetrak_version(self):
        return validate_version(self.cleaned_data["issuetrak_version"])

    def clean_expires_on(self):
        expires_on = self.cleaned_data["expires_on"]
        unchanged = self.instance.pk and expires_on == self.instance.expires_on
        if expires_on and not unchanged and expires_on < timezone.localdate():
            raise ValidationError(
                "That date has passed: a token with this expiration date no longer works."
            )
        return expires_on

    def clean_notify(self):
        value = self.cleaned_data["notify"]
        if not value.strip() and self.default_notify:
            return self.default_notify
        if not value.strip() and not self.instance.pk:
            raise ValidationError("Give at least one address to warn before the token expires "
                                  "(no sysadmin has an e-mail address to default to).")
        return parse_recipients(value)

    def save(self, commit=True, *, actor=None, via=""):
        """Save (token encrypted) and record the change in the audit trail."""
        creating = self.instance.pk is None
        if self.cleaned_data.get("token"):
            self.instance.set_token(self.cleaned_data["token"])
        self.instance.recipients = self.cleaned_data["notify"]
        connection = super().save(commit=commit)
        if creating:
            AuditEvent.objects.record(
                AuditAction.CONNECTION_CREATED, actor=actor, via=via, connection=connection,
                summary=f"Created “{connection.label}” for {connection.base_url}")
        elif self.changed_data:
            AuditEvent.objects.record(
                AuditAction.CONNECTION_EDITED, actor=actor, via=via, connection=connection,
                summary=f"Changed: {audit.changed_fields(self)}")
        return connection


def origin_bound_message(connection: Connection, base_url: str) -> str:
    """Why an edit may not point a stored token at another site, and what to do instead."""
    return (f"The stored token is bound to {origin_text(connection.base_url)} and is never sent "
            f"to another site. To move this connection to {origin_text(base_url)}, use "
            f"“{procedure.ROTATE_TOKEN}” and type the token again: it is checked there first (CLI: "
            f"connections rotate “{connection.label}” --token-stdin --base-url URL).")


def form_data_from(connection: Connection) -> dict:
    """The form data that leaves a connection as it is (the base for CLI merges)."""
    return {
        "label": connection.label,
        "base_url": connection.base_url,
        "token_name": connection.token_name,
        "expires_on": connection.expires_on.isoformat() if connection.expires_on else "",
        "token_user": connection.token_user,
        "hosting": connection.hosting,
        "issuetrak_version": connection.issuetrak_version,
        "notify": ", ".join(connection.recipients),
    }


class AcknowledgeForm(forms.Form):
    planned_on = forms.DateField(
        label="Rotation planned for", required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_planned_on(self):
        planned_on = self.cleaned_data["planned_on"]
        if planned_on and planned_on < timezone.localdate():
            raise ValidationError("A rotation cannot be planned in the past.")
        return planned_on

    def acknowledge(self, notice, *, by) -> None:
        notice.acknowledge(by=by, planned_on=self.cleaned_data["planned_on"])


class RotateForm(forms.Form):
    """A new token for a connection (its first one when `storing`), optionally for a new site."""

    token = forms.CharField(
        label="New API Token", strip=False,
        error_messages={"required": "Paste the new API token: it cannot be empty."},
        widget=forms.PasswordInput(render_value=False, attrs=TOKEN_INPUT),
        help_text=f"Create it in Issuetrak first ({procedure.ADD_TOKEN_MENU}); the value is shown "
        "there once.",
    )
    base_url = forms.CharField(
        label="New Base URL", required=False, max_length=2000,
        help_text="Only if the site moved: its new Application URL. The token (the same one is "
        "accepted here) is checked there before anything changes.",
    )
    token_name = forms.CharField(label="Token Name", max_length=100, required=False)
    expires_on = forms.DateField(
        label="Expiration Date", required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Strongly advised: we warn before it.",
    )
    accept_warnings = forms.BooleanField(
        label="I have read the warnings and want to rotate anyway", required=False
    )
    # The token the operator saw when the page opened: a rotation made meanwhile refuses this one.
    expected_fingerprint = forms.CharField(required=False, max_length=8, widget=forms.HiddenInput)

    def __init__(self, *args, storing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if storing:  # the first token: nothing bound yet, so Edit changes the Base URL
            del self.fields["base_url"]
            self.fields["token"].label = "API Token"
            self.fields["accept_warnings"].label = "I have read the warnings and want to store it anyway"

    def clean_token(self):
        return secrets.clean_token(self.cleaned_data["token"])

    def clean_base_url(self):
        value = self.cleaned_data["base_url"]
        return normalize_base_url(value) if value.strip() else ""

    def clean_token_name(self):
        return refuse_unsafe_text(self.cleaned_data["token_name"], "token name").strip()

    def clean_expires_on(self):
        expires_on = self.cleaned_data["expires_on"]
        if expires_on and expires_on < timezone.localdate():
            raise ValidationError("That date has passed: a token with it no longer works.")
        return expires_on

    @sensitive_variables()
    def rotate(self, connection: Connection, *, by=None, via: str = ""):
        """Check the token on the site and swap it in (Connection.rotate_token); may raise
        RotationRefused."""
        data = self.cleaned_data
        expected = data["expected_fingerprint"] if "expected_fingerprint" in self.data else None
        return connection.rotate_token(
            data["token"], token_name=data["token_name"], expires_on=data["expires_on"],
            base_url=data.get("base_url", ""), expected_fingerprint=expected, by=by, via=via,
            accept_warnings=data["accept_warnings"])

class RepairForm(forms.Form):
    """The permission repair page: a Sys Admin's token, typed for this action and never shown again."""

    admin_token = forms.CharField(
        label="Sys Admin's API token", strip=True, max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Used for this action only: sent to this connection's site, never stored or shown.")
    remove_readonly_override = forms.BooleanField(
        required=False,
        label="Remove the read-only administration override (takes the user out of those groups)")
    reactivate_user = forms.BooleanField(required=False, label="Re-activate the token user if it is inactive")
    reviewed = forms.CharField(required=False, widget=forms.HiddenInput)
