#!/bin/sh
# As the official image: redis-server runs as the redis user and listens on the container's network
# (protected mode off; only the stack's private network reaches it).
set -eu
if [ "${1:-}" = redis-server ]; then
  shift
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups redis-server --bind 0.0.0.0 --protected-mode no --dir /data "$@"
fi
exec "$@"
