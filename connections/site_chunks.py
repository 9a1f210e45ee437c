"""Runs split into chunks of one site's connections, and one chunk checked in order.

Shared by the re-validation round and the fanned-out "check all": a chunk is one task for any
worker; its runs share one `SiteShare`, so the per-site steps are decided once per chunk (later
chunks of the site reuse the first chunk's answer through its anchor run), and user and group
reads once per chunk.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from connections.checklist import result_from
from connections.checklist.registry import PER_SITE_KEYS, SiteShare
from connections.choices import RunState, StepStatus
from connections.issuetrak import site_limits
from connections.models import ChecklistRun
from connections.models.run import timed_checklist


@dataclass(frozen=True)
class Chunk:
    """Runs of one site for one task; `anchor` is the site's first run, whose answer is reused."""

    run_ids: list[int]
    anchor: int | None
    countdown: float


def plan(runs: Iterable[ChecklistRun], chunk_size: int, spread_s: float = 0.0) -> list[Chunk]:
    """Each site's runs in chunks of at most `chunk_size`, its chunks evenly over `spread_s`
    (the first at once); the runs' connections must be loaded."""
    by_site: dict[str, list[int]] = defaultdict(list)
    for run in runs:
        by_site[site_limits.site_key(run.connection.base_url)].append(run.pk)
    chunks = []
    for run_ids in by_site.values():
        pieces = [run_ids[i:i + chunk_size] for i in range(0, len(run_ids), chunk_size)]
        for n, piece in enumerate(pieces):
            chunks.append(Chunk(piece, None if n == 0 else pieces[0][0], n * spread_s / len(pieces)))
    return chunks


def share_from(anchor_id: int | None) -> SiteShare:
    """The per-site steps the site's first run decided, if it has finished (else nothing)."""
    anchor = ChecklistRun.objects.filter(pk=anchor_id, state=RunState.FINISHED).first() if anchor_id else None
    stored = anchor.steps if anchor else []
    return SiteShare({s["key"]: result_from(s) for s in stored
                      if s["key"] in PER_SITE_KEYS and s["status"] != StepStatus.SKIP})


Outcome = tuple  # (run, results or None when it crashed, duration_ms)


def check_site(runs: list[ChecklistRun], share: SiteShare, deadline: float | None = None,
               on_outcome: Callable[[Outcome], None] | None = None,
               ) -> tuple[list[Outcome], list[ChecklistRun]]:
    """Check one site's runs in order; (outcomes, runs not started before the monotonic deadline).

    Touches the database only through `on_outcome` and a run's rate-limit note.
    """
    outcomes = []
    for n, run in enumerate(runs):
        if deadline is not None and time.monotonic() >= deadline:
            return outcomes, runs[n:]
        with site_limits.reporting(run.note_rate):  # a long wait for the site's limiter shows on the run
            outcome = (run, *timed_checklist(run.connection, share=share))
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    return outcomes, []


def check_chunk(run_ids: list[int], anchor_id: int | None = None, budget_s: float | None = None,
                on_outcome: Callable[[Outcome], None] | None = None) -> tuple[list[Outcome], list[int]]:
    """Claim these runs of one site and check them; (outcomes, run ids given back to the queue
    because `budget_s` ran out)."""
    runs = ChecklistRun.claim_many(run_ids)
    deadline = None if budget_s is None else time.monotonic() + budget_s
    outcomes, left = check_site(runs, share_from(anchor_id), deadline, on_outcome)
    requeue(left)
    return outcomes, [r.pk for r in left]


def requeue(runs: list[ChecklistRun]) -> None:
    """Give claimed runs this task did not reach back to the queue, for the next task to claim."""
    if runs:
        ChecklistRun.objects.filter(pk__in=[r.pk for r in runs], state=RunState.RUNNING).update(
            state=RunState.QUEUED, started_at=None)
