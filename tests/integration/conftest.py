import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.conftest import require_service
from tests.integration.processes import free_port, stop, wait_until_listening


@pytest.fixture
def postgres(transactional_db):
    require_service("PostgreSQL", connection.vendor == "postgresql",
                    f"tests run on {connection.vendor}; set DATABASE_URL to a PostgreSQL database")
    return connection


def xdist_redis_url(url: str) -> str:
    """Under pytest-xdist each test process gets its own Redis database (base, base − 1, ...), as
    pytest-django gives each its own PostgreSQL database: a worker started by one process must never
    take the other's tasks, and a flush must not wipe the other's queues."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    base, _, db = url.rpartition("/")
    return f"{base}/{(int(db or 0) - int(worker[2:])) % 16}"


@pytest.fixture
def redis_url():
    import redis

    url = xdist_redis_url(os.environ.get("CADENCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        reachable, why = True, ""
    except redis.RedisError as exc:
        reachable, why = False, str(exc)
    require_service("Redis", reachable, why)
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def live_broker(redis_url, settings):
    from config.celery_app import app

    def reset_connections() -> None:
        # Earlier tests may have created the producer pool for the embedded broker.
        app._pool = None
        app.amqp._producer_pool = None

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(task_always_eager=False, broker_url=redis_url, broker_transport_options={})
    reset_connections()
    yield app
    app.conf.update(task_always_eager=True, broker_url=settings.CELERY_BROKER_URL,
                    broker_transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    reset_connections()


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        require_service("moto S3 server", False, str(exc))
    port = free_port()
    log = tmp_path_factory.mktemp("s3") / "moto.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_listening(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
