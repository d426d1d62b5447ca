"""Operator endpoints: ``/healthz`` (liveness), ``/readyz`` (dependencies), ``/metrics`` (Prometheus)."""

import hmac
import ipaddress
import logging
import os
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from clinic.metrics import PipelineCollector
from outreach.metrics import OutreachCollector
from screening.monitoring.metrics import OperatorAlertCollector

logger = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    from config.celery_app import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_storage() -> None:
    name = default_storage.save(f"readyz/{uuid.uuid4().hex}.probe", ContentFile(b"ok"))
    default_storage.delete(name)


_CHECKS = {"database": _check_database, "broker": _check_broker, "storage": _check_storage}


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and the recordings storage answer; 503 names what failed."""
    checks = {}
    for name, check in _CHECKS.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; the type is enough for the log
            logger.warning("readyz: %s unavailable (%s)", name, type(exc).__name__)
            checks[name] = "unavailable"
    failed = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "ok" if not failed else "unavailable", "checks": checks}
    if failed:
        body |= {"error": "not_ready", "detail": f"Not ready: {', '.join(failed)} unreachable."}
    return JsonResponse(body, status=503 if failed else 200)


class QueueCollector(Collector):
    """Messages waiting in each Celery queue (Redis LLEN), read at scrape time."""

    def collect(self):
        if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
            return
        from config.celery_app import app

        gauge = GaugeMetricFamily("cadence_queue_length", "Messages waiting in a Celery queue", labels=["queue"])
        names = {app.conf.task_default_queue, *(getattr(q, "name", q) for q in app.conf.task_queues or ())}
        try:
            with app.connection_for_read() as conn:
                client = conn.default_channel.client
                for name in sorted(str(n) for n in names):
                    gauge.add_metric([name], client.llen(name))
        except Exception as exc:
            logger.warning("metrics: broker unavailable for queue lengths (%s)", type(exc).__name__)
            return
        yield gauge


def _client_address(request: HttpRequest) -> str:
    """The client as the trusted proxies saw it; nothing when a proxy is configured but the chain is short
    (a request that bypassed the proxy, or one forwarded without the header, is not from an allowed network)."""
    proxies = settings.CADENCE_TRUSTED_PROXY_COUNT
    if not proxies:
        return request.META.get("REMOTE_ADDR", "")
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    return forwarded[-proxies] if len(forwarded) >= proxies else ""


def _allowed(request: HttpRequest) -> bool:
    token = settings.CADENCE_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    try:
        address = ipaddress.ip_address(_client_address(request))
    except ValueError:
        return False
    return any(address in network for network in settings.CADENCE_METRICS_ALLOWED_NETWORKS)


def _exposition() -> bytes:
    live = CollectorRegistry()
    live.register(PipelineCollector())
    live.register(QueueCollector())
    live.register(OperatorAlertCollector())
    live.register(OutreachCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        events = CollectorRegistry()
        MultiProcessCollector(events)
        return generate_latest(events) + generate_latest(live)
    return generate_latest(REGISTRY) + generate_latest(live)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition; a bearer token (CADENCE_METRICS_TOKEN) or an allowed network is required."""
    if not _allowed(request):
        return JsonResponse({"error": "forbidden", "detail": "Metrics need the metrics token or an allowed network."},
                            status=403)
    return HttpResponse(_exposition(), content_type=CONTENT_TYPE)
