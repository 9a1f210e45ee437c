"""Pictures drawn on the server: the 90-day expiry timeline and a connection's strip of runs.

Each is one bounded query turned into plain geometry; the templates draw it as inline SVG
(timeline) or HTML (strip), so no chart library or JavaScript is needed. Horizontal positions
are percentages of the picture's width, so it fits a phone and text keeps its size.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from connections.models import ChecklistRun, Connection

DAYS = 90
MAX_MARKS = 500  # one query, bounded: the soonest 500 expiries (far more than a screen shows)
EXPIRED_X = 3.0  # % of the width: expired tokens sit at the left edge, before today's line
TODAY_X, END_X = 8.0, 97.0
MIN_GAP = 2.0  # marks closer than this (in %) stack in rows instead of overlapping
ROW_H, TOP, MAX_ROWS = 16, 12, 6  # px
STRIP_RUNS = 30


@dataclass
class Mark:
    label: str
    url: str
    expires_on: dt.date
    days_left: int
    status: str  # pass / warn / fail, by the connection's own thresholds
    x: float
    y: int = 0

    @property
    def text(self) -> str:
        left = self.days_left
        when = (f"expired {-left} d ago" if left < 0
                else "expires today" if left == 0 else f"expires in {left} d")
        return f"{self.label}: {when} ({self.expires_on:%Y-%m-%d})"


@dataclass
class Tick:
    x: float
    label: str
    anchor: str = "middle"


@dataclass
class Timeline:
    marks: list[Mark]
    ticks: list[Tick]
    axis_y: int
    truncated: bool
    today_x: float = TODAY_X
    end_x: float = END_X
    expired_width: float = TODAY_X - 2

    @property
    def height(self) -> int:
        return self.axis_y + 22


def _x(days_left: int) -> float:
    if days_left < 0:
        return EXPIRED_X
    return round(TODAY_X + (END_X - TODAY_X) * days_left / DAYS, 2)


def _stack(marks: list[Mark]) -> int:
    """Put each mark in the first row with room at its left; returns the number of rows."""
    last_x: list[float] = []
    for mark in marks:
        row = next((i for i, x in enumerate(last_x) if mark.x - x >= MIN_GAP), None)
        if row is None and len(last_x) < MAX_ROWS:
            row = len(last_x)
            last_x.append(mark.x)
        elif row is None:  # every row is crowded here: overlap where it is least crowded
            row = min(range(len(last_x)), key=last_x.__getitem__)
        last_x[row] = mark.x
        mark.y = TOP + row * ROW_H
    return max(len(last_x), 1)


def expiry_timeline(today: dt.date | None = None) -> Timeline:
    """Active tokens expiring within 90 days, and those already expired, from one query."""
    today = today or timezone.localdate()
    connections = list(
        Connection.objects.active()
        .filter(expires_on__isnull=False, expires_on__lte=today + dt.timedelta(days=DAYS))
        .only("public_id", "label", "expires_on", "expiry_thresholds")
        .order_by("expires_on", "pk")[: MAX_MARKS + 1]
    )
    marks = []
    # One reverse() for every mark (up to 500 of them would cost more than the query).
    placeholder = str(uuid.UUID(int=0))
    url = reverse("connections:detail", args=[placeholder])
    for c in connections[:MAX_MARKS]:
        left = c.days_left(today)
        marks.append(Mark(c.label, url.replace(placeholder, str(c.public_id)), c.expires_on, left,
                          c.expiry_badge(today)[0], _x(left)))
    axis_y = TOP + _stack(marks) * ROW_H - 4
    ticks = [Tick(_x(0), "today")] + [
        Tick(_x(d), f"{today + dt.timedelta(days=d):%b %-d}", "end" if d == DAYS else "middle")
        for d in (30, 60, DAYS)]
    return Timeline(marks, ticks, axis_y, truncated=len(connections) > MAX_MARKS)


def run_strip(connection: Connection) -> list[ChecklistRun]:
    """The last 30 runs, oldest first (newest at the right, like a status bar), from one query."""
    runs = connection.runs.only("public_id", "state", "overall", "created_at", "connection_id")
    return list(runs.order_by("-created_at", "-pk")[:STRIP_RUNS])[::-1]
