"""Two rotations at the same time: one wins, the other changes nothing and names the winner.

Real threads, each with its own database connection, against the simulator; both checks finish
before either swap starts, so the swaps truly race for the row lock (PostgreSQL under CI, the
SQLite file's write lock otherwise).
"""

import threading

import pytest
from django.db import connections as db_connections

from connections.choices import AuditAction
from connections.models import (
    AuditEvent,
    ChecklistRun,
    Connection,
    RotatedMeanwhile,
    Rotation,
    RotationRefused,
    TokenHistory,
)


@pytest.mark.django_db(transaction=True)
def test_two_rotations_racing_one_wins_and_the_other_is_told_who_and_when(
        simulator, make_connection, django_user_model, monkeypatch):
    for token in ("token-from-sam", "token-from-sue"):
        simulator.add_token("healthy", token)
    zapier = make_connection(token="good-token", base_url=simulator.site_url("healthy"),
                             token_user="integration")
    old_fingerprint = zapier.token_fingerprint
    people = {name: django_user_model.objects.create_user(name) for name in ("sam", "sue")}

    both_checked = threading.Barrier(2, timeout=60)
    real_swap = Connection.swap_token

    def swap_when_both_checked(self, *args, **kwargs):
        both_checked.wait()
        return real_swap(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "swap_token", swap_when_both_checked)
    outcomes = {}

    def rotate(name):
        try:
            mine = Connection.objects.get(pk=zapier.pk)  # each loads the same token, as a page would
            outcomes[name] = mine.rotate_token(f"token-from-{name}", token_name="Zapier",
                                               expires_on=None, by=people[name],
                                               accept_warnings=True)
        except RotationRefused as refused:
            outcomes[name] = refused
        except Exception as unexpected:  # reported below instead of dying silently in the thread
            outcomes[name] = unexpected
        finally:
            db_connections.close_all()

    threads = [threading.Thread(target=rotate, args=(name,)) for name in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    [winner] = [name for name, outcome in outcomes.items() if isinstance(outcome, Rotation)]
    [loser] = [name for name, outcome in outcomes.items() if name != winner]
    refused = outcomes[loser]
    assert isinstance(refused, RotatedMeanwhile), refused
    assert refused.by_name == winner and refused.at is not None
    current = Connection.objects.get()
    assert current.reveal_token() == f"token-from-{winner}"
    assert winner in str(refused) and current.token_fingerprint in str(refused)
    [retired] = TokenHistory.objects.all()
    assert retired.token_fingerprint == old_fingerprint and retired.retired_by == people[winner]
    assert ChecklistRun.objects.filter(trigger="rotation").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_ROTATED).count() == 1
