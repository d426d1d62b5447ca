"""Prometheus view of outreach, read from the database at scrape time (the same in every process)."""

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["OutreachCollector"]


class OutreachCollector(Collector):
    def collect(self) -> Iterator:
        # models at collect time, as clinic.metrics must (no cycle: a matter of load order)
        from outreach.models import AlertNotice, Delivery
        from outreach.selectors import delivery_state_counts

        counts = delivery_state_counts()
        gauge = GaugeMetricFamily("cadence_outreach_deliveries", "Outreach messages by channel and state",
                                  labels=["channel", "state"])
        for channel in Delivery.Channel.values:
            for state in Delivery.State.values:
                gauge.add_metric([channel, state], counts.get((channel, state), 0))
        yield gauge
        waiting = GaugeMetricFamily("cadence_outreach_escalations_pending",
                                    "Urgent alerts whose next escalation step is scheduled")
        waiting.add_metric([], AlertNotice.objects.filter(next_escalation_at__isnull=False).count())
        yield waiting
