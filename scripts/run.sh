#!/usr/bin/env bash
# One command: set up, migrate, seed demo data through the real pipeline, and run the
# web server, a Celery worker and beat on the embedded default (SQLite, filesystem broker).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/var/numba}"
mkdir -p var/broker var/private var/static "$NUMBA_CACHE_DIR"
python manage.py migrate --noinput
python manage.py collectstatic --noinput -v0

python -m celery -A config worker -B --concurrency "${CADENCE_WORKERS:-2}" --loglevel INFO \
  --schedule var/celerybeat-schedule >var/worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM

python manage.py seed_demo
port="${PORT:-8000}"
echo
echo "Cadence is running: http://127.0.0.1:${port}/  (log in as demo / demo-password-2026)"
echo "API docs: http://127.0.0.1:${port}/api/docs/   worker log: var/worker.log"
python manage.py runserver "127.0.0.1:${port}" --noreload
