#!/usr/bin/env bash
# Deployment smoke test: docker/compose.yaml for real, over HTTPS through Caddy with the stack's own CA.
#
# Brings the stack up (docker/compose.yaml + docker/compose.test.yaml: images built here from Debian packages,
# since no image registry is reachable in CI), first with the previous release's image (docker/PREVIOUS_RELEASE),
# waits for health, then over HTTPS: logs in to the dashboard (CSRF and secure cookies behind the proxy), takes
# an API token, enrols a patient, uploads a recording that a worker container takes to `done`; upgrades the
# stack to this tree as the README says with a recording waiting in the queue (backup, build, migrate, up -d)
# and sees it processed; plays the first back, checks /readyz and /metrics, writes a backup
# inside the stack, restarts the whole stack (containers recreated, volumes kept) and finds everything
# still there. Tears down what it started (containers, volumes, networks; a dockerd it started); keeps the
# cached images for the next run. Skips, exit 0 with a message, where Docker cannot run.
#
#   bash scripts/deploy_smoke.sh          (root; starts dockerd if it is not running, and stops it again)
# CADENCE_SMOKE_CACHE (default /var/cache/cadence-smoke) keeps the wheelhouse between runs on one machine;
# CADENCE_SMOKE_HTTPS_PORT (default 8125, or a free port) is the host port of the proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="$ROOT/var/deploy-smoke"
CACHE="${CADENCE_SMOKE_CACHE:-/var/cache/cadence-smoke}"
free_port() {  # the preferred port when nothing listens on it, else one the kernel picks
  python3 -c "import socket, sys
for port in (int(sys.argv[1]), 0):
    with socket.socket() as s:
        try:
            s.bind(('0.0.0.0', port))
        except OSError:
            continue
        print(s.getsockname()[1]); break" "$1"
}
HTTPS_PORT="${CADENCE_SMOKE_HTTPS_PORT:-$(free_port 8125)}"
HTTP_PORT="${CADENCE_SMOKE_HTTP_PORT:-$(free_port 18125)}"
DOMAIN=cadence.test
TORCH_WHEEL="${CADENCE_TORCH_WHEEL:-/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl}"
PROJECT=cadence-smoke
START=$(date +%s)
STEP_START=$START

log() { printf '%s [deploy-smoke +%4ss] %s\n' "$(date -u +%H:%M:%S)" "$(( $(date +%s) - START ))" "$*"; }
step() { local now; now=$(date +%s); log "step done in $(( now - STEP_START )) s"; STEP_START=$now; log "== $*"; }
FAILED_AT=""
fail() { FAILED_AT="$*"; log "FAILED: $*"; exit 1; }
skip() { log "SKIPPED: $*"; exit 0; }

rm -rf "$WORK" && mkdir -p "$WORK" "$CACHE/wheels"
log "== Docker"
need=()
command -v dockerd >/dev/null || need+=(docker.io)
{ docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null; } || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v certutil >/dev/null || need+=(libnss3-tools)  # the phone walk-through's browser trusts the stack's CA
if [ "${#need[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || skip "missing ${need[*]} and not root to install them"
  log "installing ${need[*]} (Debian packages)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } \
    || skip "could not install ${need[*]}"
fi
command -v docker >/dev/null || skip "docker is not installed (Debian: apt-get install docker.io docker-compose)"
if docker compose version >/dev/null 2>&1; then COMPOSE_BIN=(docker compose)
elif command -v docker-compose >/dev/null; then COMPOSE_BIN=(docker-compose)
else skip "neither 'docker compose' nor docker-compose is installed"; fi
DOCKERD_PID=""
UP=""
cleanup() {
  local rc=$?
  if [ -n "$UP" ]; then
    if [ "$rc" != 0 ]; then
      log "service logs (last lines) after the failure:"
      compose logs --no-color --tail 40 2>&1 | sed 's/^/    /' || true
    fi
    log "== Tear-down: containers, volumes and networks of the stack (cached images stay)"
    compose down --volumes --remove-orphans --timeout 30 >/dev/null 2>&1 || true
    docker image prune --force >/dev/null 2>&1 || true  # dangling layers of replaced smoke images
  fi
  if [ -n "$DOCKERD_PID" ]; then
    log "stopping the dockerd this script started (pid $DOCKERD_PID)"
    kill "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
  fi
  # repeated last: the stack's logs above can push the first FAILED line out of a CI log's tail
  [ -z "$FAILED_AT" ] || log "FAILED: $FAILED_AT"
  log "total $(( $(date +%s) - START )) s, exit $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT  # a time-out still tears down through the EXIT trap
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null || skip "dockerd is not running and cannot be started here (needs root and dockerd)"
  log "starting dockerd (log $WORK/dockerd.log)"
  dockerd >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
  if ! docker info >/dev/null 2>&1; then
    tail -5 "$WORK/dockerd.log" | sed 's/^/    /'
    kill "$DOCKERD_PID" 2>/dev/null || true; DOCKERD_PID=""
    skip "dockerd did not start (see above)"
  fi
fi
log "$(docker version --format 'docker server {{.Server.Version}}'), compose: ${COMPOSE_BIN[*]}"

ENV_FILE="$WORK/smoke.env"
compose() { "${COMPOSE_BIN[@]}" --project-name "$PROJECT" --env-file "$ENV_FILE" \
  -f docker/compose.yaml -f docker/compose.test.yaml "$@"; }

step "Base images (debootstrap bookworm; PostgreSQL, Redis, Caddy, nanio S3), reused when cached"
# Wheels are built by the pip of Debian's python3 (3.11.2, the interpreter of the image), so that markers
# such as python_full_version < "3.11.3" resolve as they will in the image.
if ! /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || skip "Debian's python3-pip is missing and not root to install it"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null || skip "could not install python3-pip"
fi
PIP="/usr/bin/python3 -m pip"
PIP="$PIP" bash docker/local/build_base_images.sh

step "Wheelhouse for the image: torch 2.13.0+cpu from this machine, the rest built by pip on the host"
[ -f "$TORCH_WHEEL" ] || skip "the CPU torch wheel $TORCH_WHEEL is not on this machine (CADENCE_TORCH_WHEEL)"
wheels() {  # wheels [pip options]: every requirement as a wheel in the cache
  $PIP wheel -q "$@" --find-links "$CACHE/wheels" -w "$CACHE/wheels" "$TORCH_WHEEL" -r requirements.txt \
    && $PIP wheel -q "$@" --no-deps --find-links "$CACHE/wheels" -w "$CACHE/wheels" -r requirements-nodeps.txt
}
if wheels --no-index >/dev/null 2>&1; then log "every wheel was in the cache ($CACHE/wheels)"
elif ! wheels >"$WORK/pip.log" 2>&1; then
  grep -v "^WARNING: Location" "$WORK/pip.log" | tail -20; fail "pip could not build every wheel"
fi
if ls "$CACHE/wheels" | grep -iE '^(nvidia|triton)' >/dev/null; then fail "a CUDA package reached the wheelhouse"; fi
log "$(ls "$CACHE"/wheels/*.whl | wc -l) wheels in $CACHE/wheels"

build_image() {  # build_image TREE: the Cadence image of the source tree TREE as cadence:smoke
  local tree="$1"
  find "$tree/docker/wheels" -name '*.whl' -delete
  cp -l "$CACHE"/wheels/*.whl "$tree/docker/wheels/" 2>/dev/null || cp "$CACHE"/wheels/*.whl "$tree/docker/wheels/"
  # The packages stage gets a tag of its own, so that it is kept (a stage no tag refers to is a dangling
  # image, and with it would go the build cache of the pip install, the longest step by far).
  for target in packages final; do
    nice -n 10 docker build --quiet --force-rm --build-arg BASE_IMAGE=cadence-base:bookworm \
      --build-arg PYTHON_PACKAGES=wheels --file "$tree/docker/Dockerfile" \
      $([ "$target" = packages ] && echo "--target packages --tag cadence-smoke:packages" || echo "--tag cadence:smoke") \
      "$tree" >/dev/null 2> >(grep -v -e DEPRECATED -e 'Install the buildx' -e 'docs.docker.com/go/buildx' -e '^$' >&2)
  done
  find "$tree/docker/wheels" -name '*.whl' -delete
  docker run --rm --entrypoint python cadence:smoke -c \
    "import torch; assert torch.__version__ == '2.13.0+cpu' and torch.version.cuda is None; print('torch', torch.__version__, 'CPU')" \
    | sed 's/^/    /'
}

# The upgrade: the stack first runs the previous release's image (docker/PREVIOUS_RELEASE names its commit),
# is given work, and is then upgraded to this tree's image as the README says, volumes and queue kept.
PREVIOUS="$(awk '!/^#/ && NF {print $1; exit}' docker/PREVIOUS_RELEASE 2>/dev/null || true)"
UPGRADE=""
if [ -n "$PREVIOUS" ] && git -C "$ROOT" cat-file -e "$PREVIOUS^{commit}" 2>/dev/null; then
  UPGRADE=1
  step "Previous release's image ($PREVIOUS, docker/PREVIOUS_RELEASE), to upgrade from"
  mkdir -p "$WORK/previous"
  git -C "$ROOT" archive "$PREVIOUS" | tar -x -C "$WORK/previous"
  mkdir -p "$WORK/previous/docker/wheels"
  build_image "$WORK/previous"
else
  log "no upgrade test: the previous release '${PREVIOUS:-?}' (docker/PREVIOUS_RELEASE) is not in this clone"
  step "Cadence image (docker/Dockerfile, BASE_IMAGE=cadence-base:bookworm, PYTHON_PACKAGES=wheels)"
  build_image "$ROOT"
fi

step "docker/.env from docker/make_env.py (LAN pilot: tls internal), domain $DOMAIN, HTTPS on host port $HTTPS_PORT"
# The smoke stack names an SMTP host that nothing answers (the flow sends no e-mail): the deploy checks then see
# mail configured as a real deployment has it (no console mail, so alerts have a channel: outreach.W001).
python3 docker/make_env.py "$DOMAIN" --internal --https-port "$HTTPS_PORT" --http-port "$HTTP_PORT" \
  --smtp-host smtp.cadence.test --out "$ENV_FILE" >/dev/null
# shellcheck disable=SC1090
. "$ENV_FILE"
echo "GUNICORN_WORKERS=2" >>"$ENV_FILE"
echo "CADENCE_EXTRACTION_CONCURRENCY=1" >>"$ENV_FILE"

wait_healthy() {  # wait_healthy TIMEOUT SERVICE...
  local timeout=$1; shift
  local deadline=$(( $(date +%s) + timeout )) service id state
  for service in "$@"; do
    while :; do
      id="$(compose ps -q "$service" 2>/dev/null | awk 'NR == 1')"
      state="$( [ -n "$id" ] && docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || echo missing)"
      [ "$state" = healthy ] && break
      [ "$(date +%s)" -lt "$deadline" ] || fail "$service is $state after ${timeout} s"
      sleep 3
    done
  done
  log "healthy: $*"
}

step "Stack up (compose up -d): caddy, web, worker, worker-batch, beat, postgres, redis, s3, createbucket"
UP=1
compose up -d --no-build 2>&1 | sed 's/^/    /'
wait_healthy 300 postgres redis s3 web caddy
compose ps 2>&1 | sed 's/^/    /'

step "manage.py check --deploy inside the web container"
compose exec -T web python manage.py check --deploy --fail-level WARNING 2>&1 | sed 's/^/    /'

step "The stack's own CA (Caddy tls internal), used by every request below"
for _ in $(seq 60); do
  compose exec -T caddy cat /data/caddy/pki/authorities/local/root.crt >"$WORK/ca.crt" 2>/dev/null && [ -s "$WORK/ca.crt" ] && break
  sleep 1
done
[ -s "$WORK/ca.crt" ] || fail "Caddy wrote no local CA"
BASE="https://$DOMAIN:$HTTPS_PORT"
https() { curl --silent --show-error --fail-with-body --max-time 60 --cacert "$WORK/ca.crt" \
  --resolve "$DOMAIN:$HTTPS_PORT:127.0.0.1" "$@"; }
https -o /dev/null "$BASE/healthz" || fail "no HTTPS through the proxy with the stack's CA"
log "TLS verified against the stack's CA: $(openssl x509 -in "$WORK/ca.crt" -noout -subject 2>/dev/null || echo root.crt)"
redirect="$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --resolve "$DOMAIN:$HTTP_PORT:127.0.0.1" "http://$DOMAIN:$HTTP_PORT/")"
log "plain HTTP answers: $redirect"
case "$redirect" in 30[18]\ https://*) ;; *) fail "plain HTTP is not redirected to HTTPS";; esac

step "A clinician (management commands in the web container)"
PASSWORD="smoke-$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
TOTP_SECRET="$(python3 -c 'import base64, os; print(base64.b32encode(os.urandom(20)).decode())')"
compose exec -T web python manage.py create_care_team "Smoke clinic" | sed 's/^/    /'
printf '%s\n' "$PASSWORD" | compose exec -T web python manage.py add_clinician smoke --team "Smoke clinic" --lead \
  --password-stdin | sed 's/^/    /'
compose exec -T web python manage.py shell -c "from django.contrib.auth.models import User
from allauth.mfa.totp.internal.auth import TOTP
TOTP.activate(User.objects.get(username='smoke'), '$TOTP_SECRET')
print('TOTP authenticator added')" | sed 's/^/    /'

# Staff need a second factor (CADENCE_REQUIRE_MFA, on in the stack): the clinician gets a TOTP authenticator
# and the script computes its codes (RFC 6238) as an authenticator app would.
LAST_STEP=0
# The server accepts only the current step (allauth's default tolerance, 0): a code made in the last seconds of
# a step can reach it in the next one and be refused (it was, in CI: code made at hh:24:59.9, checked at
# hh:25:00.2). Like a person reading the app's countdown, the script waits for a new step when <6 s are left.
fresh_otp() {  # sets OTP to the code of a time step not used yet (a code is accepted once)
  while [ "$(( $(date +%s) / 30 ))" -le "$LAST_STEP" ] || [ "$(( $(date +%s) % 30 ))" -ge 24 ]; do sleep 1; done
  LAST_STEP=$(( $(date +%s) / 30 ))
  OTP="$(python3 -c 'import base64, hashlib, hmac, struct, sys
digest = hmac.new(base64.b32decode(sys.argv[1]), struct.pack(">Q", int(sys.argv[2])), hashlib.sha1).digest()
offset = digest[-1] & 15
print("%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000))' "$TOTP_SECRET" "$LAST_STEP")"
}
# Filters in a pipeline read their whole input: under pipefail, a reader that stops early (grep -q, head)
# can kill the writer with SIGPIPE and fail a check that matched.
csrf_of() { grep -o 'name="csrfmiddlewaretoken" value="[^"]*"' | awk 'NR == 1' | sed 's/.*value="//; s/"$//'; }
login() {  # the dashboard sign-in over HTTPS: password, then the second factor; CSRF, Secure cookies, Referer
  local jar="$WORK/cookies" token
  rm -f "$jar"
  token="$(https -c "$jar" -b "$jar" "$BASE/login/" | csrf_of)"
  [ -n "$token" ] || fail "no CSRF token on the login page"
  https -c "$jar" -b "$jar" -o /dev/null -H "Referer: $BASE/login/" \
    --data-urlencode "csrfmiddlewaretoken=$token" --data-urlencode "login=smoke" \
    --data-urlencode "password=$PASSWORD" "$BASE/login/" || fail "login form refused"
  token="$(https -c "$jar" -b "$jar" "$BASE/accounts/2fa/authenticate/" | csrf_of)"
  [ -n "$token" ] || fail "no second-factor page after the password"
  fresh_otp
  https -c "$jar" -b "$jar" -o /dev/null -H "Referer: $BASE/accounts/2fa/authenticate/" \
    --data-urlencode "csrfmiddlewaretoken=$token" --data-urlencode "code=$OTP" "$BASE/accounts/2fa/authenticate/" \
    || fail "second factor refused"
  https -b "$jar" "$BASE/" | grep -i "triage" >/dev/null || fail "the triage page is not shown after signing in"
  [ "$(awk '$6 == "sessionid" {print $4}' "$jar")" = TRUE ] || fail "the session cookie is not Secure"
}
api_token() {  # sets TOKEN
  fresh_otp
  TOKEN="$(https -X POST "$BASE/api/v1/auth/token/" -H 'Content-Type: application/json' \
    -d "{\"username\":\"smoke\",\"password\":\"$PASSWORD\",\"otp\":\"$OTP\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
}
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

step "Sign in over HTTPS (dashboard: password and TOTP code; then an API token with a code)"
login
api_token
log "signed in to the dashboard with the second factor; API token issued"

step "Enrol a patient"
PATIENT_JSON="$(https -X POST "$BASE/api/v1/patients/" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"code":"SMOKE-001","sex":"female","birth_year":1984}')"
PATIENT_ID="$(printf '%s' "$PATIENT_JSON" | json_field '["id"]')"
UPLOAD_TOKEN="$(printf '%s' "$PATIENT_JSON" | json_field '["upload_token"]')"
log "patient $PATIENT_ID enrolled"

step "Upload a recording and wait until a worker container has processed it"
compose exec -T web python -c "
import io, sys, soundfile as sf
from voice_features.synth import synth_speech
speech = synth_speech(seed=7, run_durations_s=(2.0, 2.4, 1.8, 2.2, 2.0), pause_durations_s=(0.6, 0.8, 0.5, 0.7))
buf = io.BytesIO(); sf.write(buf, speech.samples, speech.sample_rate, subtype='PCM_16', format='WAV')
sys.stdout.buffer.write(buf.getvalue())" >"$WORK/speech.wav"
compose exec -T web python -c "
import io, sys, soundfile as sf
from voice_features.synth import synth_speech
speech = synth_speech(seed=8, run_durations_s=(2.2, 1.9, 2.4, 2.0, 2.1), pause_durations_s=(0.7, 0.5, 0.8, 0.6))
buf = io.BytesIO(); sf.write(buf, speech.samples, speech.sample_rate, subtype='PCM_16', format='WAV')
sys.stdout.buffer.write(buf.getvalue())" >"$WORK/speech-2.wav"
UPLOAD_SHA="$(sha256sum "$WORK/speech.wav" | cut -d' ' -f1)"
RECORDING_ID="$(https -X POST "$BASE/api/v1/recordings/" -H "Authorization: Bearer $UPLOAD_TOKEN" \
  -H 'Idempotency-Key: smoke-1' -F "audio=@$WORK/speech.wav" | json_field '["id"]')"
log "recording $RECORDING_ID accepted (202); waiting for the worker"
status=""
for _ in $(seq 200); do
  status="$(https "$BASE/api/v1/recordings/$RECORDING_ID/" -H "Authorization: Bearer $UPLOAD_TOKEN" | json_field '["status"]')"
  case "$status" in done|rejected|failed) break;; esac
  sleep 3
done
[ "$status" = done ] || fail "recording $RECORDING_ID ended as '$status', not done"
compose logs --no-color worker 2>/dev/null | grep "process_recording.*succeeded" >/dev/null \
  || fail "the worker container's log does not show process_recording succeeding"
log "recording $RECORDING_ID is done; processed in the worker container"

wait_status() {  # wait_status RECORDING_ID: sets status once it is done, rejected or failed (10 min at most)
  status=""
  for _ in $(seq 200); do
    status="$(https "$BASE/api/v1/recordings/$1/" -H "Authorization: Bearer $UPLOAD_TOKEN" | json_field '["status"]')"
    case "$status" in done|rejected|failed) break;; esac
    sleep 3
  done
}
if [ -n "$UPGRADE" ]; then
  step "Upgrade to this version as the README says, with a recording waiting in the queue"
  compose stop --timeout 120 worker worker-batch 2>&1 | sed 's/^/    /'
  QUEUED_ID="$(https -X POST "$BASE/api/v1/recordings/" -H "Authorization: Bearer $UPLOAD_TOKEN" \
    -H 'Idempotency-Key: smoke-queued' -F "audio=@$WORK/speech-2.wav" | json_field '["id"]')"
  status="$(https "$BASE/api/v1/recordings/$QUEUED_ID/" -H "Authorization: Bearer $UPLOAD_TOKEN" | json_field '["status"]')"
  log "recording $QUEUED_ID accepted with the workers stopped: '$status', queued in Redis"
  [ "$status" = received ] || fail "recording $QUEUED_ID is '$status' with no worker running"
  compose exec -T web python manage.py backup --to /backups/pre-upgrade | sed 's/^/    /'
  build_image "$ROOT"
  compose run --rm --no-deps web python manage.py migrate --noinput 2>&1 | sed 's/^/    /'
  compose up -d --no-build 2>&1 | sed 's/^/    /'
  wait_healthy 300 postgres redis s3 web caddy
  compose exec -T web python manage.py migrate --check >/dev/null || fail "migrations are missing after the upgrade"
  compose exec -T web python manage.py check --deploy --fail-level WARNING 2>&1 | sed 's/^/    /'
  wait_status "$QUEUED_ID"
  [ "$status" = done ] || fail "the recording queued before the upgrade ended as '$status', not done"
  log "upgraded from $PREVIOUS: migrations applied, the queued recording $QUEUED_ID processed by the new worker"
fi
https -o "$WORK/played.wav" "$BASE/api/v1/recordings/$RECORDING_ID/audio/" -H "Authorization: Bearer $TOKEN"
[ "$(sha256sum "$WORK/played.wav" | cut -d' ' -f1)" = "$UPLOAD_SHA" ] \
  || fail "the audio played back differs from the upload"
log "playback decrypts the stored object to the uploaded bytes"

step "/readyz and /metrics through the proxy"
https "$BASE/readyz" | sed 's/^/    /'
echo
code="$(curl -s -o /dev/null -w '%{http_code}' --cacert "$WORK/ca.crt" --resolve "$DOMAIN:$HTTPS_PORT:127.0.0.1" "$BASE/metrics")"
[ "$code" = 403 ] || [ "$code" = 401 ] || [ "$code" = 404 ] || fail "/metrics without the token answered $code"
https "$BASE/metrics" -H "Authorization: Bearer $CADENCE_METRICS_TOKEN" >"$WORK/metrics.txt"
grep -q '^cadence_' "$WORK/metrics.txt" || fail "/metrics has no cadence_ series"
log "/metrics: $code without the token, $(grep -c '^cadence_' "$WORK/metrics.txt") cadence_ samples with it"

step "A newcomer's first day in a real browser: README's add_clinician, first sign-in with a second factor, a phone's take"
# As the README says: add_clinician without a password prints a one-time link; in Chromium (trusting only the
# stack's CA, through an NSS database, and a fake microphone) the clinician chooses a password, adds an
# authenticator app at the first sign-in, adds a patient, and a phone opens the enrolment link, records today's
# task and sends it; it must reach done and the patient show in triage (scripts/phone_walkthrough.py).
WALK_PY="$ROOT/.venv/bin/python"
if [ -x "$WALK_PY" ] && "$WALK_PY" -c 'import playwright' 2>/dev/null && [ -x /usr/bin/chromium ] \
    && command -v certutil >/dev/null && command -v espeak-ng >/dev/null; then
  SET_PASSWORD_LINK="$(compose exec -T web python manage.py add_clinician dana --team "Smoke clinic" --lead \
    | grep -o 'https://[^ ]*/password/set/[^ ]*/' | awk 'NR == 1')"
  [ -n "$SET_PASSWORD_LINK" ] || fail "add_clinician printed no one-time set-password link"
  case "$SET_PASSWORD_LINK" in "$BASE"/*) ;; *) fail "the set-password link $SET_PASSWORD_LINK is not under $BASE";; esac
  espeak-ng -v en+f3 -s 160 -w "$WORK/microphone-raw.wav" "The North Wind and the Sun were disputing which \
was the stronger, when a traveler came along wrapped in a warm cloak. They agreed that the one who first succeeded \
in making the traveler take his cloak off should be considered stronger than the other."
  sox "$WORK/microphone-raw.wav" "$WORK/microphone.wav" gain -n -6
  "$WALK_PY" "$ROOT/scripts/phone_walkthrough.py" --base "$BASE" --resolve "$DOMAIN:127.0.0.1" --ca "$WORK/ca.crt" \
    --username dana --set-password-link "$SET_PASSWORD_LINK" --microphone "$WORK/microphone.wav" \
    --out "$WORK/screenshots" || fail "the newcomer's walk-through did not get through"
  log "a phone's take, recorded in the browser over HTTPS, is done and its patient is in triage"
elif [ "${CI:-}" = "true" ]; then
  fail "the phone walk-through needs .venv with Playwright (bash scripts/test.sh sets it up), chromium, certutil and espeak-ng"
else
  log "SKIPPED the phone walk-through: needs .venv with Playwright (bash scripts/bootstrap.sh --dev), chromium, certutil (libnss3-tools) and espeak-ng"
fi

step "Workers healthy (celery inspect ping in each container)"
wait_healthy 240 worker worker-batch

step "A backup inside the stack (pg_dump of PostgreSQL, the objects of the S3 store)"
compose exec -T web python manage.py backup --to /backups/smoke | sed 's/^/    /'

step "Restart the whole stack (down, then up: containers recreated, volumes kept)"
compose down --timeout 60 2>&1 | sed 's/^/    /'
compose up -d --no-build 2>&1 | sed 's/^/    /'
wait_healthy 300 postgres redis s3 web caddy

step "Everything still there after the restart"
login
api_token
code="$(https "$BASE/api/v1/patients/$PATIENT_ID/" -H "Authorization: Bearer $TOKEN" | json_field '["code"]')"
[ "$code" = SMOKE-001 ] || fail "patient $PATIENT_ID is gone"
status="$(https "$BASE/api/v1/recordings/$RECORDING_ID/" -H "Authorization: Bearer $UPLOAD_TOKEN" | json_field '["status"]')"
[ "$status" = done ] || fail "recording $RECORDING_ID is '$status' after the restart"
https -o "$WORK/played-again.wav" "$BASE/api/v1/recordings/$RECORDING_ID/audio/" -H "Authorization: Bearer $TOKEN"
[ "$(sha256sum "$WORK/played-again.wav" | cut -d' ' -f1)" = "$UPLOAD_SHA" ] || fail "the audio changed across the restart"
cmp -s "$WORK/ca.crt" <(compose exec -T caddy cat /data/caddy/pki/authorities/local/root.crt) \
  || fail "the local CA changed across the restart (phones would have to trust it again)"
compose exec -T web test -s /backups/smoke/manifest.json || fail "the backup is gone"
log "patient, recording (done), audio, login, local CA and backup all survived the restart"

step "Passed"
log "deploy smoke test passed"
