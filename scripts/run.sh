#!/usr/bin/env bash
# One command: set up, migrate, seed demo data through the real pipeline, and run the
# web server, a Celery worker and Celery beat (two separate background processes) on the
# embedded default (SQLite, filesystem broker). PORT (default 8000) picks the web port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/var/numba}"
mkdir -p var/broker var/private var/static "$NUMBA_CACHE_DIR"
python manage.py migrate --noinput
python manage.py collectstatic --noinput -v0

python -m celery -A config worker --concurrency "${CADENCE_WORKERS:-2}" --loglevel INFO >var/worker.log 2>&1 &
worker=$!
python -m celery -A config beat --schedule var/celerybeat-schedule --loglevel INFO >var/beat.log 2>&1 &
beat=$!
trap 'kill $worker $beat 2>/dev/null; wait $worker $beat 2>/dev/null' EXIT INT TERM

python manage.py seed_demo
port="${PORT:-8000}"
echo
echo "Cadence is running: http://127.0.0.1:${port}/  (log in as demo / demo-password-2026)"
echo "API docs: http://127.0.0.1:${port}/api/docs/   admin: http://127.0.0.1:${port}/admin/"
echo "logs: var/worker.log (Celery worker), var/beat.log (Celery beat)"
python manage.py runserver "127.0.0.1:${port}" --noreload
