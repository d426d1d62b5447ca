#!/usr/bin/env bash
# Build the images the test stack uses instead of Docker Hub's, from Debian packages only:
#   cadence-base:bookworm      debootstrap --variant=minbase bookworm, imported with `docker import`
#   cadence-postgres:15        PostgreSQL 15 (Debian), with the official image's POSTGRES_* contract
#   cadence-redis:7            Redis 7 (Debian)
#   cadence-caddy:2            Caddy 2 (Debian), the official image's paths (/etc/caddy, /data, /config)
#   cadence-s3:nanio           nanio, an S3-compatible server from PyPI that keeps objects as files
# Each image is built only when it is missing (the base images are the cache between runs on one
# machine); CADENCE_REBUILD_BASE=1 rebuilds them all. Needs root and a running dockerd.
set -euo pipefail
cd "$(dirname "$0")"
log() { printf '%s [base-images] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
have() { docker image inspect "$1" >/dev/null 2>&1 && [ "${CADENCE_REBUILD_BASE:-0}" != 1 ]; }
build() {  # build NAME DOCKERFILE-DIR
  if have "$1"; then log "$1: cached"; return; fi
  log "$1: building"
  nice -n 10 docker build --quiet --force-rm --tag "$1" "$2" >/dev/null
  log "$1: built"
}

if ! have cadence-base:bookworm; then
  # The Debian mirror this machine's apt uses (deb822 or one-line sources), else deb.debian.org.
  mirror="$(grep -rhoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
    | grep -v security | head -1 || true)"
  [ -n "$mirror" ] || mirror="$(grep -hoE '^deb +\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -1 || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  command -v debootstrap >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  root="$(mktemp -d /var/tmp/cadence-bookworm.XXXXXX)"
  trap 'rm -rf "$root"' EXIT
  log "cadence-base:bookworm: debootstrap --variant=minbase bookworm from $mirror"
  nice -n 10 debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 \
    || { tail -20 "$root.log"; exit 1; }
  rm -f "$root.log"
  security="${mirror%/debian}/debian-security"
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
    "$mirror" "$mirror" "$security" >"$root/etc/apt/sources.list"
  # Small images: no documentation or man pages, no apt caches.
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n' \
    >"$root/etc/dpkg/dpkg.cfg.d/01-nodoc"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/01-norecommends"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - cadence-base:bookworm >/dev/null
  rm -rf "$root"; trap - EXIT
  log "cadence-base:bookworm: imported"
else
  log "cadence-base:bookworm: cached"
fi

build cadence-postgres:15 images/postgres
build cadence-redis:7 images/redis
build cadence-caddy:2 images/caddy
if ! have cadence-s3:nanio; then  # pip runs on the host (its index and certificates), the image installs offline
  rm -rf images/s3/wheels && mkdir -p images/s3/wheels
  ${PIP:-/usr/bin/python3 -m pip} wheel -q --only-binary=:all: -w images/s3/wheels nanio==0.1.7
fi
build cadence-s3:nanio images/s3
rm -rf images/s3/wheels
