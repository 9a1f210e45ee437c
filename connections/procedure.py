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
# A connection without a token gets its first one through the same checked flow as a rotation,
# but there is no old token to revoke, so it is never called "rotate" to the operator.
STORE_TOKEN = "Store the token"
ROTATE_TOKEN = "Rotate token"
ADMIN_PERMISSIONS = (
    "“Can access and maintain Administration functions” and “Can authenticate with the API v2”"
)


def after_rotation(label: str) -> str:
    """What is left to do in Issuetrak and Zapier once a new token is stored here."""
    return (f"Now revoke the old token in Issuetrak ({REVOKE_TOKEN_MENU}) and update the Zapier "
            f"connection labelled “{label}” with the new token.")


def after_storing(label: str) -> str:
    """What is left to do once a connection's first token is stored here (nothing to revoke)."""
    return f"Now put the same token in the Zapier connection labelled “{label}”."


def after_moving(label: str, base_url: str) -> str:
    """What is left to do once a connection moved to another site with the same token."""
    return (f"The token is unchanged; if the Zapier connection labelled “{label}” used the old "
            f"address, point it at {base_url}.")
