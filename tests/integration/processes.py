"""Real processes for integration tests: Celery workers and web servers on the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

from clinic.models import Recording

ROOT = Path(__file__).resolve().parents[2]


def worker_env(redis_url: str, settings) -> dict:
    """The worker process sees the test database, the Redis broker and the test's private storage."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CADENCE_PRIVATE_MEDIA_ROOT": settings.STORAGES["default"]["OPTIONS"]["location"],
        "CADENCE_AUDIO_KEYS": settings.CADENCE_AUDIO_KEYS,
        "OMP_NUM_THREADS": "1",
    }


#: What scripts/run.sh's main worker serves: every queue but "bulk" (the demo cohort has its own worker).
MAIN_QUEUES = ("extraction", "screening", "reports", "celery")


def start_worker(env: dict, log_path: Path, *, queues: tuple[str, ...] | None = None) -> subprocess.Popen:
    """A Celery worker process (one child); ``queues`` None serves them all."""
    only = ["-Q", ",".join(queues)] if queues else []
    with open(log_path, "a") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "1", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", *only],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )


def stop(process: subprocess.Popen) -> None:
    """Stop a worker or web process and its children (SIGTERM, then SIGKILL)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def wait_final(recording_id: int, timeout_s: float = 120) -> Recording:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        recording = Recording.objects.get(pk=recording_id)
        if recording.status in ("done", "rejected", "failed"):
            return recording
        time.sleep(0.5)
    raise AssertionError(f"recording {recording_id} still {recording.status} after {timeout_s} s")


def wait_for(predicate, what: str = "the condition", timeout_s: float = 60.0, interval_s: float = 0.05):
    """``predicate()``'s first truthy value, polled every ``interval_s``; fails saying ``what`` was not seen."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"{what} within {timeout_s} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the process on port {port} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port} after {timeout_s} s")


def start_web(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    """A gunicorn web process, as in production (one process, a few threads)."""
    with open(log_path, "a") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "4", "--worker-class", "gthread"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    wait_until_listening(port, process)
    return process
