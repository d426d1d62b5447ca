"""With Redis configured, API throttle counts live in Redis, where every gunicorn process sees them."""

import pytest
import redis
from django.test import Client

pytestmark = pytest.mark.integration


@pytest.mark.django_db
def test_throttle_counts_are_kept_in_redis(cast, redis_url, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_url, "KEY_PREFIX": "cadence"}}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        "login": "2/min", "upload": "60/hour"}}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cast.alice.set_password("alice-password-1")
    cast.alice.save()

    def token():
        return Client().post("/api/v1/auth/token/", {"username": "alice", "password": "alice-password-1"},
                             content_type="application/json", REMOTE_ADDR="203.0.113.5")

    assert [token().status_code for _ in range(2)] == [200, 200]
    keys = redis.Redis.from_url(redis_url).keys("cadence:*throttle_login_203.0.113.5")
    assert len(keys) == 1  # the count is in Redis, not in this process
    third = token()
    assert third.status_code == 429 and int(third["Retry-After"]) > 0
