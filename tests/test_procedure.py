"""Issuetrak's menu paths have one spelling everywhere a user can read them."""

import re
from pathlib import Path

from django.template.loader import render_to_string

from connections import procedure

ROOT = Path(__file__).resolve().parent.parent
# Any other spelling of the three menus users meet: "Settings → …", "Gear icon → …".
OTHER_SPELLINGS = re.compile(r"(?i:Settings\s*(→|->|>)\s*(System|API v2))|Gear icon")


def test_no_other_spelling_of_a_menu_path_in_code_or_templates():
    sources = [*(ROOT / "connections").rglob("*.py"), *(ROOT / "templates").rglob("*.*")]
    offenders = [f"{path.relative_to(ROOT)}: {match.group(0)}" for path in sources
                 if "migrations" not in path.parts
                 for match in OTHER_SPELLINGS.finditer(path.read_text(errors="replace"))]
    assert offenders == []


def test_the_menu_paths_are_spelled_as_issuetraks_article_names_them():
    assert procedure.DEFAULTS_MENU == "gear icon → System → Defaults"
    assert procedure.TOKENS_MENU == "gear icon → API v2 → Tokens"
    assert procedure.FEATURES_MENU == "gear icon → System → Features"


def test_after_rotation_names_the_revoke_menu_and_the_zapier_label():
    text = procedure.after_rotation("Zapier")
    assert "gear icon → API v2 → Tokens → Revoke" in text and "“Zapier”" in text


def test_templates_read_the_constants():
    page = render_to_string("connections/confirm_archive.html",
                            {"connection": {"label": "Zapier", "public_id": "x"}})
    assert procedure.TOKENS_MENU in page
