"""Triage page server time for a care team of 1,000 patients.

    python benchmarks/bench_triage.py [--db sqlite|postgres] [--patients 1000] [--runs 30]

Builds (bulk_create) a team of patients, each with recordings every 3 days for six weeks,
a risk score per processed recording, PHQ-9s every two weeks and open alerts for some,
in a throwaway database: a temporary SQLite file, or the PostgreSQL database
``cadence_bench_triage`` at postgres://postgres@127.0.0.1:5432 (dropped and re-created).
Then renders the triage page in process with Django's test client (no network: middleware,
views, queries and templates) and prints the median and p95 server time and the number
of queries. Issue target: under 300 ms for 1,000 patients.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432"
PG_DB = "cadence_bench_triage"


def _configure(db: str, tmp: str) -> None:
    if db == "postgres":
        import psycopg

        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        os.environ["DATABASE_URL"] = f"{PG}/{PG_DB}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench_triage.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CADENCE_VAR_DIR"] = tmp
    os.makedirs(f"{tmp}/static", exist_ok=True)  # whitenoise warns about a missing STATIC_ROOT
    os.environ["CADENCE_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # As in production: no DEBUG query logging, and no test-runner template instrumentation.
    settings.DEBUG = False
    call_command("migrate", verbosity=0)


def _build(n_patients: int, *, weeks: int = 6, seed: int = 0):
    from django.contrib.auth.models import User
    from django.utils import timezone

    from clinic.models import CareTeam, Patient, Phq9Response, Recording
    from screening.models import Alert, RiskScore

    rng = np.random.default_rng(seed)
    now = timezone.now()
    team = CareTeam.objects.create(name="Bench")
    other = CareTeam.objects.create(name="Elsewhere")
    user = User.objects.create_user("bench", password="bench-password-1")
    team.members.add(user)
    patients = Patient.objects.bulk_create(
        [Patient(code=f"B-{k:04d}", care_team=team, enrolled_on=(now - timedelta(weeks=weeks)).date())
         for k in range(n_patients)]
        + [Patient(code=f"X-{k:04d}", care_team=other, enrolled_on=now.date()) for k in range(n_patients // 10)])
    recordings, levels = [], []
    for p in patients:
        start, slope = rng.uniform(2, 14), rng.normal(0, 1)
        last = 3 * int(rng.integers(0, 5))  # some patients stopped recording a while ago
        for day in range(weeks * 7, last - 1, -3):
            status = rng.choice(["done", "done", "done", "done", "done", "done", "rejected", "failed"])
            recordings.append(Recording(
                patient=p, file=f"recordings/{p.code}/{day}.wav", sha256=f"{p.pk:032d}{day:032d}", size_bytes=160000,
                container="wav", recorded_at=now - timedelta(days=day), status=status, attempts=1,
                status_reason="too little speech" if status == "rejected" else ""))
            levels.append(float(np.clip(start + slope * (weeks * 7 - day) / 7, 0, 27)))
    Recording.objects.bulk_create(recordings, batch_size=2000)
    scores = []
    for r, level in zip(recordings, levels, strict=True):
        if r.status == "done":
            pred = float(np.clip(level + rng.normal(0, 1.5), 0, 27))
            scores.append(RiskScore(patient=r.patient, recording=r, scope="recording", at=r.recorded_at,
                                    risk_model_version="bench", calibrated=True, predicted_phq9=pred,
                                    predicted_phq9_low=max(0, pred - 4), predicted_phq9_high=min(27, pred + 4),
                                    prob_ge10=float(1 / (1 + np.exp(-(pred - 10) / 2))), drivers=[]))
    RiskScore.objects.bulk_create(scores, batch_size=2000)
    phq9 = []
    for p in patients:
        for week in range(0, weeks, 2):
            items = [int(v) for v in rng.integers(0, 3, size=9)]
            phq9.append(Phq9Response(patient=p, answered_at=now - timedelta(weeks=week), source="self_report",
                                     total=sum(items), **{f"item{n}": v for n, v in enumerate(items, start=1)}))
    Phq9Response.objects.bulk_create(phq9, batch_size=2000)
    kinds = [("risk_threshold", 2), ("phq9_rise", 2), ("overdue", 3), ("self_harm", 1)]
    alerts = [Alert(patient=p, kind=kinds[k % 4][0], priority=kinds[k % 4][1], message="bench", episode_key=str(k),
                    state="open" if k % 3 else "acknowledged")
              for k, p in enumerate(patients) if rng.random() < 0.3]
    Alert.objects.bulk_create(alerts, batch_size=2000)
    return user, {"patients": n_patients, "other_team_patients": len(patients) - n_patients, "recordings": len(recordings), "scores": len(scores),
                  "phq9": len(phq9), "alerts": len(alerts)}


class _QueryCounter:
    """Counts every statement the connection executes (works with DEBUG off)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _measure(client, url: str, runs: int) -> dict:
    from django.db import connection

    counter = _QueryCounter()
    with connection.execute_wrapper(counter):
        first = client.get(url)
    assert first.status_code == 200, first.status_code
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    times.sort()
    return {"url": url, "runs": runs, "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
            "max_ms": round(times[-1], 1), "queries": counter.count,
            "rows": first.content.decode().count('<tr class="')}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _configure(args.db, tmp)
        from django.db import connection
        from django.test import Client

        started = time.perf_counter()
        user, sizes = _build(args.patients)
        client = Client()
        client.force_login(user)
        print(json.dumps({"db": connection.vendor, **sizes, "build_s": round(time.perf_counter() - started, 1)}))
        for url in ("/", "/?page=10", "/?show=alerts", "/?show=overdue&q=B-00"):
            print(json.dumps(_measure(client, url, args.runs)))
        # The page shows 100 rows; for the worst case, render every patient on one page.
        from web.dashboard import views

        views.TRIAGE_PAGE_SIZE = args.patients
        print(json.dumps({**_measure(client, "/", args.runs), "note": f"all {args.patients} rows on one page"}))
        if args.db == "postgres":
            connection.close()


if __name__ == "__main__":
    main()
