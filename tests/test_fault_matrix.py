"""The fault matrix: each fault injected for real, each case checked by what a user sees after.

Real processes (Celery workers, `manage.py` commands), real sockets (the simulator, an SMTP
server) and the real database the test shares with them: SQLite by default, PostgreSQL and
Redis under CI. Header trickling and slow groups belong to the per-call deadline tests.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection as db
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from connections import emails, tasks
from connections.models import ChecklistRun, Notice, NoticeRecipient, RunState, Trigger
from connections.simulator import IssuetrakSimulator
from tests.conftest import IN_CI
from tests.smtp_support import MailServer
from tests.test_beat_end_to_end import _database_url

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
OK, REJECT = "ok@example.com", "reject@example.com"


@pytest.fixture(scope="module")
def slow_sim():
    """A simulator whose "slow" site answers each call after one second: runs take a while."""
    with IssuetrakSimulator(slow_seconds=1.0) as sim:
        yield sim


def _broker(data_dir: Path) -> tuple[str, dict]:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if url.startswith("redis://"):
        return url, {}
    folder = data_dir / "broker"
    folders = {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
               "processed_folder": str(folder / "processed"), "control_folder": str(folder / "control")}
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return "filesystem://localhost/", folders


def _env(tmp_path: Path, **extra) -> dict:
    """The environment of a production-like process sharing the test's database and keys."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env |= {"DJANGO_SETTINGS_MODULE": "issuetrak_admin.settings", "DEBUG": "1",
            "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": _database_url(),
            "TOKEN_ENCRYPTION_KEYS": ",".join(settings.TOKEN_ENCRYPTION_KEYS),
            "SECRET_KEY": settings.SECRET_KEY, "ISSUETRAK_ALLOW_HTTP": "1",
            "ISSUETRAK_TIMEOUT_S": "5", "CELERY_BROKER_URL": _broker(tmp_path / "data")[0]}
    return env | {k: str(v) for k, v in extra.items()}


def _manage(env: dict, *args: str) -> subprocess.Popen:
    # SIGINT back to its default: a suite started in the background inherits it ignored, and
    # Python then installs no Ctrl-C handler in the child.
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "issuetrak_admin", "worker", "--pool=threads",
         "--concurrency=2", "--without-mingle", "--without-gossip", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)


def _stop(worker: subprocess.Popen, sig=signal.SIGTERM) -> str:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
    return worker.communicate(timeout=30)[0]


def _wait_for(predicate, seconds: float, what: str, log=lambda: ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"{what} within {seconds} s\n{log()}")


def _slow(make_connection, slow_sim, **fields):
    fields.setdefault("recipients", [OK])
    return make_connection("Slow", token="good-token", base_url=slow_sim.site_url("slow"),
                           token_user="integration", **fields)


# --- runs ------------------------------------------------------------------------------------

def test_a_worker_killed_mid_run_leaves_no_run_running(make_connection, slow_sim, tmp_path):
    """SIGKILL during a scheduled run; the restarted worker interrupts it and retries it once."""
    connection = _slow(make_connection, slow_sim)
    env = _env(tmp_path, RUN_RUNNING_LIMIT_S=2)
    run = ChecklistRun.start(connection, trigger=Trigger.SCHEDULE)
    url, options = _broker(tmp_path / "data")
    producer = Celery("fault-matrix")
    worker = _worker(env)
    try:
        # An explicit connection: Celery prefers the CELERY_BROKER_URL variable (memory:// here).
        with producer.connection_for_write(url, transport_options=options) as broker:
            producer.send_task("connections.tasks.run_checklist", args=[run.pk], connection=broker)
        _wait_for(lambda: ChecklistRun.objects.get(pk=run.pk).state == RunState.RUNNING, 40,
                  "the worker did not start the run", log=lambda: _stop(worker))
        _stop(worker, signal.SIGKILL)
        time.sleep(2.5)  # past RUN_RUNNING_LIMIT_S: nobody is running it any more
        assert ChecklistRun.objects.get(pk=run.pk).state == RunState.RUNNING  # what is left behind

        worker = _worker(env)
        retry = _wait_for(lambda: ChecklistRun.objects.filter(retry_of=run, state=RunState.FINISHED).first(),
                          40, "the restarted worker did not finish a retry", log=lambda: _stop(worker))
    finally:
        output = _stop(worker)
    run.refresh_from_db()
    assert run.state == RunState.INTERRUPTED, output[-2000:]
    assert "No result 2 s after it started" in run.interrupted_reason
    assert retry.overall == "pass" and retry.trigger == Trigger.SCHEDULE
    assert not ChecklistRun.objects.filter(state__in=[RunState.QUEUED, RunState.RUNNING]).exists()
    assert ChecklistRun.objects.count() == 2  # retried once, not again


def test_ctrl_c_in_connections_check_marks_its_run_interrupted(make_connection, slow_sim, tmp_path,
                                                               client, sysadmin):
    connection = _slow(make_connection, slow_sim)
    check = _manage(_env(tmp_path), "connections", "check", "Slow")
    try:
        run = _wait_for(lambda: ChecklistRun.objects.filter(state=RunState.RUNNING).first(), 20,
                        "the command did not start its run")
        check.send_signal(signal.SIGINT)
        _, stderr = check.communicate(timeout=20)
    finally:
        if check.poll() is None:
            check.kill()
    assert check.returncode == 130, stderr
    assert "1 run(s) marked interrupted" in stderr
    run.refresh_from_db()
    assert run.state == RunState.INTERRUPTED and "Ctrl-C" in run.interrupted_reason
    client.force_login(sysadmin)
    page = client.get(reverse("connections:run", args=[connection.public_id, run.public_id]))
    assert "hx-trigger" not in page.content.decode()  # the page stops polling
    assert "The run was interrupted before it finished" in page.content.decode()


# --- notices ---------------------------------------------------------------------------------

def _expiring(make_connection, label="Zapier", recipients=(OK, REJECT)):
    return make_connection(label, expires_on=timezone.localdate() + timezone.timedelta(days=5),
                           recipients=list(recipients))


def test_a_refused_recipient_across_three_scans(make_connection, tmp_path):
    _expiring(make_connection)
    with MailServer(refuse={REJECT}) as smtp:
        env = _env(tmp_path, EMAIL_URL=smtp.email_url, NOTICE_MAX_ATTEMPTS=2, NOTICE_RETRY_DELAYS_S=0)
        reports = []
        for _ in range(3):
            scan = _manage(env, "connections", "expiry-scan")
            out, err = scan.communicate(timeout=60)
            assert scan.returncode == 0, err
            reports.append(out)
    assert len(smtp.mails_to(OK)) == 1
    assert smtp.refused[REJECT] == 2  # capped at NOTICE_MAX_ATTEMPTS
    notice = Notice.objects.get()
    assert notice.sent_at and notice.deliveries.get(address=OK).sent_at
    bounced = notice.deliveries.get(address=REJECT)
    assert bounced.failed_at and bounced.attempts == 2 and bounced.last_error.startswith("550")
    assert "already sent" in reports[2]


def test_two_scans_at_once_send_each_recipient_one_mail(make_connection, tmp_path):
    for n in range(3):
        _expiring(make_connection, f"Site {n}", recipients=[OK, "other@example.com"])
    with MailServer() as smtp:
        env = _env(tmp_path, EMAIL_URL=smtp.email_url)
        scans = [_manage(env, "connections", "expiry-scan") for _ in range(2)]
        results = [scan.communicate(timeout=60) for scan in scans]
    assert [scan.returncode for scan in scans] == [0, 0], results
    assert len(smtp.mails_to(OK)) == 1 and len(smtp.mails_to("other@example.com")) == 1
    assert NoticeRecipient.objects.filter(sent_at__isnull=False).count() == 6
    # Which scan sends depends on timing; a scan that starts after the other recorded the sends
    # may truthfully report "already sent" — the mails per recipient above are the promise.


@pytest.fixture
def postgres_only():
    if db.vendor != "postgresql":
        if IN_CI and os.environ.get("DATABASE_URL", "").startswith("postgres"):
            pytest.fail("CI runs this on PostgreSQL")
        pytest.skip("pg_terminate_backend needs PostgreSQL (CI runs this)")


def test_the_database_connection_killed_between_send_and_record(postgres_only, make_connection):
    """The mail is accepted, the scan's connection dies before it is marked sent: the task
    retries, the report never says "already sent", and the one repeat has the same Message-ID."""
    import psycopg

    _expiring(make_connection, recipients=[OK])
    killed = threading.Event()
    params = db.get_connection_params()
    conninfo = {k: params[k] for k in ("dbname", "user", "password", "host", "port") if params.get(k)}

    def kill_the_scan(message):  # the mail is accepted: now the scan's connection dies
        if not killed.is_set():
            with psycopg.connect(**conninfo, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            killed.set()

    with MailServer(on_accept=kill_the_scan) as smtp, override_settings(**smtp.settings()):
        tasks.expiry_scan.apply(throw=False)  # killed, retried at once (eager), nothing resent
        assert killed.is_set() and len(smtp.mails_to(OK)) == 1
        notice = Notice.objects.get()
        assert notice.sent_at is None and not notice.deliveries.filter(sent_at__isnull=False).exists()
        from connections import expiry

        assert expiry.scan().as_json()[0]["status"].startswith("pending")  # not "already sent"
        with override_settings(NOTICE_CLAIM_LEASE_MINUTES=0):  # the lease of the dead run is over
            assert expiry.scan().as_json()[0]["status"] == "sent"
            assert expiry.scan().as_json()[0]["status"] == "already sent"
    first, repeat = smtp.mails_to(OK)  # at most one repeat, across the crash
    assert first["Message-ID"] == repeat["Message-ID"] == emails.message_id([notice])
