"""Logins and abuse: lockout per account and per address (in the database), throttles in the shared cache."""

import io
import struct

import pytest
from django.test import Client

from tests.conftest import tone_wav

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _settings(settings, monkeypatch):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        "login": "1000/min", "upload": "60/hour"}}
    monkeypatch.setattr("clinic.processing.tasks.process_recording.delay", lambda recording_id: None)


def _token(client, username, password, ip="10.0.0.1"):
    return client.post(TOKEN_URL, {"username": username, "password": password}, content_type="application/json",
                       REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_the_api_locks_an_account_at_one_address_after_ten_failures_with_429_and_retry_after(cast, settings):
    client = Client()
    statuses = [_token(client, "alice", f"wrong-{n}", ip="10.0.0.1").status_code for n in range(1, 10)]
    assert statuses == [401] * 9
    tenth = _token(client, "alice", "wrong-10", ip="10.0.0.1")
    eleventh = _token(client, "alice", "wrong-11", ip="10.0.0.1")
    for response in (tenth, eleventh):
        assert response.status_code == 429
        assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
        assert response.json()["error"] == "locked_out" and "Try again in 15 minutes" in response.json()["detail"]
    # the right password does not open the account at that address; another account is unaffected
    assert _token(client, "alice", "alice-password-1", ip="10.0.0.1").status_code == 429
    assert _token(client, "bob", "bob-password-1", ip="10.9.9.9").status_code == 200


@pytest.mark.django_db
def test_it_lets_the_owner_in_from_another_address_while_a_stranger_guesses(cast):
    """As probed: a stranger's failures from many addresses kept the owner out everywhere. Now they do not."""
    client = Client()
    for n in range(12):
        assert _token(client, "alice", f"guess-{n}", ip=f"198.51.100.{n % 4}").status_code == 401
    assert _token(client, "alice", "alice-password-1", ip="10.7.7.7").status_code == 200


@pytest.mark.django_db
def test_it_locks_an_account_without_a_second_factor_only_after_far_more_failures(cast, settings):
    settings.CADENCE_LOGIN_ACCOUNT_FAILURE_LIMIT = 15  # 100 by default: the same rule, fewer requests
    client = Client()
    for n in range(settings.CADENCE_LOGIN_ACCOUNT_FAILURE_LIMIT):
        _token(client, "bob", "guess", ip=f"203.0.113.{n // 5}")
    locked = _token(client, "bob", "bob-password-1", ip="10.8.8.8")
    assert locked.status_code == 429 and "reset your password" in locked.json()["detail"]


@pytest.mark.django_db
def test_an_account_with_a_second_factor_is_never_locked_by_its_username_alone(cast, settings):
    settings.CADENCE_LOGIN_ACCOUNT_FAILURE_LIMIT = 15  # 100 by default: the same rule, fewer requests
    import pyotp
    from allauth.mfa.totp.internal.auth import TOTP

    secret = pyotp.random_base32()
    TOTP.activate(cast.bob, secret)
    client = Client()
    for n in range(settings.CADENCE_LOGIN_ACCOUNT_FAILURE_LIMIT + 5):
        _token(client, "bob", "guess", ip=f"203.0.113.{n // 5}")
    response = client.post(TOKEN_URL, {"username": "bob", "password": "bob-password-1",
                                       "otp": pyotp.TOTP(secret).now()}, content_type="application/json",
                           REMOTE_ADDR="10.8.8.8")
    assert response.status_code == 200
    from axes.models import AccessAttempt

    assert not AccessAttempt.objects.filter(username="bob").exists()  # the second factor opened the account


@pytest.mark.django_db
def test_a_completed_password_reset_opens_a_locked_account(cast, settings, mailoutbox):
    settings.CADENCE_LOGIN_ACCOUNT_FAILURE_LIMIT = 15  # 100 by default: the same rule, fewer requests
    import re

    cast.bob.email = "bob@example.org"
    cast.bob.save()
    client = Client()
    for n in range(settings.CADENCE_LOGIN_ACCOUNT_FAILURE_LIMIT):
        _token(client, "bob", "guess", ip=f"203.0.113.{n // 5}")
    assert _token(client, "bob", "bob-password-1", ip="10.8.8.8").status_code == 429
    client.post("/password-reset/", {"email": "bob@example.org"})
    link = re.search(r"http://\S+/password/set/\S+/", mailoutbox[0].body).group(0)
    page = client.get(link.split("testserver")[-1], follow=True)
    form_url = page.redirect_chain[-1][0]
    done = client.post(form_url, {"new_password1": "a-new-password-2027", "new_password2": "a-new-password-2027"})
    assert done.status_code == 302
    assert _token(client, "bob", "a-new-password-2027", ip="10.8.8.8").status_code == 200


@pytest.mark.django_db
def test_an_address_is_locked_whatever_usernames_it_tries(cast, settings):
    settings.CADENCE_LOGIN_ADDRESS_FAILURE_LIMIT = 12  # 30 by default
    client = Client()
    for n in range(settings.CADENCE_LOGIN_ADDRESS_FAILURE_LIMIT):
        _token(client, f"user{n}", "guess", ip="192.0.2.7")
    assert _token(client, "alice", "alice-password-1", ip="192.0.2.7").status_code == 429
    assert _token(client, "alice", "alice-password-1", ip="192.0.2.8").status_code == 200


@pytest.mark.django_db
def test_the_dashboard_login_shows_a_readable_lockout_page(cast):
    client = Client()
    for n in range(9):
        page = client.post("/login/", {"username": "bob", "password": f"nope-{n}"})
        assert page.status_code == 200 and b"did not match" in page.content
    for _ in range(2):
        page = client.post("/login/", {"username": "bob", "password": "nope"})
        assert page.status_code == 429 and page["Retry-After"] == "900"
        assert b"Too many failed logins" in page.content and b"/password-reset/" in page.content
    assert client.post("/login/", {"username": "bob", "password": "bob-password-1"}).status_code == 429


@pytest.mark.django_db
def test_the_admin_login_is_locked_too(cast):
    """The admin has no sign-in form of its own: it sends to the dashboard's, with its lockout and second factor."""
    from django.contrib.auth.models import User

    User.objects.create_superuser("root", password="root-password-1")
    client = Client()
    assert client.get("/admin/login/")["Location"].startswith("/login/?next=")
    assert client.post("/admin/login/", {"username": "root", "password": "root-password-1"}).status_code == 302
    for _ in range(10):
        client.post("/login/?next=/admin/", {"username": "root", "password": "x"})
    response = client.post("/login/?next=/admin/", {"username": "root", "password": "root-password-1"})
    assert response.status_code == 429 and b"Too many failed logins" in response.content


@pytest.mark.django_db
def test_a_successful_login_clears_the_failures(cast):
    client = Client()
    for _ in range(8):
        _token(client, "alice", "wrong", ip="10.1.1.1")
    assert _token(client, "alice", "alice-password-1", ip="10.1.1.1").status_code == 200
    for _ in range(8):
        assert _token(client, "alice", "wrong", ip="10.1.1.1").status_code == 401


@pytest.mark.django_db
def test_signing_in_to_ones_own_account_does_not_wipe_the_guesses_against_another(cast):
    client = Client()
    for _ in range(9):
        _token(client, "alice", "guess", ip="10.6.6.6")
    assert _token(client, "bob", "bob-password-1", ip="10.6.6.6").status_code == 200
    assert _token(client, "alice", "guess", ip="10.6.6.6").status_code == 429


@pytest.mark.django_db
def test_token_requests_are_throttled_per_address_with_retry_after(cast, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        "login": "3/min", "upload": "60/hour"}}
    client = Client()
    assert [_token(client, "alice", "alice-password-1", ip="10.2.2.2").status_code for _ in range(3)] == [200] * 3
    throttled = _token(client, "alice", "alice-password-1", ip="10.2.2.2")
    assert throttled.status_code == 429 and 0 < int(throttled["Retry-After"]) <= 60
    assert throttled.json()["error"] == "throttled"
    assert _token(client, "alice", "alice-password-1", ip="10.2.2.3").status_code == 200


@pytest.mark.django_db
def test_uploads_are_throttled_per_patient(cast, api, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        "login": "1000/min", "upload": "2/hour"}}
    statuses = [api(cast.key_a).post("/api/v1/recordings/", {"audio": io.BytesIO(tone_wav(seed=n))},
                                     format="multipart").status_code for n in range(3)]
    assert statuses == [202, 202, 429]
    throttled = api(cast.key_a).post("/api/v1/recordings/", {"audio": io.BytesIO(tone_wav(seed=9))},
                                     format="multipart")
    assert throttled.json()["error"] == "throttled" and int(throttled["Retry-After"]) > 0
    other = api(cast.key_b).post("/api/v1/recordings/", {"audio": io.BytesIO(tone_wav(seed=3))}, format="multipart")
    assert other.status_code == 202
    assert api(cast.alice_token).get("/api/v1/recordings/").status_code == 200  # reads are not upload-throttled


def test_the_cache_is_redis_when_configured_and_the_database_otherwise(monkeypatch):
    import runpy

    for name in ("CADENCE_CACHE_URL", "CELERY_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    assert runpy.run_path("config/settings.py")["CACHES"]["default"]["BACKEND"].endswith("db.DatabaseCache")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    cache = runpy.run_path("config/settings.py")["CACHES"]["default"]
    assert cache["BACKEND"].endswith("redis.RedisCache") and cache["LOCATION"] == "redis://127.0.0.1:6379/0"
    monkeypatch.setenv("CADENCE_CACHE_URL", "redis://cache:6379/2")
    assert runpy.run_path("config/settings.py")["CACHES"]["default"]["LOCATION"] == "redis://cache:6379/2"


def _wav_of_empty_chunks(n_chunks: int) -> bytes:
    wav = tone_wav(seconds=4.0)
    fmt_end = 12 + 8 + struct.unpack("<I", wav[16:20])[0]
    body = wav[12:fmt_end] + b"junk\0\0\0\0" * n_chunks + wav[fmt_end:]
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


class _CountingReader(io.BytesIO):
    """A file that counts the bytes read from it."""

    bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer):
        n = super().readinto(buffer)
        self.bytes_read += n or 0
        return n


def test_a_wav_of_millions_of_empty_chunks_is_refused_at_once():
    from voice_features.audio import probe_audio
    from voice_features.errors import VoiceFeaturesError

    bad = _CountingReader(_wav_of_empty_chunks(34 * 1024 * 1024 // 8))  # 34 MB, as in the report (64 s of FFmpeg)
    with pytest.raises(VoiceFeaturesError, match="more than 64 chunks") as caught:
        probe_audio(bad)
    assert caught.value.code == "corrupt"
    assert bad.bytes_read < 64 * 1024  # refused from its first chunks, not after reading the file
    assert probe_audio(io.BytesIO(_wav_of_empty_chunks(10))).duration_s == pytest.approx(4.0, abs=0.01)


@pytest.mark.django_db
def test_the_upload_of_a_chunk_bomb_is_a_readable_400(cast, api):
    bad = _wav_of_empty_chunks(200_000)
    response = api(cast.key_a).post("/api/v1/recordings/", {"audio": io.BytesIO(bad)}, format="multipart")
    assert response.status_code == 400 and response.json()["error"] == "corrupt"
    assert "more than 64 chunks" in response.json()["detail"]


@pytest.mark.django_db
def test_password_reset_is_throttled_per_address_and_per_recipient(cast, settings, mailoutbox):
    settings.CADENCE_PASSWORD_RESET_RATE_ADDRESS, settings.CADENCE_PASSWORD_RESET_RATE_RECIPIENT = "4/hour", "2/hour"
    cast.alice.email, cast.bob.email = "alice@example.org", "bob@example.org"
    cast.alice.save(), cast.bob.save()
    client = Client()
    pages = [client.post("/password-reset/", {"email": "alice@example.org"}, REMOTE_ADDR="10.3.3.3")
             for _ in range(3)]
    assert [p.status_code for p in pages] == [302, 302, 302]  # the third looks the same ...
    assert len(mailoutbox) == 2  # ... but sends nothing: two per recipient and hour
    assert client.post("/password-reset/", {"email": "bob@example.org"}, REMOTE_ADDR="10.3.3.3").status_code == 302
    throttled = client.post("/password-reset/", {"email": "bob@example.org"}, REMOTE_ADDR="10.3.3.3")
    assert throttled.status_code == 429 and 0 < int(throttled["Retry-After"]) <= 3600
    assert b"Too many password-reset requests" in throttled.content
    assert len(mailoutbox) == 3
    assert client.post("/password-reset/", {"email": "bob@example.org"}, REMOTE_ADDR="10.4.4.4").status_code == 302
    assert len(mailoutbox) == 4


def test_the_console_mail_backend_is_refused_without_debug(settings):
    from django.core.exceptions import ImproperlyConfigured

    from clinic.checks import email_backend_check, startup_checks_raise

    settings.DEBUG, settings.CADENCE_ALLOW_CONSOLE_EMAIL = False, False
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    [error] = email_backend_check(None)
    assert error.id == "clinic.E003" and "password-reset" in error.msg and "EMAIL_HOST" in error.hint
    with pytest.raises(ImproperlyConfigured, match="written to the log"):
        startup_checks_raise()
    settings.CADENCE_ALLOW_CONSOLE_EMAIL = True
    assert email_backend_check(None) == []
    settings.CADENCE_ALLOW_CONSOLE_EMAIL, settings.DEBUG = False, True
    assert email_backend_check(None) == []
    settings.DEBUG, settings.EMAIL_BACKEND = False, "django.core.mail.backends.smtp.EmailBackend"
    assert email_backend_check(None) == []

