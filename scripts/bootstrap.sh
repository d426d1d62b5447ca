#!/usr/bin/env bash
# Set up everything Cadence needs on a fresh Debian/Ubuntu machine: system packages,
# a virtual environment in .venv and the Python dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

want_dev="${1:-}"
packages=(espeak-ng sox libsox-fmt-all)
# --dev: recorded and synthesised speech for the voice-family tests (tests/support/voices.py, voices_es.py: Spanish
# prompts from Asterisk, Tux Paint's spoken Spanish stamp descriptions), GNU gettext for the translation workflow
# (scripts/translations.sh), and certutil (libnss3-tools) for the deploy smoke test's phone walk-through (its
# browser trusts the stack's CA)
[ "$want_dev" = "--dev" ] && packages+=(festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts pocketsphinx-testdata codec2-examples
                                       sphinxtrain chromium chromium-driver docker-compose postgresql-client
                                       gettext asterisk-core-sounds-es asterisk-core-sounds-es-wav libnss3-tools)
# Data-only packages whose Recommends (the Tux Paint program itself) the tests do not need
data_only=()
[ "$want_dev" = "--dev" ] && data_only+=(tuxpaint-stamps-default)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
missing_data=()
for p in "${data_only[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing_data+=("$p"); done
if [ "${#missing[@]}" -gt 0 ] || [ "${#missing_data[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  [ "${#missing[@]}" -gt 0 ] && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  [ "${#missing_data[@]}" -gt 0 ] && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing_data[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
# One install marker per requirements set: run.sh (runtime) then test.sh (--dev) must still install the
# test tools, and a change to either file reinstalls only that set.
install_if_changed() {
  local stamp="$1"; shift
  local wanted
  wanted="$(cat "$@" | sha256sum)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    pip install -q --upgrade pip
    # Byte-compiled at install (pip's default): with PYTHONDONTWRITEBYTECODE set, as on CI machines, nothing
    # is compiled later, and every process would compile what it imports from source (measured: it doubled
    # the subprocess-heavy tests' time).
    for req in "$@"; do
      case "$req" in
        requirements-nodeps.txt) pip install -q --no-deps -r "$req" ;;
        *) pip install -q -r "$req" ;;
      esac
    done
    echo "$wanted" > "$stamp"
  fi
}
install_if_changed .venv/.requirements-runtime.sha256 requirements.txt requirements-nodeps.txt
if [ "$want_dev" = "--dev" ]; then install_if_changed .venv/.requirements-dev.sha256 requirements-dev.txt; fi
python - <<'PY'
import torch
assert torch.__version__.startswith("2.13.0"), f"torch {torch.__version__}: only the CPU build 2.13.0 is allowed"
PY
[ "$want_dev" = "--dev" ] && { bash scripts/fetch_speech.sh >/dev/null || echo "warning: could not fetch the sdist speech clips (scripts/fetch_speech.sh)" >&2; }
true
