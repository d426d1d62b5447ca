#!/usr/bin/env bash
# Set up everything Cadence needs on a fresh Debian/Ubuntu machine: system packages,
# a virtual environment in .venv and the Python dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

want_dev="${1:-}"
packages=(espeak-ng sox libsox-fmt-all)
[ "$want_dev" = "--dev" ] && packages+=(festival chromium chromium-driver docker-compose postgresql-client)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
stamp=".venv/.requirements.sha256"
wanted="$(cat requirements*.txt | sha256sum)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  pip install -q --upgrade pip
  pip install -q -r requirements.txt
  pip install -q --no-deps -r requirements-nodeps.txt
  [ "$want_dev" = "--dev" ] && pip install -q -r requirements-dev.txt
  echo "$wanted" > "$stamp"
fi
python - <<'PY'
import torch
assert torch.__version__.startswith("2.13.0"), f"torch {torch.__version__}: only the CPU build 2.13.0 is allowed"
PY
