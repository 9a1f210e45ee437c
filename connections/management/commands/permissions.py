"""`manage.py permissions plan VALUE... [--json]`: repair a group's permission set as Zapier does.

Exit 0 with the plan; exit 2 when a value is not an Issuetrak permission, naming the closest ones.
"""

import difflib
import json

from django.core.management.base import BaseCommand, CommandError

from connections.permissions import CATALOGUE, UnknownPermission, name_of, plan


class Command(BaseCommand):
    help = "Plan a valid Issuetrak group permission set: prerequisites added, conflicts resolved."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        planning = sub.add_parser("plan", help="Repair a requested set of permissions (enum values).")
        planning.add_argument("values", nargs="+", metavar="VALUE", help="e.g. IsAdmin CanUseApiV2")
        planning.add_argument("--json", action="store_true", help="Print one JSON document.")

    def handle(self, *args, subcommand, values, json=False, **options):
        try:
            result = plan(values)
        except UnknownPermission as exc:
            raise CommandError(_unknown_message(exc.values), returncode=2) from None
        if json:
            self.stdout.write(_json_dumps(result.as_dict()))
            return
        for value in result.permissions:
            self.stdout.write(f"{value}  ({name_of(value)})")
        for change in result.changes:
            self.stdout.write(f"{change.action}: {change.permission} — {change.reason}")
        if not result.changes:
            self.stdout.write("No changes: the set is valid as requested.")


def _unknown_message(values: list[str]) -> str:
    lines = []
    for value in values:
        close = difflib.get_close_matches(value, CATALOGUE, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see the Permissions enum."
        lines.append(f"{value!r} is not an Issuetrak permission{hint}")
    return "\n".join(lines)


def _json_dumps(document) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)
