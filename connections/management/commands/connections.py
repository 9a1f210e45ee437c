"""`manage.py connections <subcommand>`: the operator's and script's way in.

Every change goes through the same ConnectionForm as the browser, so the rules and messages
are identical. Errors go to stderr with a non-zero exit code and change nothing.
"""

import datetime as dt
import json
import os
import shutil
import sys
from argparse import ArgumentTypeError

from django.core.management.base import BaseCommand, CommandError
from django.db import connections as databases
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from tqdm import tqdm

from connections import expiry, revalidation, sweep, text_rules
from connections.access import sysadmin_addresses
from connections.choices import Hosting, StepStatus, Trigger
from connections.forms import ConnectionForm, RotateForm, form_data_from
from connections.models import ChecklistRun, Connection, RotationRefused
from connections.repair import RepairError, permission_fix
from connections.runs import BatchFollower, check_batch
from connections.startup_checks import TOKEN_KEYS
from connections.tasks import queue_batch, sweep_and_requeue, workers_answer

EXIT_CODES = {StepStatus.PASS: 0, StepStatus.WARN: 1, StepStatus.FAIL: 2}
EXIT_INTERRUPTED = 130  # what a shell expects after Ctrl-C (128 + SIGINT)

# CLI option → form field, for the options add and edit share.
FIELD_OPTIONS = {
    "label": "label",
    "base_url": "base_url",
    "token_name": "token_name",
    "expires": "expires_on",
    "token_user": "token_user",
    "notify": "notify",
    "issuetrak_version": "issuetrak_version",
}


class Command(BaseCommand):
    help = "Add, list, edit and archive Issuetrak connections."
    # Only the token-key check: the full set imports the URLconf and every view and walks all
    # models and admins, about a tenth of a second on each run of a command made for scripts.
    requires_system_checks = [TOKEN_KEYS]

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")

        add = sub.add_parser("add", help="Add a connection (token read from stdin).")
        add.add_argument("--label", required=True)
        add.add_argument("--base-url", required=True, help="The site's Application URL.")
        self._connection_options(add)

        edit = sub.add_parser("edit", help="Change only the options given.")
        edit.add_argument("current_label", metavar="LABEL")
        edit.add_argument("--label", help="A new label.")
        edit.add_argument("--base-url")
        self._connection_options(edit)

        listing = sub.add_parser("list", help="List active connections.")
        listing.add_argument("--json", action="store_true", help="Print one JSON document.")
        listing.add_argument("--archived", action="store_true", help="Include archived ones.")

        archive = sub.add_parser("archive", help="Archive a connection.")
        archive.add_argument("current_label", metavar="LABEL")

        check = sub.add_parser("check", help="Run the setup checklist: exit 0 pass, 1 warn, 2 fail.")
        check.add_argument("current_label", nargs="?", metavar="LABEL")
        check.add_argument("--all", action="store_true", help="Check every active connection.")
        check.add_argument("--json", action="store_true", help="Print one JSON document.")
        check.add_argument("--in-process", action="store_true",
                           help="With --all: check here even when Celery workers answer (by default "
                           "the runs are queued for the workers and this command follows them).")

        scan = sub.add_parser("expiry-scan", help="Send the expiry notices due today (once each).")
        scan.add_argument("--as-of", metavar="YYYY-MM-DD", type=_date,
                          help="Evaluate as if on that date (what is due next week?).")
        scan.add_argument("--dry-run", action="store_true", help="Send and record nothing.")
        scan.add_argument("--json", action="store_true", help="Print the notices as JSON.")

        rotate = sub.add_parser("rotate", help="Replace the token after proving the new one on "
                                "the site: exit 0 pass, 1 warn, 2 refused.")
        rotate.add_argument("current_label", metavar="LABEL")
        rotate.add_argument("--token-stdin", action="store_true", required=True)
        rotate.add_argument("--base-url", metavar="URL", help="The site's new Application URL, if "
                            "it moved (the same token is then accepted, checked there first).")
        rotate.add_argument("--token-name", help="Default: the current token name.")
        rotate.add_argument("--expires", metavar="YYYY-MM-DD", type=_date)
        rotate.add_argument("--accept-warnings", action="store_true",
                            help="Rotate even when the new token passes only with warnings.")

        fix = sub.add_parser("fix-permissions", help="Plan the API calls that make the token user an "
                             "administrator (exit 0 nothing needed, 1 changes planned); --apply makes "
                             "them (exit 0 when token_admin then passes, else 2).")
        fix.add_argument("current_label", metavar="LABEL")
        fix.add_argument("--admin-token-stdin", action="store_true", required=True,
                         help="Read a Sys Admin's API token from stdin; used for this action only.")
        fix.add_argument("--apply", action="store_true", help="Make the calls (default: print the plan).")
        fix.add_argument("--json", action="store_true", help="Print one JSON document.")
        fix.add_argument("--remove-readonly-override", action="store_true",
                         help="Take the user out of groups granting the overriding read-only permission.")
        fix.add_argument("--reactivate-user", action="store_true", help="Re-activate an inactive token user.")

        sub.add_parser("revalidate", help="Run the checklist on every active connection and "
                       "send broken/recovered notices (what the 6-hourly schedule runs).")

        sub.add_parser("sweep-runs", help="Mark runs still queued or running past their limit "
                       "as interrupted and queue one retry of each scheduled one (what beat runs "
                       "every 5 minutes); prints the runs as JSON.")

    def _connection_options(self, parser):
        parser.add_argument("--token-stdin", action="store_true", help="Read the API token from stdin.")
        parser.add_argument("--token-name")
        parser.add_argument("--expires", metavar="YYYY-MM-DD")
        parser.add_argument("--token-user", metavar="ISSUETRAK_USER_ID")
        parser.add_argument("--notify", metavar="a@b,c@d")
        parser.add_argument("--issuetrak-version", metavar="X.Y.Z",
                            help="The exact version read off the site (self-hosted).")
        hosting = parser.add_mutually_exclusive_group()
        hosting.add_argument("--cloud", action="store_const", const=Hosting.CLOUD, dest="hosting")
        hosting.add_argument("--self-hosted", action="store_const", const=Hosting.SELF_HOSTED, dest="hosting")

    def handle(self, *args, subcommand, **options):
        self.stdout = _Escaping(self.stdout)
        getattr(self, f"handle_{subcommand.replace('-', '_')}")(options)

    @sensitive_variables()
    def handle_add(self, options):
        if not options["token_stdin"]:
            raise CommandError("add needs --token-stdin: the token is read from stdin, never an argument.")
        data = {"token": self._read_token(), "hosting": options["hosting"] or Hosting.SELF_HOSTED}
        data |= self._given_fields(options)
        if not data.get("notify"):
            data["notify"] = ",".join(sysadmin_addresses())
        connection = self._save(ConnectionForm(data))
        self.stdout.write(f"Added “{connection.label}” (token {connection.token_fingerprint}).")

    def handle_edit(self, options):
        connection = _get_active(options["current_label"])
        if options["token_stdin"]:
            raise CommandError(
                "edit never changes a token: use `connections rotate LABEL --token-stdin`, which "
                "checks the new token on the site first. Nothing was saved.")
        data = form_data_from(connection) | self._given_fields(options)
        if options["hosting"]:
            data["hosting"] = options["hosting"]
        connection = self._save(ConnectionForm(data, instance=connection))
        self.stdout.write(f"Updated “{connection.label}” (token {connection.token_fingerprint}).")

    def handle_list(self, options):
        queryset = Connection.objects.all() if options["archived"] else Connection.objects.active()
        rows = [_row(c) for c in queryset]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No connections yet.")
        for row in rows:
            expires = row["expires_on"] or "never"
            self.stdout.write(
                f"{row['label']}\t{row['base_url']}\ttoken {row['token_fingerprint']}\t"
                f"expires {expires}\t{row['hosting']}{' (archived)' if row['archived'] else ''}"
            )

    def handle_archive(self, options):
        connection = _get_active(options["current_label"])
        connection.archive(via="cli")
        self.stdout.write(f"Archived “{connection.label}”.")

    def handle_check(self, options):
        if bool(options["current_label"]) == bool(options["all"]):
            raise CommandError("Give one LABEL, or --all.", returncode=2)
        started = timezone.now()
        try:
            if options["all"]:
                runs = self._check_all(quiet=options["json"] or not self.stdout.isatty(),
                                       in_process=options["in_process"])
            else:
                connection = _get_active(options["current_label"], returncode=2)
                runs = [ChecklistRun.check_now(connection, trigger=Trigger.CLI)]
        except KeyboardInterrupt:
            self._interrupted(started)
        documents = [_run_document(run) for run in runs]
        if options["json"]:
            as_json = [_json_document(d) for d in documents]
            self.stdout.write(json.dumps(as_json if options["all"] else as_json[0], indent=2))
        else:
            for document in documents:
                self._print_run(document)
        sys.exit(max((EXIT_CODES[d["overall"]] for d in documents), default=0))

    def _interrupted(self, started) -> None:
        """Ctrl-C: say so on the runs this command started, then leave at once."""
        databases.close_all()  # the interrupted query may have left the connection unusable
        # This command's runs: started from the command line since it began, not over yet.
        mine = ChecklistRun.objects.filter(trigger=Trigger.CLI, created_at__gte=started)
        stopped = mine.interrupt(sweep.CTRL_C_REASON)
        self.stderr.write(f"Interrupted: {len(stopped)} run(s) marked interrupted.")
        sys.stdout.flush()
        sys.stderr.flush()
        databases.close_all()
        # Not sys.exit: that would wait for checklist threads still talking to their sites.
        os._exit(EXIT_INTERRUPTED)

    def handle_sweep_runs(self, options):
        report = sweep_and_requeue()
        self.stdout.write(json.dumps(report.as_dict()))

    def _check_all(self, *, quiet: bool, in_process: bool) -> list[ChecklistRun]:
        """Every active connection as one batch, checked by the Celery workers when any answer
        (else here); a progress bar on a terminal (stderr)."""
        connections = list(Connection.objects.active())
        workers = 0 if in_process or not connections else workers_answer()
        if connections and not quiet:
            self.stderr.write(f"Checking {len(connections)} connection(s) "
                              + (f"on {workers} Celery worker(s)." if workers else "in this process."))
        # shutil's width falls back to 80 on a terminal that reports no size (tqdm would draw nothing).
        with tqdm(total=len(connections), desc="Checking", unit="connection", file=sys.stderr,
                  disable=quiet, ncols=shutil.get_terminal_size().columns) as bar:

            def progress(done: int, failed: int) -> None:
                bar.set_postfix(failed=failed, refresh=False)
                bar.update(done - bar.n)

            if not workers:
                ended = {"done": 0, "failed": 0}

                def finished(run):
                    ended["done"] += 1
                    ended["failed"] += run.overall == StepStatus.FAIL
                    progress(ended["done"], ended["failed"])

                return check_batch(connections, trigger=Trigger.CLI, scope="all active",
                                   on_finished=finished)[1]
            batch = queue_batch(connections, trigger=Trigger.CLI, scope="all active")
            follower = BatchFollower(batch, progress)
            runs = follower.follow()
        if follower.taken_over:
            self.stderr.write(f"{follower.taken_over} run(s) no worker took were checked in this process.")
        return runs

    def handle_expiry_scan(self, options):
        report = expiry.scan(options["as_of"], dry_run=options["dry_run"])
        rows = report.as_json()
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        verb = "would be due" if report.dry_run else "due"
        self.stdout.write(f"Expiry scan as of {report.as_of}: {len(rows)} notice(s) {verb}, "
                          f"{report.emails} e-mail(s) sent, {report.failed} failed.")
        for row in rows:
            self.stdout.write(f"  {row['label']}\t{row['kind']} {row['threshold']}\t"
                              f"{row['channel']}\t{', '.join(row['recipients'])}\t{row['status']}")

    @sensitive_variables()
    def handle_rotate(self, options):
        connection = _get_active(options["current_label"], returncode=2)
        form = RotateForm({
            "token": sys.stdin.read(),
            "base_url": options["base_url"] or "",
            "token_name": options["token_name"] if options["token_name"] is not None
            else connection.token_name,
            "expires_on": options["expires"].isoformat() if options["expires"] else "",
            "accept_warnings": options["accept_warnings"],
        })
        if not form.is_valid():
            raise CommandError(_errors_text(form), returncode=2)
        try:
            rotation = form.rotate(connection, via="cli")
        except RotationRefused as refused:
            if refused.results:
                self._print_run({"connection": connection.label, "overall": refused.overall,
                                 "results": refused.results, "duration_ms": 0})
            code = EXIT_CODES[refused.overall]
            raise CommandError(f"{refused} Nothing changed.", returncode=code) from None
        self.stdout.write(f"{connection.label}: {rotation.message()} ({rotation.overall})")
        sys.exit(EXIT_CODES[rotation.overall])

    def handle_fix_permissions(self, options):
        connection = _get_active(options["current_label"], returncode=2)
        try:
            outcome = permission_fix.run(connection, sys.stdin.read(), apply=options["apply"],
                                         remove_readonly_override=options["remove_readonly_override"],
                                         reactivate_user=options["reactivate_user"])
        except RepairError as refused:
            raise CommandError(str(refused), returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(outcome.as_dict(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write("\n".join(outcome.lines()))
        sys.exit(outcome.exit_code)

    def handle_revalidate(self, options):
        summary = revalidation.revalidate_all()
        self.stdout.write(json.dumps(summary))

    def _print_run(self, document: dict) -> None:
        self.stdout.write(f"{document['connection']}: {document['overall'].upper()} "
                          f"({document['duration_ms']} ms)")
        for result in document["results"]:
            self.stdout.write(f"  {result.status:<5} {result.key:<25} {result.message}")
            if result.fix and result.status.is_problem:
                self.stdout.write(f"        fix: {result.fix}")

    def _given_fields(self, options) -> dict:
        return {field: options[opt] for opt, field in FIELD_OPTIONS.items() if options.get(opt) is not None}

    def _read_token(self) -> str:
        # Whitespace around it is stripped by the form's cleaning, like a pasted token.
        return sys.stdin.read()

    @transaction.atomic
    def _save(self, form: ConnectionForm) -> Connection:
        if not form.is_valid():
            raise CommandError(_errors_text(form))
        return form.save(via="cli")


class _Escaping:
    """stdout that shows control and bidi characters as escapes: rows saved before the text
    rules may hold terminal escapes, which must not act on the operator's terminal."""

    def __init__(self, out):
        self._out = out

    def write(self, msg: str = "", *args, **kwargs) -> None:
        self._out.write(text_rules.printable(msg, keep="\t\n"), *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._out, name)


def _get_active(label: str, returncode: int = 1) -> Connection:
    connection = Connection.objects.with_label(label).first()
    if connection is None:
        raise CommandError(f"No active connection is labelled “{label}”.", returncode=returncode)
    return connection


def _errors_text(form: ConnectionForm) -> str:
    # The option a user typed, for each form field (the inverse of FIELD_OPTIONS).
    names = {field: "--" + option.replace("_", "-") for option, field in FIELD_OPTIONS.items()}
    names |= {"token": "--token-stdin", "hosting": "--cloud/--self-hosted", "expires": "--expires"}
    lines = []
    for field, errors in form.errors.items():
        for error in errors:
            lines.append(f"{names.get(field, 'error')}: {error}" if field != "__all__" else error)
    return "Nothing was saved.\n" + "\n".join(lines)


def _row(connection: Connection) -> dict:
    return {
        "label": connection.label,
        "base_url": connection.base_url,
        "token_name": connection.token_name,
        "token_fingerprint": connection.token_fingerprint,
        "token_user": connection.token_user,
        "expires_on": connection.expires_on.isoformat() if connection.expires_on else None,
        "hosting": connection.hosting,
        "issuetrak_version": connection.issuetrak_version,
        "notify": connection.recipients,
        "archived": connection.is_archived,
    }


def _run_document(run: ChecklistRun) -> dict:
    return {
        "connection": run.connection.label,
        "overall": StepStatus(run.overall),
        "results": run.results,
        "duration_ms": run.duration_ms,
    }


def _json_document(document: dict) -> dict:
    """The --json form: steps as stored (key, status, message, fix; not what the steps read)."""
    return {"connection": document["connection"], "overall": str(document["overall"]),
            "steps": [{k: v for k, v in r.as_dict().items() if k != "details"} for r in document["results"]],
            "duration_ms": document["duration_ms"]}


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"“{value}” is not a date (YYYY-MM-DD)") from None
