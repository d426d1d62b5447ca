#!/usr/bin/env bash
# One command: set up, migrate, seed demo data through the real pipeline, and run the
# web server, two Celery workers (patients' uploads; the demo cohort's "bulk" queue) and Celery beat
# (separate background processes) on the embedded default (SQLite, filesystem broker).
# PORT (default 8000) picks the web port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/var/numba}"
mkdir -p var/broker var/private var/static "$NUMBA_CACHE_DIR"
python manage.py migrate --noinput
python manage.py collectstatic --noinput -v0

port="${PORT:-8000}"
# Enrolment links and QR codes name CADENCE_BASE_URL; on the embedded default that is this server.
export CADENCE_BASE_URL="${CADENCE_BASE_URL:-http://127.0.0.1:${port}}"

# Patients' uploads first: one worker serves every queue but "bulk" (the demo cohort), a second worker process
# serves "bulk" alone, so a real take never waits behind the demo's recordings.
python -m celery -A config worker -Q extraction,screening,reports,celery,outreach --hostname "main@%h" \
  --concurrency "${CADENCE_WORKERS:-2}" --loglevel INFO >var/worker.log 2>&1 &
worker=$!
python -m celery -A config worker -Q bulk --hostname "bulk@%h" --concurrency 1 --loglevel INFO \
  >var/worker-bulk.log 2>&1 &
bulk_worker=$!
python -m celery -A config beat --schedule var/celerybeat-schedule --loglevel INFO >var/beat.log 2>&1 &
beat=$!
# The demo cohort (12 patients, 10 weeks, 3 recordings a week: enough PHQ-9/voice pairs per patient for the
# within-person sections of the validation report) is seeded in the background; the dashboard fills as the
# worker processes it. Seeding is idempotent: a second run adds nothing.
python manage.py seed_demo >var/seed.log 2>&1 &
seed=$!
# A first model-monitoring run once the worker has processed the cohort (beat runs it daily after that).
python -m celery -A config call screening.tasks.monitor_models --countdown 300 >/dev/null 2>&1 || true
trap 'kill $seed $worker $bulk_worker $beat 2>/dev/null; wait $seed $worker $bulk_worker $beat 2>/dev/null' EXIT INT TERM
until python manage.py shell -c "from django.contrib.auth.models import User; raise SystemExit(not User.objects.filter(username='demo').exists())" 2>/dev/null; do
  kill -0 $seed 2>/dev/null || { cat var/seed.log; exit 1; }
  sleep 1
done
echo
echo "Cadence is running: http://127.0.0.1:${port}/  (log in as demo / demo-password-2026)"
echo "API docs: http://127.0.0.1:${port}/api/docs/   admin: http://127.0.0.1:${port}/admin/"
echo "logs: var/seed.log (demo cohort, still being seeded), var/worker.log (Celery worker), var/worker-bulk.log (the"
echo "      demo cohort's worker), var/beat.log (Celery beat)"
echo "the Monitoring page gets its first run about 5 minutes after start"
python manage.py runserver "127.0.0.1:${port}" --noreload
