"""Upload-path benchmark against a served instance (gunicorn, PostgreSQL, Redis broker).

Prints uploads/s and latency percentiles for 30-s WAV uploads under concurrency.
Target on a 2-core machine: >= 100 uploads/s at p95 < 250 ms at concurrency 8, processing asynchronous
(tasks are queued in Redis; no worker consumes them during the run).

    python benchmarks/bench_upload.py [--requests 600] [--concurrency 16] [--workers 3]
"""

import argparse
import base64
import http.client
import io
import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psycopg
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "cadence_bench"
PG = "postgres://postgres@127.0.0.1:5432"


def _env(port: int) -> dict:
    return {**os.environ, "DATABASE_URL": f"{PG}/{DB_NAME}", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
            "CADENCE_VAR_DIR": str(ROOT / "var" / "bench"), "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "benchmark-only-" + "k" * 50, "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "CADENCE_LOG_LEVEL": "WARNING", "DATABASE_CONN_MAX_AGE": "600",
            # One benchmark patient sends every upload: lift its per-patient throttle; audio is encrypted as in production.
            "CADENCE_UPLOAD_RATE": "1000000/hour", "CADENCE_AUDIO_KEYS": base64.b64encode(b"b" * 32).decode()}


def _prepare_database() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def _patient_token(env: dict) -> str:
    code = (
        "from clinic.models import CareTeam; from clinic.services import patient_create;"
        "t=CareTeam.objects.create(name='bench');"
        "print(patient_create(care_team=t, code='BENCH-1')[1])"
    )
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def _wav_30s() -> bytes:
    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(16000 * 30)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, samples, 16000, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def _multipart(wav: bytes, n: int) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    unique = wav[:-16] + n.to_bytes(16, "little")  # a distinct file per request (no dedup shortcut)
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"r{n}.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode()
    return head + unique + f"\r\n--{boundary}--\r\n".encode(), boundary


def _upload(port: int, token: str, body: bytes, boundary: str) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/api/v1/recordings/", body=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    env = _env(args.port)
    _prepare_database()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    token = _patient_token(env)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{args.port}",
         "--workers", str(args.workers), "--threads", "4", "--worker-class", "gthread", "--log-level", "warning"],
        cwd=ROOT, env=env)
    try:
        _wait_ready(args.port)
        wav = _wav_30s()
        bodies = [_multipart(wav, n) for n in range(args.requests)]
        _upload(args.port, token, *_multipart(wav, 10**9))  # warm-up
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(lambda b: _upload(args.port, token, *b), bodies))
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        import redis

        redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()  # the queued tasks had no worker
    _report(results, elapsed, args, len(wav))


def _wait_ready(port: int) -> None:
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def _report(results, elapsed: float, args, wav_bytes: int) -> None:
    statuses = [s for s, _ in results]
    latencies = sorted(t * 1000 for _, t in results)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    accepted = statuses.count(202)
    print(f"upload benchmark: {len(results)} uploads of 30-s WAV ({wav_bytes / 1e6:.2f} MB), "
          f"concurrency {args.concurrency}, gunicorn {args.workers} workers x 4 threads")
    print(f"  accepted (202): {accepted}   other statuses: {sorted(set(statuses) - {202}) or 'none'}")
    print(f"  throughput: {len(results) / elapsed:.1f} uploads/s")
    print(f"  latency ms: p50 {statistics.median(latencies):.0f}  p95 {p95:.0f}  max {latencies[-1]:.0f}")
    print(f"  target: >= 100 uploads/s at p95 < 250 ms -> {'MET' if len(results) / elapsed >= 100 and p95 < 250 else 'NOT MET'}")


if __name__ == "__main__":
    main()
