"""Issuetrak's own procedure, written once: every menu path and instruction users read.

Menu paths are spelled the way Issuetrak's help article names them ("gear icon → …"). The
checklist's fixes, onboarding, form help, flash messages, CLI output and e-mails all use these
(templates through `{% load procedure %}`), so a renamed menu is a one-line change.
"""

DEFAULTS_MENU = "gear icon → System → Defaults"
FEATURES_MENU = "gear icon → System → Features"
LICENSE_MENU = "gear icon → System → License"
TOKENS_MENU = "gear icon → API v2 → Tokens"
ADD_TOKEN_MENU = f"{TOKENS_MENU} → Add New"
REVOKE_TOKEN_MENU = f"{TOKENS_MENU} → Revoke"

COPY_APPLICATION_URL = f"In Issuetrak open the {DEFAULTS_MENU} and copy the Application URL exactly"
ENABLE_API_V2 = (
    f"Sign in to Issuetrak as a system administrator, open the {FEATURES_MENU}, tick "
    "“Enable API v2” and click Update."
)
READ_VERSION = (
    "Read the exact version in Issuetrak — the drop-down under your name in the top right "
    f"shows it at the bottom, or {LICENSE_MENU} “Running Version”"
)
INSTALL_API_V2 = (
    "Self-hosted sites install API v2 separately: its own IIS application pool (“No Managed "
    "Code”) with the .NET hosting bundle, served over SSL under the Application URL."
)
CREATE_TOKEN = f"Create a new token in Issuetrak ({ADD_TOKEN_MENU})"
NEW_TOKEN = (
    f"{CREATE_TOKEN}, copy the value shown once, and replace the token here; then revoke the "
    "old one."
)
ROTATE_STEPS = (
    f"To rotate: {CREATE_TOKEN[0].lower()}{CREATE_TOKEN[1:]} with an expiration date, save it on "
    "the connection, update the Zapier connection whose label matches, then revoke the old token."
)
ADMIN_PERMISSIONS = (
    "“Can access and maintain Administration functions” and “Can authenticate with the API v2”"
)


def after_rotation(label: str) -> str:
    """What is left to do in Issuetrak and Zapier once a new token is stored here."""
    return (f"Now revoke the old token in Issuetrak ({REVOKE_TOKEN_MENU}) and update the Zapier "
            f"connection labelled “{label}” with the new token.")
