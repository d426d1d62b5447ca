#!/usr/bin/env bash
# One command: set up and run the whole test suite against the machine's PostgreSQL
# and Redis (with CI=true, tests that need them fail instead of skipping).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --dev
. .venv/bin/activate
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/var/numba}"
export CADENCE_TEST_DATABASE_URL="${CADENCE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cadence}"
export CADENCE_TEST_REDIS_URL="${CADENCE_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
mkdir -p var/static "$NUMBA_CACHE_DIR" artifacts
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || [ "${CI:-}" = "true" ]; then
  export DATABASE_URL="$CADENCE_TEST_DATABASE_URL"
fi
ruff check --quiet .
lint-imports --no-cache >/dev/null || lint-imports --no-cache
# The two Django checks start Django each (~5 s of CPU): side by side, one core each.
env -u DATABASE_URL python manage.py makemigrations --check --dry-run &  # no database needed
migrations_check=$!
deploy_check_media="$(mktemp -d)"
DJANGO_DEBUG=false DJANGO_SECRET_KEY="check-deploy-$(head -c 48 /dev/urandom | base64)" \
  CADENCE_AUDIO_KEYS="$(head -c 32 /dev/urandom | base64)" CADENCE_PRIVATE_MEDIA_ROOT="$deploy_check_media" \
  DJANGO_ALLOWED_HOSTS=cadence.example.org EMAIL_HOST=mail.example.org python manage.py check --deploy --fail-level WARNING
rm -rf "$deploy_check_media"
wait "$migrations_check"
python -m pytest "$@"
