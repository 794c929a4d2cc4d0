#!/usr/bin/env bash
# Install (Debian packages) and start a throwaway PostgreSQL for the service tests, then print the line that
# exports its URL. Use from .ci/run:   eval "$(.ci/postgres.sh)"
# Runs as root (the cluster runs as the 'postgres' user) or as an ordinary user with the packages installed.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  else
    echo "postgresql is not installed and this is not root: apt-get install -y postgresql" >&2
    exit 1
  fi
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
# A free port unless one is given: a cluster left over from an earlier run on this machine must not collide.
PORT=${TRACERISK_TEST_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
DATA=$(mktemp -d /tmp/tracerisk-pg.XXXXXX)
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$DATA"
  RUN_AS=(runuser -u postgres --)
fi
"${RUN_AS[@]}" "$BIN/initdb" -D "$DATA/db" -U tracerisk --auth=trust -E UTF8 >&2
"${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA/db" -l "$DATA/log" -w \
  -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >&2
"${RUN_AS[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U tracerisk tracerisk >&2
echo "export TRACERISK_TEST_POSTGRES_URL=postgresql+psycopg://tracerisk@127.0.0.1:$PORT/tracerisk"
# How to stop it and remove its files (.ci/run does this on exit).
echo "export TRACERISK_TEST_POSTGRES_STOP='${RUN_AS[*]} $BIN/pg_ctl -D $DATA/db -m fast -w stop; rm -rf $DATA'"
