"""The fixed cast: Alice owns team North, Bob is on her team, Charlie (team South) must see nothing."""

import base64
import io
import os

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
TEST_AUDIO_KEY = base64.b64encode(os.urandom(32)).decode()

#: Markers of test files that take long (real workers, browsers, trained models): they are handed out first.
HEAVY_MARKERS = ("slow", "integration", "browser")


def pytest_collection_modifyitems(config, items):
    """Heavy files first, the rest in their usual order (a stable sort). pytest.ini runs xdist with
    ``--dist loadfile --no-loadscope-reorder``: files are handed out in this order, so the long ones start at
    once and the many short ones fill the gaps at the end, instead of a long file starting last on one worker
    while the other has nothing left to do."""
    heavy = {item.path for item in items if any(item.get_closest_marker(name) for name in HEAVY_MARKERS)}
    items.sort(key=lambda item: item.path not in heavy)


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {
            "location": str(tmp_path / "private"), "file_permissions_mode": 0o600, "directory_permissions_mode": 0o700}}}
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # A production hasher costs about 0.4 s a password on this machine, and every cast has three users; no test
    # checks the hasher (subprocesses such as check --deploy run with the real settings).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CADENCE_AUDIO_KEYS, settings.CADENCE_AUDIO_DEV_KEY_FILE = TEST_AUDIO_KEY, None
    settings.CADENCE_ERASURE_LEDGER = tmp_path / "erasure-ledger.jsonl"
    from config.celery_app import app

    app.conf.task_always_eager = True


@pytest.fixture
def cast(db):
    from django.contrib.auth.models import User

    from clinic.models import CareTeam
    from clinic.services import clinician_token_issue, patient_create

    north, south = CareTeam.objects.create(name="North"), CareTeam.objects.create(name="South")
    alice = User.objects.create_user("alice", password="alice-password-1")
    bob = User.objects.create_user("bob", password="bob-password-1")
    charlie = User.objects.create_user("charlie", password="charlie-password-1")
    north.members.add(alice, bob)
    south.members.add(charlie)
    patient_a, key_a = patient_create(care_team=north, code="N-001", sex="female", birth_year=1980)
    patient_b, key_b = patient_create(care_team=south, code="S-001", sex="male", birth_year=1990)

    class Cast:
        pass

    c = Cast()
    c.north, c.south, c.alice, c.bob, c.charlie = north, south, alice, bob, charlie
    c.patient_a, c.patient_b, c.key_a, c.key_b = patient_a, patient_b, key_a, key_b
    c.alice_token = clinician_token_issue(user=alice)
    c.bob_token = clinician_token_issue(user=bob)
    c.charlie_token = clinician_token_issue(user=charlie)
    return c


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    def client(token: str | None = None) -> APIClient:
        c = APIClient()
        if token:
            c.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return c

    return client


def tone_wav(*, seconds: float = 5.0, sr: int = 16000, channels: int = 1, subtype: str = "PCM_16",
             fmt: str = "WAV", seed: int = 0) -> bytes:
    """A voiced-like harmonic signal with syllable-rate amplitude modulation; seed makes files distinct."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.3 * t) + rng.uniform(0, 5)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voice = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2)
    voice = 0.3 * voice / max(float(np.max(np.abs(voice), initial=0.0)), 1e-9)
    data = np.stack([voice] * channels, axis=1) if channels > 1 else voice
    buf = io.BytesIO()
    sf.write(buf, data, sr, subtype=subtype, format=fmt)
    return buf.getvalue()


def speech_wav(*, seed: int = 0, f0_hz: float | None = None, sr: int = 16000) -> bytes:
    """Speech-like audio from the library's synthesiser (runs of syllables and pauses)."""
    from voice_features.synth import synth_speech

    kwargs = {"seed": seed, "run_durations_s": (2.0, 2.4, 1.8, 2.2), "pause_durations_s": (0.6, 0.8, 0.5)}
    if f0_hz is not None:
        kwargs["f0_hz"] = f0_hz
    speech = synth_speech(**kwargs)
    buf = io.BytesIO()
    sf.write(buf, speech.samples, speech.sample_rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def require_service(name: str, ok: bool, why: str) -> None:
    """Integration tests fail, never skip, when CI=true and a real service is missing."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is required in CI: {why}")
    pytest.skip(f"{name} not available: {why}")
