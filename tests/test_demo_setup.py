"""`make run DEMO=1`'s demo connections: their runs are credited to the command, not a browser."""

from django.core.management import call_command

from connections.models import AuditEvent, ChecklistRun


def test_demo_runs_are_credited_to_the_command_line(db, simulator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_setup", simulator=simulator.root_url, delay=0, stdout=None)
    runs = ChecklistRun.objects.select_related("connection")
    assert {r.connection.label for r in runs} == {"Demo healthy", "Demo expiring", "Demo revoked"}
    assert {(r.trigger, r.started_by_text) for r in runs} == {("cli", "Command line")}
    started = AuditEvent.objects.filter(action="checklist_started")
    assert {e.actor_name for e in started} == {"cli"}
    assert {r.overall for r in runs} >= {"pass", "fail"}  # they really ran against the simulator
