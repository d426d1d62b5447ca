"""Bulk export benchmark: one care team with 1 million feature rows in PostgreSQL.

Seeds a database ``cadence_bench_export`` (COPY, so seeding takes seconds, not minutes) with
one care team of N patients x M recordings, each with a feature set (the 20 contract
features), a risk score, and a PHQ-9 every ten recordings. Then, in a fresh process, builds
the team's bulk export (FHIR NDJSON + CSV, encrypted at rest) exactly as the Celery task does
and prints the wall time, rows per second, output sizes and the process's peak RSS (VmHWM)
next to its RSS before the build: memory must not grow with the number of rows.

Target: 1,000,000 feature rows exported with a peak RSS under 300 MB.

    python benchmarks/bench_export.py [--patients 20000] [--recordings 50]
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB = "cadence_bench_export"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"


def _env(media: str) -> dict:
    return {**os.environ, "DATABASE_URL": DB_URL, "DJANGO_SETTINGS_MODULE": "config.settings",
            "CADENCE_LOG_LEVEL": "WARNING", "CADENCE_PRIVATE_MEDIA_ROOT": media,
            "CADENCE_AUDIO_KEYS": os.environ.get("CADENCE_AUDIO_KEYS") or base64.b64encode(os.urandom(32)).decode()}


def _rss_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _seed(n_patients: int, n_recordings: int) -> None:
    from voice_features.registry import FEATURE_NAMES

    rng = np.random.default_rng(0)
    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB}")
        conn.execute(f"CREATE DATABASE {DB}")
    env = _env(tempfile.mkdtemp())
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    with psycopg.connect(DB_URL) as conn:
        team = conn.execute("INSERT INTO clinic_careteam (name) VALUES ('bench') RETURNING id").fetchone()[0]
        user = conn.execute("INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, "
                            "is_staff, is_active, date_joined) VALUES ('!', false, 'bench', '', '', '', false, true, "
                            "now()) RETURNING id").fetchone()[0]
        conn.execute("INSERT INTO clinic_careteam_members (careteam_id, user_id) VALUES (%s, %s)", (team, user))
        with conn.cursor().copy("COPY clinic_patient (id, code, care_team_id, enrolled_on, sex, language, timezone, "
                                "active, consent_version, created_at) FROM STDIN") as copy:
            for p in range(1, n_patients + 1):
                copy.write_row((p, f"B{p:06d}", team, "2026-01-01", "female", "en", "UTC", True, "", "2026-01-01"))
        rid = 0
        with conn.cursor().copy("COPY clinic_recording (id, patient_id, file, sha256, size_bytes, original_filename, "
                                "container, codec, duration_s, recorded_at, uploaded_at, status, status_reason, "
                                "attempts, task, task_detail) FROM STDIN") as copy:
            for p in range(1, n_patients + 1):
                for k in range(n_recordings):
                    rid += 1
                    at = f"2026-{1 + k // 28 % 12:02d}-{1 + k % 28:02d}T10:00:00Z"
                    copy.write_row((rid, p, "", f"{rid:064d}", 960044, "", "wav", "pcm_s16le", 30.0, at, at, "done", "", 1,
                                    "free_speech", ""))
        with conn.cursor().copy("COPY voice_features_featureset (recording_id, version, features, quality, "
                                "computed_at) FROM STDIN") as copy:
            for r in range(1, rid + 1):
                values = rng.normal(1.0, 0.1, len(FEATURE_NAMES))
                copy.write_row((r, "bench", json.dumps(dict(zip(FEATURE_NAMES, values.tolist()))), '{"accepted": true}',
                                "2026-01-01"))
        with conn.cursor().copy("COPY screening_riskscore (patient_id, recording_id, scope, at, risk_model_version, "
                                "calibrated, predicted_phq9, predicted_phq9_low, predicted_phq9_high, prob_ge10, "
                                "voice_deviation, n_recordings, deviations, drivers, scored_at) FROM STDIN") as copy:
            for r in range(1, rid + 1):
                y = float(rng.uniform(0, 27))
                copy.write_row(((r - 1) // n_recordings + 1, r, "recording", "2026-01-01T10:00:00Z", "bench", True, y,
                                max(0, y - 4), min(27, y + 4), 0.5, 0.1, 1, "{}", "[]", "2026-01-01"))
        with conn.cursor().copy("COPY clinic_phq9response (patient_id, item1, item2, item3, item4, item5, item6, item7, "
                                "item8, item9, total, answered_at, source, created_at) FROM STDIN") as copy:
            for p in range(1, n_patients + 1):
                for _ in range(0, n_recordings, 10):
                    copy.write_row((p, 1, 1, 1, 1, 1, 1, 1, 1, 0, 8, "2026-01-01T11:00:00Z", "self_report", "2026-01-01"))
        conn.execute("INSERT INTO clinic_bulkexport (care_team_id, requested_by_id, requested_at, status, progress, "
                     "error, files) VALUES (%s, %s, now(), 'queued', 0, '', '{}')", (team, user))
        conn.execute("ANALYZE")
    print(f"seeded {n_patients} patients x {n_recordings} recordings = {rid} feature rows, {rid} scores", flush=True)


def _build() -> None:
    """Runs in a fresh process: the figures are this process's own."""
    import django

    django.setup()
    from clinic.models import BulkExport
    from screening.export import bulk_export_build

    export = BulkExport.objects.get()
    rss_before = _rss_mb("VmRSS")
    started = time.perf_counter()
    export = bulk_export_build(export_id=export.pk)
    seconds = time.perf_counter() - started
    from django.core.files.storage import default_storage

    print(f"export {export.status} in {seconds:.1f} s; RSS before {rss_before:.0f} MB, peak (VmHWM) "
          f"{_rss_mb('VmHWM'):.0f} MB")
    for name, entry in export.files.items():
        size = default_storage.size(entry["name"]) / 1e6
        print(f"  {name:30s} {entry['count']:>9d} rows  {size:8.1f} MB encrypted")
    rows = sum(entry["count"] for entry in export.files.values())
    print(f"  {rows} rows written, {rows / seconds:,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=20000)
    parser.add_argument("--recordings", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        _build()
        return
    started = time.perf_counter()
    _seed(args.patients, args.recordings)
    print(f"seeding took {time.perf_counter() - started:.0f} s", flush=True)
    with tempfile.TemporaryDirectory() as media:
        subprocess.run([sys.executable, __file__, "--build-only"], cwd=ROOT, env=_env(media), check=True)
    if not args.keep:
        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    main()
