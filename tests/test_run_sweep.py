"""No run is left behind: the sweep interrupts stale runs, retries scheduled ones once, and a
redelivered task takes over a dead worker's claim."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from connections import sweep, tasks
from connections.models import ChecklistRun, RotationCheck, RunState, Trigger
from connections.models.rotation import Candidate


def _aged(run: ChecklistRun, state: str, seconds: int) -> ChecklistRun:
    """Pretend a run has been in this state for this long (its worker died that long ago)."""
    then = timezone.now() - dt.timedelta(seconds=seconds)
    ChecklistRun.objects.filter(pk=run.pk).update(state=state, created_at=then, started_at=then)
    run.refresh_from_db()
    return run


@pytest.fixture
def healthy(make_connection, simulator):
    return make_connection(token="good-token", base_url=simulator.site_url("healthy"),
                           token_user="integration")


@override_settings(RUN_RUNNING_LIMIT_S=300, RUN_QUEUED_LIMIT_S=3600)
def test_the_sweep_interrupts_only_runs_past_their_limit_and_says_why(healthy):
    dead = _aged(ChecklistRun.start(healthy, trigger=Trigger.BROWSER), RunState.RUNNING, 301)
    lost = _aged(ChecklistRun.start(healthy, trigger=Trigger.BROWSER), RunState.QUEUED, 3601)
    busy = _aged(ChecklistRun.start(healthy, trigger=Trigger.BROWSER), RunState.RUNNING, 200)
    waiting = _aged(ChecklistRun.start(healthy, trigger=Trigger.BROWSER), RunState.QUEUED, 3000)
    done = ChecklistRun.check_now(healthy)

    report = sweep.sweep_runs()

    assert {r.pk for r in report.interrupted} == {dead.pk, lost.pk}
    for run in (dead, lost, busy, waiting, done):
        run.refresh_from_db()
    assert dead.state == lost.state == RunState.INTERRUPTED
    assert "No result 5 min after it started" in dead.interrupted_reason
    assert "No worker started it within 60 min" in lost.interrupted_reason
    assert (busy.state, waiting.state, done.state) == (RunState.RUNNING, RunState.QUEUED, RunState.FINISHED)
    assert sweep.sweep_runs().interrupted == []  # nothing twice
    assert not report.retries  # browser runs are not retried: the person runs it again


def test_an_interrupted_scheduled_run_is_retried_once(healthy, django_capture_on_commit_callbacks):
    scheduled = _aged(ChecklistRun.start(healthy, trigger=Trigger.SCHEDULE), RunState.RUNNING, 3600)
    with django_capture_on_commit_callbacks(execute=True):  # the worker takes the retry
        [retry] = tasks.sweep_and_requeue().retries
    retry.refresh_from_db()
    assert retry.retry_of == scheduled and retry.state == RunState.FINISHED and retry.overall == "pass"

    again = _aged(ChecklistRun.start(healthy, trigger=Trigger.SCHEDULE), RunState.RUNNING, 3600)
    ChecklistRun.objects.filter(pk=again.pk).update(retry_of=None)
    _aged(retry, RunState.RUNNING, 3600)  # the retry itself died: not retried again
    report = sweep.sweep_runs()
    assert {r.pk for r in report.interrupted} == {again.pk, retry.pk}
    assert [r.retry_of_id for r in report.retries] == [again.pk]


def test_a_redelivered_task_takes_over_the_claim_of_a_dead_worker(healthy):
    run = _aged(ChecklistRun.start(healthy, trigger=Trigger.BROWSER), RunState.RUNNING, 3600)
    tasks.execute_checklist_run(run.pk)
    run.refresh_from_db()
    assert run.state == RunState.FINISHED and run.overall == "pass"


def test_a_live_claim_is_not_taken_over(healthy):
    run = _aged(ChecklistRun.start(healthy, trigger=Trigger.BROWSER), RunState.RUNNING, 5)
    tasks.execute_checklist_run(run.pk)
    run.refresh_from_db()
    assert run.state == RunState.RUNNING and run.steps == []


def test_a_result_arriving_after_the_sweep_does_not_undo_the_interruption(healthy):
    run = _aged(ChecklistRun.start(healthy, trigger=Trigger.BROWSER), RunState.RUNNING, 3600)
    sweep.sweep_runs()
    run.finish([], 10)
    run.refresh_from_db()
    assert run.state == RunState.INTERRUPTED


def test_the_run_page_stops_polling_and_says_why_the_run_was_interrupted(sam_client, healthy):
    run = _aged(ChecklistRun.start(healthy, trigger=Trigger.BROWSER), RunState.RUNNING, 3600)
    url = reverse("connections:run", args=[healthy.public_id, run.public_id])
    assert "hx-trigger=\"every 1s\"" in sam_client.get(url).content.decode()
    sweep.sweep_runs()
    page = sam_client.get(url).content.decode()
    assert "hx-trigger" not in page
    assert "The run was interrupted before it finished: No result 10 min after it started" in page
    assert "Interrupted" in sam_client.get(reverse("connections:history", args=[healthy.public_id])
                                           ).content.decode()


def test_the_command_sweeps_and_prints_what_it_interrupted(healthy):
    run = _aged(ChecklistRun.start(healthy, trigger=Trigger.CLI), RunState.RUNNING, 3600)
    out = io.StringIO()
    call_command("connections", "sweep-runs", stdout=out)
    assert json.loads(out.getvalue()) == {"interrupted": [str(run.public_id)], "retries": [],
                                          "rotation_checks": []}


def test_beat_runs_the_sweep_every_five_minutes(db):
    task = PeriodicTask.objects.get(task="connections.tasks.sweep_runs")
    assert (task.interval.every, task.interval.period, task.enabled) == (5, "minutes", True)


def test_the_sweep_task_is_what_beat_calls(healthy):
    run = _aged(ChecklistRun.start(healthy, trigger=Trigger.BROWSER), RunState.QUEUED, 7200)
    tasks.sweep_runs.apply()
    run.refresh_from_db()
    assert run.state == RunState.INTERRUPTED


def test_a_round_whose_run_died_is_finished_by_its_retry(healthy, django_capture_on_commit_callbacks):
    """A re-validation round waits for the retry of its interrupted run, then finishes."""
    from connections import revalidation
    from connections.models import NotifierRun

    heartbeat, [chunk] = revalidation.start_round(spread_s=0)
    [run] = ChecklistRun.claim_many(chunk.run_ids)  # the chunk's worker is then killed
    _aged(run, RunState.RUNNING, 3600)
    with django_capture_on_commit_callbacks(execute=True):
        [retry] = tasks.sweep_and_requeue().retries
    retry.refresh_from_db()
    heartbeat.refresh_from_db()
    assert retry.round_id == heartbeat.pk and retry.state == RunState.FINISHED
    assert heartbeat.finished_at and heartbeat.summary["checked"] == 2
    assert NotifierRun.objects.count() == 1


def test_a_batch_counts_a_run_the_sweep_interrupted(healthy, sysadmin):
    from connections.models import CheckBatch

    batch, [run] = CheckBatch.start([healthy], trigger=Trigger.BROWSER, by=sysadmin, scope="all")
    _aged(run, RunState.QUEUED, 7200)
    sweep.sweep_runs()
    batch.refresh_from_db()
    assert batch.is_done and batch.failed == 1 and batch.finished_at


@override_settings(RUN_RUNNING_LIMIT_S=300, RUN_QUEUED_LIMIT_S=600)
def test_a_rotation_check_nobody_finished_is_interrupted_and_its_candidate_dropped(
        sam_client, healthy):
    old_fingerprint = healthy.token_fingerprint

    def rotation_check(state: str, seconds: int) -> RotationCheck:
        check = RotationCheck.start(healthy, Candidate("candidate-token-0042", healthy.base_url, "Zapier",
                                                       None, healthy.token_fingerprint, False))
        RotationCheck.objects.filter(pk=check.pk).update(
            state=state, created_at=timezone.now() - dt.timedelta(seconds=seconds))
        return check

    dead = rotation_check(RunState.RUNNING, 901)  # past the queued and the running limit
    busy = rotation_check(RunState.RUNNING, 600)

    out = io.StringIO()
    call_command("connections", "sweep-runs", stdout=out)

    assert json.loads(out.getvalue())["rotation_checks"] == [str(dead.public_id)]
    dead.refresh_from_db()
    assert (dead.state, dead.outcome, dead.token_ciphertext) == (RunState.INTERRUPTED, "crashed", "")
    assert RotationCheck.objects.get(pk=busy.pk).state == RunState.RUNNING
    healthy.refresh_from_db()
    assert healthy.token_fingerprint == old_fingerprint  # nothing changed
    page = sam_client.get(reverse("connections:rotation_check",
                                  args=[healthy.public_id, dead.public_id])).content.decode()
    assert "the process running it stopped" in page and "rotate again with the token" in page
