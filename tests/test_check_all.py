"""Check all: one batch of runs inserted in bulk, one Celery task each, a progress page polled
until done; the CLI's --all makes the same batch and draws a progress bar only on a terminal."""

import fcntl
import io
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from connections import listing as list_module
from connections.choices import AuditAction, StepStatus
from connections.models import AuditEvent, CheckBatch, ChecklistRun, Connection

ROOT = Path(__file__).resolve().parent.parent


def on_site(make_connection, simulator, site, label=None, **fields):
    return make_connection(label=label or site, token="good-token", base_url=simulator.site_url(site),
                           token_user="integration", **fields)


@pytest.mark.parametrize("count", [1, 40])
def test_a_batch_inserts_its_runs_in_bulk(make_connection, django_assert_num_queries, count):
    connections = [make_connection(f"Site {n}") for n in range(count)]
    with django_assert_num_queries(5):  # savepoint, batch, runs, audit event, release
        batch, runs = CheckBatch.start(connections, trigger="cli", claim=True)
    assert batch.total == count and batch.done == 0 and not batch.is_done
    assert ChecklistRun.objects.filter(batch=batch, state="running").count() == count
    assert all(run.pk for run in runs)
    event = AuditEvent.objects.get(action=AuditAction.CHECK_ALL_STARTED)
    assert f"for {count} connection(s) at once" in event.summary


def test_check_all_from_the_list_checks_the_filtered_list_as_one_batch(
        sam_client, make_connection, simulator, django_capture_on_commit_callbacks):
    healthy = on_site(make_connection, simulator, "healthy")
    broken = on_site(make_connection, simulator, "revoked-token")
    Connection.objects.filter(pk=broken.pk).update(last_overall=StepStatus.FAIL)
    Connection.objects.filter(pk=healthy.pk).update(last_overall=StepStatus.FAIL)
    on_site(make_connection, simulator, "group-admin")  # not failing: outside the filter
    on_site(make_connection, simulator, "not-admin").archive()  # archived: never checked

    listing = sam_client.get(reverse("connections:list"), {"failing": "1"}).content.decode()
    assert 'name="failing" value="1"' in listing and "Check these 2" in listing
    with django_capture_on_commit_callbacks(execute=True):  # the eager Celery tasks run here
        response = sam_client.post(reverse("connections:check_all"), {"failing": "1", "archived": "1"})
    batch = CheckBatch.objects.get()
    assert response["Location"] == reverse("connections:batch", args=[batch.public_id])
    assert (batch.total, batch.done, batch.failed) == (2, 2, 1) and batch.finished_at
    assert set(batch.runs.values_list("connection__label", flat=True)) == {"healthy", "revoked-token"}
    assert set(batch.runs.values_list("state", flat=True)) == {"finished"}

    page = sam_client.get(response["Location"]).content.decode()
    assert "2 / 2" in page and "1 failed so far" in page and "revoked-token" in page
    partial = sam_client.get(response["Location"], headers={"HX-Request": "true"}).content.decode()
    assert partial.startswith("{#") is False and 'id="batch-progress"' in partial
    assert "hx-trigger" not in partial  # done: polling stops


def test_past_the_count_limit_the_button_says_so_and_the_batch_still_takes_every_match(
        sam_client, make_connection, simulator, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(list_module, "COUNT_LIMIT", 3)
    for n in range(5):
        on_site(make_connection, simulator, "healthy", label=f"Zapier {n}")
    Connection.objects.update(last_overall=StepStatus.FAIL)

    page = sam_client.get(reverse("connections:list"), {"failing": "1"}).content.decode()
    assert "Check these 3+" in page
    with django_capture_on_commit_callbacks(execute=True):
        sam_client.post(reverse("connections:check_all"), {"failing": "1"})
    batch = CheckBatch.objects.get()
    assert (batch.total, batch.done) == (5, 5)


def test_the_progress_page_polls_while_runs_are_going(sam_client, make_connection):
    batch, runs = CheckBatch.start([make_connection("A"), make_connection("B")], trigger="browser")
    runs[0].finish([], 5)
    partial = sam_client.get(reverse("connections:batch", args=[batch.public_id]),
                             headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in partial and "1 / 2" in partial and "0 failed so far" in partial
    assert '<progress value="1" max="2"' in partial


def test_a_viewer_has_no_check_all_button(client, viewer, make_connection):
    make_connection()
    client.force_login(viewer)
    assert "Check all" not in client.get(reverse("connections:list")).content.decode()


def test_cli_check_all_makes_one_batch_and_stays_quiet_when_not_a_terminal(
        make_connection, simulator, capsys):
    for site in ("healthy", "api-disabled"):
        on_site(make_connection, simulator, site)
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("connections", "check", "--all", "--json", stdout=out)
    assert {d["connection"] for d in json.loads(out.getvalue())} == {"healthy", "api-disabled"}
    batch = CheckBatch.objects.get()
    assert (batch.trigger, batch.total, batch.done, batch.failed) == ("cli", 2, 2, 1)
    assert batch.runs.count() == 2
    assert "Checking" not in capsys.readouterr().err


def _run_on_a_terminal(args, env, cwd) -> str:
    """Run manage.py with stdout and stderr on a pseudo-terminal; everything it drew."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    process = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), *args], stdin=subprocess.DEVNULL,
                               stdout=follower, stderr=follower, env=env, cwd=cwd)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        try:
            chunk = os.read(leader, 4096) if ready else b""
        except OSError:  # the child closed the terminal
            chunk = b""
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_cli_check_all_draws_a_progress_bar_on_a_terminal_and_not_with_json(simulator, tmp_path):
    env = os.environ | {"DATA_DIR": str(tmp_path), "DEBUG": "1", "ISSUETRAK_ALLOW_HTTP": "1",
                        "DJANGO_SETTINGS_MODULE": "issuetrak_admin.settings"}
    env.pop("DATABASE_URL", None)

    def manage(*args, stdin=""):
        done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], input=stdin, env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode in (0, 1, 2), done.stderr
        return done

    manage("migrate", "--noinput")
    for site in ("healthy", "api-disabled", "group-admin"):
        manage("connections", "add", "--label", site, "--base-url", simulator.site_url(site),
               "--token-stdin", "--notify", "a@example.com", stdin="good-token")

    drawn = _run_on_a_terminal(["connections", "check", "--all"], env, tmp_path)
    assert "Checking: 100%" in drawn and "3/3" in drawn and "failed=1" in drawn
    assert "api-disabled: FAIL" in drawn

    as_json = manage("connections", "check", "--all", "--json")
    assert "Checking" not in as_json.stderr and "%" not in as_json.stderr
    assert len(json.loads(as_json.stdout)) == 3
