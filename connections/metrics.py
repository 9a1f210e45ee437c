"""Prometheus metrics read from the database at scrape time (a custom collector, no counters kept).

Every scrape costs the same three queries whatever the number of connections: the connections
with the steps of their latest finished run (streamed), the notifier's heartbeats, failed notices.
"""

import datetime as dt

from django.db.models import Count, JSONField, Max, OuterRef, Subquery
from django.utils import timezone
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily
from prometheus_client.registry import Collector

from connections.models import Channel, ChecklistRun, Connection, Notice, NotifierRun, StepStatus


def _timestamp(moment: dt.datetime | None) -> float | None:
    return moment.timestamp() if moment else None


def _start_of(day: dt.date) -> float:
    """The first second of a day in the site's time zone (a token expires during its date)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min)).timestamp()


def _with_latest_steps():
    """Active connections, each with the steps of its latest finished run, in one query."""
    latest = (ChecklistRun.objects.filter(connection=OuterRef("pk"), finished_at__isnull=False)
              .order_by("-finished_at", "-pk").values("steps")[:1])
    return Connection.objects.active().annotate(
        latest_steps=Subquery(latest, output_field=JSONField())
    ).values("label", "expires_on", "last_overall", "last_checked_at", "latest_steps").iterator(2000)


class ConnectionsCollector(Collector):
    """Per-connection expiry and checklist state, the notifier's heartbeats, failing notices."""

    def collect(self):
        yield from self._connections()
        yield self._notifier()
        yield self._notices()

    def _connections(self):
        expiry = GaugeMetricFamily("issuetrak_token_expiry_timestamp_seconds",
                                   "When the connection's API token expires (start of its date).",
                                   labels=["label"])
        days = GaugeMetricFamily("issuetrak_token_days_left",
                                 "Days until the API token expires (negative once expired).",
                                 labels=["label"])
        overall = GaugeMetricFamily("issuetrak_checklist_overall",
                                    "1 for the latest checklist result of the connection, else 0.",
                                    labels=["label", "status"])
        step = GaugeMetricFamily("issuetrak_checklist_step",
                                 "1 for each step's status in the latest finished checklist run.",
                                 labels=["label", "step", "status"])
        checked = GaugeMetricFamily("issuetrak_checklist_last_check_timestamp_seconds",
                                    "When the checklist last finished for the connection.",
                                    labels=["label"])
        today = timezone.localdate()
        for row in _with_latest_steps():
            label = row["label"]
            if row["expires_on"]:
                expiry.add_metric([label], _start_of(row["expires_on"]))
                days.add_metric([label], (row["expires_on"] - today).days)
            if row["last_overall"]:
                for status in StepStatus.values:
                    overall.add_metric([label, status], float(row["last_overall"] == status))
            if row["last_checked_at"]:
                checked.add_metric([label], _timestamp(row["last_checked_at"]))
            for result in row["latest_steps"] or []:
                step.add_metric([label, result["key"], result["status"]], 1)
        return expiry, days, overall, step, checked

    def _notifier(self):
        family = GaugeMetricFamily("issuetrak_notifier_last_success_timestamp_seconds",
                                   "When the notifier job last finished without an error.",
                                   labels=["job"])
        finished = (NotifierRun.objects.filter(finished_at__isnull=False, error="")
                    .values("job").annotate(last=Max("finished_at")).order_by())
        for row in finished:
            family.add_metric([row["job"]], _timestamp(row["last"]))
        return family

    def _notices(self):
        family = GaugeMetricFamily("issuetrak_notices_failed",
                                   "Notices not delivered yet whose last attempt failed.",
                                   labels=["channel"])
        failed = (Notice.objects.filter(sent_at__isnull=True, cancelled_at__isnull=True)
                  .exclude(last_error="").values("channel").annotate(n=Count("pk")).order_by())
        counts = {row["channel"]: row["n"] for row in failed}
        for channel in Channel.values:
            family.add_metric([channel], counts.get(channel, 0))
        return family


def registry() -> CollectorRegistry:
    """A registry holding only our collector (no process metrics of whichever worker answers)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(ConnectionsCollector())
    return reg
