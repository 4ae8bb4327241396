#!/bin/sh
# Container entrypoint: runs the relay as the unprivileged `node` user. Volumes (fly.io's among
# them) are mounted owned by root, so a root start first hands the data directory over.
set -eu
data="${RELAY_DATA_DIR:-/data}"
if [ "$(id -u)" = 0 ] && id node >/dev/null 2>&1; then
  mkdir -p "$data"
  chown -R node:node "$data"
  exec setpriv --reuid=node --regid=node --init-groups -- "$@"
fi
exec "$@"
