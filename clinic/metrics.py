"""Prometheus metrics of the clinical pipeline.

Two kinds, so a scrape of the web process sees what the workers did:

- Counts and states that live in the database (uploads, recordings by status and
  rejection reason, processing time of finished recordings) are computed at scrape time
  by :class:`PipelineCollector`, so every process reports the same numbers.
- Events that leave no row (task failures and retries, screening durations) are
  prometheus-client counters/histograms; with ``PROMETHEUS_MULTIPROC_DIR`` set (see
  docs/operations.md) every process writes them to that directory and ``/metrics``
  aggregates them.

No label ever carries a patient code, a recording id or free text.
"""

from collections.abc import Iterator

from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum
from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector

__all__ = ["ENQUEUE_FAILURES", "PipelineCollector", "SCREENING_SECONDS", "TASK_FAILURES", "TASK_RETRIES",
           "THROTTLE_CACHE_FAILURES", "rejection_code"]

TASK_FAILURES = Counter("cadence_task_failures", "Celery tasks that raised", ["task"])
TASK_RETRIES = Counter("cadence_task_retries", "Celery task retries scheduled", ["task"])
ENQUEUE_FAILURES = Counter("cadence_enqueue_failures", "Recordings stored but not handed to the broker (it was "
                           "unreachable); workers queue them again")
THROTTLE_CACHE_FAILURES = Counter("cadence_throttle_cache_failures", "Throttle decisions taken on the process's "
                                  "local count because the shared cache was unreachable", ["scope"])
SCREENING_SECONDS = Histogram(
    "cadence_screening_seconds", "Wall time of a screening run", ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)

#: Rejection reasons are sentences with numbers in them; the metric label is a stable code.
_REASON_CODES = (
    ("no speech", "no_speech"),
    ("clipped", "clipping"),
    ("too quiet", "too_quiet"),
    ("s of speech", "too_little_speech"),
    ("too noisy", "too_noisy"),
    ("too short", "too_short"),
    ("too long", "too_long"),
    ("cut short", "truncated"),
    ("decode", "undecodable"),
)


def rejection_code(reason: str) -> str:
    """A stable, low-cardinality code for a human-readable rejection reason."""
    lowered = reason.lower()
    return next((code for needle, code in _REASON_CODES if needle in lowered), "other")


class PipelineCollector(Collector):
    """Gauges and counters derived from the database at scrape time (shared by all processes)."""

    def collect(self) -> Iterator:
        # this module is imported (config/celery_app.py) before Django's apps are ready
        from clinic.models import Recording

        recordings = Recording.objects.all()
        uploads = CounterMetricFamily("cadence_uploads", "Recordings accepted by the upload API")
        uploads.add_metric([], recordings.count())
        yield uploads

        by_status = GaugeMetricFamily("cadence_recordings", "Recordings by processing status", labels=["status"])
        counts = dict(recordings.values_list("status").annotate(n=Count("pk")))
        for status in Recording.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status

        rejected = GaugeMetricFamily("cadence_recordings_rejected", "Rejected recordings by reason",
                                     labels=["reason"])
        reasons: dict[str, int] = {}
        for text, n in recordings.filter(status=Recording.Status.REJECTED).values_list("status_reason").annotate(
                n=Count("pk")):
            reasons[rejection_code(text)] = reasons.get(rejection_code(text), 0) + n
        for code, n in sorted(reasons.items()):
            rejected.add_metric([code], n)
        yield rejected

        finished = recordings.filter(finished_at__isnull=False, processing_started_at__isnull=False)
        totals = finished.aggregate(
            n=Count("pk"), s=Sum(ExpressionWrapper(F("finished_at") - F("processing_started_at"),
                                                   output_field=DurationField())))
        processing = SummaryMetricFamily("cadence_processing_seconds",
                                         "Processing time of finished recordings (last attempt)")
        processing.add_metric([], count_value=totals["n"] or 0, sum_value=totals["s"].total_seconds() if totals["s"] else 0.0)
        yield processing

        waiting = GaugeMetricFamily("cadence_recordings_awaiting_broker",
                                    "Stored recordings whose hand-off to the broker failed, waiting to be queued again")
        waiting.add_metric([], recordings.filter(status=Recording.Status.RECEIVED,
                                                 enqueue_failed_at__isnull=False).count())
        yield waiting

        retried = CounterMetricFamily("cadence_recording_attempts_extra",
                                      "Processing attempts beyond the first, over all recordings")
        retried.add_metric([], recordings.filter(attempts__gt=1).aggregate(s=Sum(F("attempts") - 1))["s"] or 0)
        yield retried
