"""Nightly screening benchmark: N patients x 50 recordings in PostgreSQL.

Seeds a database `cadence_bench_screening` with patients, processed recordings and their
features, already-scored recordings (as after earlier nights), PHQ-9s every two weeks, and
then times four runs of the nightly screening and counts their queries: a re-scoring night
(the stored scores come from another model version, so everything is re-scored, as after
fitting a new model), an ordinary night (a new recording for 10 % of patients, a new
PHQ-9 for 5 %), a quiet night (nothing new), and a catch-up night after three days without
screening (every patient sent 1-2 recordings, 3/14 of them a PHQ-9).

Targets at 10,000 patients x 50 recordings (issue 15): a catch-up night (3 days of backlog) under
60 s, an ordinary night under 30 s, queries not growing with patients (they are fixed per chunk of
``CADENCE_SCREENING_CHUNK_PATIENTS``). The re-scoring night (after a new model) is reported too.

    python benchmarks/bench_screening.py [--patients 10000] [--recordings 50] [--reuse] [--profile FILE]

``--reuse`` keeps the seeded database as a template (``<db>_seed_<patients>x<recordings>``) and
later runs with the same sizes start from a copy of it instead of seeding again; ``--profile``
writes a cProfile of each night's screening call to ``FILE.1`` .. ``FILE.4`` (with ``--workers``, of each
chunk too, to ``FILE.<night>.chunk<K>``).

``--embeddings`` gives every feature set a 256-float voice embedding (its own template). Before the
nights the database is analysed, as PostgreSQL's autovacuum would have done (see :func:`_analyze`).

The stored scores name the baseline recordings they were scored against, as real ones do, so
the catch-up night re-predicts them without rebuilding baselines. ``CADENCE_BENCH_DB`` names
another database (default ``cadence_bench_screening``).
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB = os.environ.get("CADENCE_BENCH_DB", "cadence_bench_screening")
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["CADENCE_LOG_LEVEL"] = "WARNING"


def _admin(*statements: str) -> list:
    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        return [conn.execute(statement).fetchall() if statement.startswith("SELECT") else conn.execute(statement)
                for statement in statements]


EMBEDDINGS = False
"""--embeddings: every feature set carries a 256-float voice embedding of the speaker-check model, as real ones do."""


def _embedding(rng, patient_pk: int) -> dict:
    """A GE2E-shaped embedding near the patient's own voice (the speaker check passes), stored as the worker stores it."""
    from voice_features.embedding import EMBEDDING_MODEL_NAME

    voice = np.random.default_rng(patient_pk).normal(0.0, 1.0, 256)
    vector = voice / np.linalg.norm(voice) + rng.normal(0.0, 0.02, 256)
    return {"model": EMBEDDING_MODEL_NAME, "dim": 256, "vector": [float(v) for v in vector / np.linalg.norm(vector)]}


def _template(n_patients: int, n_recordings: int) -> str:
    """The seeded database kept for --reuse: the nights change the database, so each run starts from a copy."""
    return f"{DB}_seed_{n_patients}x{n_recordings}" + ("_emb" if EMBEDDINGS else "")


def _fresh_database(template: str | None = None) -> None:
    _admin(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}" + (f" TEMPLATE {template}" if template else ""))


def _template_exists(name: str) -> bool:
    return bool(_admin(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")[0])


def _seed(n_patients: int, n_recordings: int, seed: int = 0) -> None:
    from django.utils import timezone

    from clinic.models import CareTeam, Patient, Phq9Response, Recording
    from screening.models import RiskScore

    rng = np.random.default_rng(seed)
    now = timezone.now()
    start = now - timedelta(days=n_recordings * 3.5)
    team = CareTeam.objects.create(name="bench")
    patients = Patient.objects.bulk_create(
        [Patient(code=f"B{n:05d}", care_team=team, enrolled_on=start.date(), sex="female" if n % 2 else "male",
                 birth_year=1950 + n % 50) for n in range(n_patients)], batch_size=5000)
    for chunk in range(0, n_patients, 1000):
        _seed_chunk(patients[chunk:chunk + 1000], n_recordings, start, now, rng)
    print(f"seeded {n_patients} patients x {n_recordings} recordings, "
          f"{Recording.objects.count()} recordings, {RiskScore.objects.count()} scores, "
          f"{Phq9Response.objects.count()} PHQ-9s", flush=True)


def _seed_chunk(patients, n_recordings, start, now, rng) -> None:
    from clinic.models import Phq9Response, Recording
    from clinic.processing.models import FeatureSet
    from screening.baselines.baseline import BaselineRecording, select_baseline_recordings
    from screening.models import RiskScore
    from screening.risk_model.deviation import DIRECTIONAL_FEATURES, composite_index
    from voice_features import FEATURE_NAMES

    recordings, feature_sets, pending, responses = [], [], [], []
    for patient in patients:
        news = rng.random() < 0.10  # tonight's new, not yet scored recording
        times = [start + timedelta(days=3.5 * k, hours=float(rng.uniform(8, 20))) for k in range(n_recordings)]
        for k, at in enumerate(times):
            recording = Recording(patient=patient, file=f"bench/{patient.code}-{k}.wav",
                                  sha256=f"{patient.pk:032d}{k:032d}", size_bytes=960044, container="wav",
                                  codec="pcm_s16le", sample_rate=16000, channels=1, duration_s=30.0,
                                  recorded_at=min(at, now - timedelta(hours=1)), status="done")
            recordings.append(recording)
            features = {name: float(rng.normal(1.0, 0.1)) for name in FEATURE_NAMES}
            checked = not (news and k == n_recordings - 1)  # earlier nights checked the speaker
            feature_sets.append(FeatureSet(recording=recording, version="bench", features=features,
                                           quality={"accepted": True},
                                           **({"embedding": _embedding(rng, patient.pk),
                                               "speaker_similarity": 0.95 if checked else None,
                                               "speaker_mismatch": False if checked else None}
                                              if EMBEDDINGS else {})))
            if k >= 5 and not (news and k == n_recordings - 1):
                pending.append(recording)
        for week in range(2, int(n_recordings * 3.5 / 7), 2):
            items = [int(v) for v in rng.integers(0, 3, 8)] + [0]
            responses.append(Phq9Response(patient=patient, answered_at=start + timedelta(weeks=week), source="self_report",
                                          total=sum(items), **{f"item{n + 1}": items[n] for n in range(9)}))
    Recording.objects.bulk_create(recordings, batch_size=5000)
    FeatureSet.objects.bulk_create(feature_sets, batch_size=5000)
    # Stored scores as earlier nights left them: each names the baseline recordings it was scored against.
    by_patient: dict[int, list] = {}
    for r in recordings:
        by_patient.setdefault(r.patient_id, []).append(BaselineRecording(str(r.pk), r.recorded_at, {}))
    scores = []
    for recording in pending:
        chosen, _ = select_baseline_recordings(by_patient[recording.patient_id], at=recording.recorded_at,
                                               task="free_speech", segment=by_patient[recording.patient_id][0].segment)
        z = {name: float(rng.normal(0, 1)) for name in DIRECTIONAL_FEATURES}
        deviations = {"z": z, "composite": composite_index(z), "embedding_drift": None,
                      "embedding_drift_z": None, "baseline_recording_ids": [c.recording_id for c in chosen],
                      "n_recordings": 1}
        scores.append(RiskScore(patient_id=recording.patient_id, recording=recording, scope="recording",
                                at=recording.recorded_at, task="free_speech", risk_model_version="stale",
                                calibrated=False, predicted_phq9=8.0, predicted_phq9_low=3.0, predicted_phq9_high=13.0,
                                prob_ge10=0.3, voice_deviation=deviations["composite"], deviations=deviations,
                                drivers=[]))
    RiskScore.objects.bulk_create(scores, batch_size=5000)
    Phq9Response.objects.bulk_create(responses, batch_size=5000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--recordings", type=int, default=50)
    parser.add_argument("--reuse", action="store_true",
                        help="start from the seeded copy an earlier run with the same sizes kept (seed it if missing)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of each night's screening call to FILE.N")
    parser.add_argument("--workers", type=int, default=1,
                        help="screening workers: with N > 1 the night is dispatched as the Celery task dispatches it "
                             "(one task per chunk) and N processes take the chunks, each with its own database "
                             "connection, as N screening workers do (the wall time runs until the last chunk is done)")
    parser.add_argument("--now", metavar="ISO", help="run the nights at this fixed time (with --reuse, two runs then "
                        "see the same data: compare their --dump files)")
    parser.add_argument("--dump", metavar="FILE", help="after the nights, write every stored score, baseline and alert "
                        "(ordered, as text) to FILE, to check that a change to the screening code changes no result")
    parser.add_argument("--embeddings", action="store_true",
                        help="seed every feature set with a 256-float voice embedding of the speaker-check model "
                             "(kept as its own template): a new recording's baseline and speaker check read them")
    args = parser.parse_args()
    global EMBEDDINGS
    EMBEDDINGS = args.embeddings
    if args.now:
        from datetime import datetime

        from django.utils import timezone as django_timezone

        fixed = datetime.fromisoformat(args.now)
        django_timezone.now = lambda: fixed
    template = _template(args.patients, args.recordings)
    reuse = args.reuse and _template_exists(template)
    _fresh_database(template if reuse else None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from screening.nightly.services import run_screening

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    if time.perf_counter() - started > 5:  # a template seeded by older code: its data migrations ran here
        print(f"migrating the database took {time.perf_counter() - started:.0f} s (not part of the figure)", flush=True)
    if reuse:
        print(f"reusing the seeded copy {template}", flush=True)
        _analyze(connection)
    else:
        started = time.perf_counter()
        _seed(args.patients, args.recordings)
        print(f"seeding took {time.perf_counter() - started:.0f} s (not part of the figure)", flush=True)
        _analyze(connection)
        if args.reuse:
            connection.close()
            _admin(f"DROP DATABASE IF EXISTS {template}", f"CREATE DATABASE {template} TEMPLATE {DB}")
            print(f"kept a seeded copy as {template} for --reuse", flush=True)
    nights = [("re-scoring night (stored scores from an older model version: everything re-scored)", None),
              ("ordinary night (10 % of patients sent a recording, 5 % answered a PHQ-9)", _news),
              ("quiet night (nothing new)", None),
              ("catch-up night after 3 days without screening (every patient 1-2 recordings, 3/14 a PHQ-9)",
               _backlog)]
    walls = []
    for number, (night, prepare) in enumerate(nights, 1):
        if prepare:
            prepare()
        reset_queries()
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
        with CaptureQueriesContext(connection) as queries:
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            if args.workers > 1:
                summary, child_cpu, child_queries = _night_on_workers(
                    args.workers, args.profile and f"{args.profile}.{number}")
            else:
                summary, child_cpu, child_queries = run_screening(), 0.0, 0
            if profiler:
                profiler.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu + child_cpu
        if profiler:
            profiler.dump_stats(f"{args.profile}.{number}")
        statements = {q["sql"].split("(")[0][:40] if q["sql"].startswith("INSERT") or q["sql"].startswith("UPDATE")
                      else q["sql"][:60] for q in queries.captured_queries}
        where = "in this process" if args.workers == 1 else f"in this process and {args.workers} workers"
        print(f"{night}:\n  {args.patients} patients x {args.recordings} recordings: {wall:.1f} s wall, "
              f"{cpu:.1f} s CPU {where}; {len(queries.captured_queries) + child_queries} queries in {summary['chunks']} chunk(s) "
              f"of <= {settings.CADENCE_SCREENING_CHUNK_PATIENTS} patients ({len(statements)} distinct statements; "
              f"COPY streams not counted)\n  {summary}", flush=True)
        walls.append(wall)
    if args.dump:
        _dump(args.dump)
    for name, wall, target in (("ordinary night", walls[1], 30), ("catch-up night, 3 days of backlog", walls[3], 60)):
        print(f"target: {name} under {target} s -> {'MET' if wall < target else 'NOT MET'} ({wall:.1f} s, "
              f"{args.workers} worker{'s' if args.workers > 1 else ''})")
    print(f"re-scoring night after a new model: {walls[0]:.1f} s (reported, not one of issue 15's targets)")


def _analyze(connection) -> None:
    """Planner statistics, as a production server has them: PostgreSQL's autovacuum (on by default) analyses
    tables as they fill, but a database seeded in bulk minutes ago, or on a server with autovacuum off (CI
    machines turn it off), has none, and the planner then reads whole tables for a chunk's rows."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
        started = time.perf_counter()
        cursor.execute("ANALYZE")
    print(f"ANALYZE took {time.perf_counter() - started:.1f} s (this server's autovacuum is {autovacuum})", flush=True)


def _screen_chunk(job) -> tuple[dict, float, int]:
    """What a screening worker does with one ``screen_patients`` task, in a worker process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from screening.nightly.services import chunk_screen

    ids, now, profile = job
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    cpu, wall = time.process_time(), time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        if profiler:
            profiler.enable()
        summary = chunk_screen(patient_ids=ids, now=now)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
    return summary, time.process_time() - cpu, len(queries.captured_queries), (wall, time.perf_counter())


def _night_on_workers(workers: int, profile: str | None = None) -> tuple[dict, float, int]:
    """The nightly task's dispatch (sweep, one task per chunk), with ``workers`` processes taking the chunks
    (``profile``: a cProfile of each chunk to ``<profile>.chunk<K>``)."""
    import multiprocessing

    from django.db import connections

    from screening.nightly.services import run_screening

    jobs = []
    started = time.perf_counter()
    summary = run_screening(dispatch=lambda ids, now: jobs.append(
        (ids, now, profile and f"{profile}.chunk{len(jobs) + 1}")))
    dispatched = time.perf_counter()
    connections.close_all()  # each worker process opens its own connection
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results = pool.map(_screen_chunk, jobs, chunksize=1)
    finished = time.perf_counter()
    walls = [end - start for *_, (start, end) in results]
    print(f"  dispatch {dispatched - started:.1f} s; chunks {min(walls):.1f}-{max(walls):.1f} s each, "
          f"{sum(walls):.1f} s in all; workers busy {sum(walls) / (workers * (finished - dispatched)):.0%} "
          f"of the {finished - dispatched:.1f} s after dispatch", flush=True)
    total: dict[str, int] = {}
    for part, *_ in results:
        for key, value in part.items():
            total[key] = total.get(key, 0) + value
    return total | summary, sum(r[1] for r in results), sum(r[2] for r in results)


def _dump(path: str) -> None:
    """Every stored result in a fixed order, as text (ids included: runs from one seeded copy share them)."""
    from django.db import connection

    queries = {
        "scores": "SELECT patient_id, scope, at, recording_id, task, risk_model_version, calibrated, predicted_phq9, "
                  "predicted_phq9_low, predicted_phq9_high, prob_ge10, voice_deviation, population_phq9, personal_offset, "
                  "n_phq9, n_recordings, deviations::text, drivers::text FROM screening_riskscore "
                  "ORDER BY patient_id, scope, at, recording_id",
        "baselines": "SELECT patient_id, task, built_at, n_recordings, payload::text FROM screening_baselinesnapshot "
                     "ORDER BY patient_id, task, built_at, payload::text",
        "alerts": "SELECT patient_id, kind, priority, state, message, episode_key, recording_id, phq9_id FROM screening_alert "
                  "ORDER BY patient_id, kind, episode_key",
    }
    with open(path, "w") as out, connection.cursor() as cursor:
        for name, sql in queries.items():
            cursor.execute(sql)
            rows = cursor.fetchall()
            out.write(f"# {name}: {len(rows)}\n")
            for row in rows:
                out.write("\t".join(map(repr, row)) + "\n")
    print(f"wrote every score, baseline and alert to {path}", flush=True)


def _backlog() -> None:
    """Three days without screening: every patient recorded (3 a week: 1 or 2 in 3 days), 3/14 answered a PHQ-9."""
    _news(seed=2, senders_share=1.0, second_share=2 / 7, phq9_share=3 / 14, days=3)


def _news(seed: int = 1, *, senders_share: float = 0.10, second_share: float = 0.0, phq9_share: float = 0.05,
          days: float = 1.0) -> None:
    """Tonight's uploads and questionnaires: processed recordings and PHQ-9s not yet screened."""
    from django.utils import timezone

    from clinic.models import Patient, Phq9Response, Recording
    from clinic.processing.models import FeatureSet
    from voice_features import FEATURE_NAMES

    rng = np.random.default_rng(seed)
    now = timezone.now()
    patients = list(Patient.objects.all())
    senders = [(p, k) for p in patients if rng.random() < senders_share
               for k in range(1 + int(rng.random() < second_share))]
    recordings = Recording.objects.bulk_create([
        Recording(patient=p, file=f"bench/{p.code}-new-{seed}-{k}.wav", sha256=f"{p.pk:032d}{seed:030d}{k:02d}",
                  size_bytes=960044, container="wav", codec="pcm_s16le", sample_rate=16000, channels=1,
                  duration_s=30.0, recorded_at=now - timedelta(days=days * (k + 1) / 3, minutes=30), status="done")
        for p, k in senders], batch_size=5000)
    FeatureSet.objects.bulk_create([
        FeatureSet(recording=r, version="bench", quality={"accepted": True},
                   embedding=_embedding(rng, r.patient_id) if EMBEDDINGS else None,
                   features={name: float(rng.normal(1.0, 0.1)) for name in FEATURE_NAMES}) for r in recordings],
        batch_size=5000)
    Phq9Response.objects.bulk_create([
        Phq9Response(patient=p, answered_at=now - timedelta(minutes=10), source="self_report", total=9,
                     **{f"item{n}": 1 for n in range(1, 10)}) for p in patients if rng.random() < phq9_share],
        batch_size=5000)


if __name__ == "__main__":
    main()
