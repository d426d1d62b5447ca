"""Open operator alerts as a Prometheus gauge, read from the database at scrape time."""

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class OperatorAlertCollector(Collector):
    def collect(self):
        # models at collect time, as clinic.metrics must (no cycle: a matter of load order)
        from screening.models import OperatorAlert

        gauge = GaugeMetricFamily("cadence_operator_alerts_open", "Open model-monitoring alerts", labels=["kind"])
        counts = dict(OperatorAlert.objects.filter(state=OperatorAlert.State.OPEN).values_list("kind").annotate(
            n=Count("pk")))
        for kind in OperatorAlert.Kind.values:
            gauge.add_metric([kind], counts.get(kind, 0))
        yield gauge
