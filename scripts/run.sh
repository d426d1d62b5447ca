#!/usr/bin/env bash
# One command: set up, migrate, seed demo data through the real pipeline, and run the
# web server, two Celery workers (patients' uploads; the demo cohort's "bulk" queue) and Celery beat
# (separate background processes) on the embedded default (SQLite, filesystem broker).
# PORT (default 8000) picks the web port.
#
# HTTPS=1 bash scripts/run.sh — a LAN pilot without a server: Caddy (Debian package) serves HTTPS on
# HTTPS_PORT (default 8443) of this laptop's LAN address with its own local CA, so that a phone on the same
# network can open the recorder (phones give a page the microphone only over HTTPS). The CA certificate is
# offered to phones at http://<LAN address>:CA_PORT/cadence-ca.crt (default 8081); docs/operators.md, "A LAN
# pilot", says how to trust it on iOS and Android. LAN_HOST overrides the detected address.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/var/numba}"
port="${PORT:-8000}"
if [ "${HTTPS:-0}" = 1 ]; then
  https_port="${HTTPS_PORT:-8443}" ca_port="${CA_PORT:-8081}"
  if ! command -v caddy >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq caddy >/dev/null
  fi
  # The address other machines reach this one at: the source address of the default route (nothing is sent).
  lan="${LAN_HOST:-$(ip -4 route get 192.0.2.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}')}"
  [ -n "$lan" ] || { echo "No LAN address found; set LAN_HOST to this machine's address or name." >&2; exit 1; }
  # Django sits behind exactly one proxy (Caddy, on this machine) and is reachable only through it.
  export DJANGO_ALLOWED_HOSTS="$lan,localhost,127.0.0.1" CADENCE_TRUSTED_PROXY_COUNT=1 \
    DJANGO_CSRF_TRUSTED_ORIGINS="https://$lan:$https_port,https://localhost:$https_port" \
    CADENCE_BASE_URL="https://$lan:$https_port"
  mkdir -p var/caddy
  cat >var/caddy/Caddyfile <<CADDY
{
	admin off
	local_certs
	skip_install_trust
	storage file_system {
		root $PWD/var/caddy/data
	}
}
https://$lan:$https_port, https://localhost:$https_port {
	tls internal
	reverse_proxy 127.0.0.1:$port
}
http://:$ca_port {
	handle /cadence-ca.crt {
		root * $PWD/var/caddy/data/pki/authorities/local
		rewrite * /root.crt
		header Content-Type application/x-x509-ca-cert
		file_server
	}
	respond "Cadence LAN pilot: install http://$lan:$ca_port/cadence-ca.crt, then open https://$lan:$https_port/" 200
}
CADDY
  caddy run --adapter caddyfile --config var/caddy/Caddyfile >var/caddy.log 2>&1 &
  caddy=$!
  trap 'kill $caddy 2>/dev/null' EXIT
fi
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
trap 'kill $seed $worker $bulk_worker $beat ${caddy:-} 2>/dev/null; wait $seed $worker $bulk_worker $beat ${caddy:-} 2>/dev/null' EXIT INT TERM
until python manage.py shell -c "from django.contrib.auth.models import User; raise SystemExit(not User.objects.filter(username='demo').exists())" 2>/dev/null; do
  kill -0 $seed 2>/dev/null || { cat var/seed.log; exit 1; }
  sleep 1
done
echo
if [ "${HTTPS:-0}" = 1 ]; then
  for _ in $(seq 30); do [ -s var/caddy/data/pki/authorities/local/root.crt ] && break; sleep 1; done
  kill -0 "$caddy" 2>/dev/null || { cat var/caddy.log; exit 1; }
  echo "HTTPS for phones on this network: https://${lan}:${https_port}/  (log in as demo / demo-password-2026)"
  echo "Trust the local CA once per phone: http://${lan}:${ca_port}/cadence-ca.crt  (docs/operators.md, \"A LAN pilot\")"
  echo "  its SHA-256 fingerprint, to compare on the phone: $(openssl x509 -in var/caddy/data/pki/authorities/local/root.crt -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2)"
  echo "Open the dashboard at the https address above: enrolment QR codes carry the address the dashboard is opened at."
fi
echo "Cadence is running: http://127.0.0.1:${port}/  (log in as demo / demo-password-2026)"
echo "API docs: http://127.0.0.1:${port}/api/docs/   admin: http://127.0.0.1:${port}/admin/"
echo "logs: var/seed.log (demo cohort, still being seeded), var/worker.log (Celery worker), var/worker-bulk.log (the"
echo "      demo cohort's worker), var/beat.log (Celery beat)"
echo "the Monitoring page gets its first run about 5 minutes after start"
python manage.py runserver "127.0.0.1:${port}" --noreload
