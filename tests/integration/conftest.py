import os

import pytest
from django.db import connection

from tests.conftest import require_service


@pytest.fixture
def postgres(transactional_db):
    require_service("PostgreSQL", connection.vendor == "postgresql",
                    f"tests run on {connection.vendor}; set DATABASE_URL to a PostgreSQL database")
    return connection


@pytest.fixture
def redis_url():
    import redis

    url = os.environ.get("CADENCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
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
