import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.conf import settings as django_settings

from clinic.protocols import PASSAGES
from tests.conftest import require_service
from tests.integration.conftest import live_broker, postgres, redis_url  # noqa: F401  (for the real worker)
from tests.integration.processes import MAIN_QUEUES, start_worker, stop, worker_env
from tests.support.browser import chromium

AXE_VERSION = "4.14.1"
TOOLS = Path(django_settings.BASE_DIR) / "var" / "test-tools"
PASSAGE = PASSAGES["north_wind"].text


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _base_url_a_phone_can_open(settings):
    """Enrolment links name CADENCE_BASE_URL; outside DEBUG only an HTTPS address a phone can reach is accepted."""
    settings.CADENCE_BASE_URL = "https://cadence.example.org"


@pytest.fixture
def worker(postgres, live_broker, redis_url, settings, tmp_path):  # noqa: F811
    """A real Celery worker process on the test database, fed through Redis by the live server; like
    scripts/run.sh's main worker it serves every queue but "bulk" (the demo cohort)."""
    process = start_worker(worker_env(redis_url, settings), tmp_path / "worker.log", queues=MAIN_QUEUES)
    yield process
    stop(process)
    print((tmp_path / "worker.log").read_text()[-4000:])  # shown by pytest only when a test fails


@pytest.fixture(scope="session")
def fake_microphone_wav(tmp_path_factory) -> Path:
    """espeak-ng reading the passage, peak at half scale: what Chromium's fake microphone plays in a loop."""
    if shutil.which("espeak-ng") is None:
        require_service("espeak-ng", False, "apt-get install espeak-ng")
    folder = tmp_path_factory.mktemp("microphone")
    raw, out = folder / "raw.wav", folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en+m3", "-s", "170", "-w", str(raw), PASSAGE], check=True)
    samples, rate = sf.read(raw)
    samples = 0.5 * samples / np.max(np.abs(samples))
    sf.write(out, samples, rate, subtype="PCM_16")
    return out


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core from the npm registry, fetched once into var/ (never committed)."""
    script = TOOLS / f"axe-core-{AXE_VERSION}" / "axe.min.js"
    if not script.exists():
        require_service("npm", bool(shutil.which("npm")), "npm is needed to fetch axe-core for the browser tests")
        TOOLS.mkdir(parents=True, exist_ok=True)
        staging = TOOLS / f"npm-{os.getpid()}"  # parallel test processes each fetch into their own folder
        staging.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", f"axe-core@{AXE_VERSION}", "--pack-destination", str(staging)], check=True,
                       capture_output=True, timeout=120)
        with tarfile.open(staging / f"axe-core-{AXE_VERSION}.tgz") as archive:
            member = archive.getmember("package/axe.min.js")
            script.parent.mkdir(parents=True, exist_ok=True)
            partial = script.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(archive.extractfile(member).read())
            partial.replace(script)
        shutil.rmtree(staging, ignore_errors=True)
    return script


@pytest.fixture(scope="module")
def phone_browser(fake_microphone_wav):
    with chromium("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={fake_microphone_wav}",
                  "--autoplay-policy=no-user-gesture-required") as launched:
        yield launched
