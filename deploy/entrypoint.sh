#!/bin/sh
# Secrets from files: for each NAME below, when NAME_FILE names a readable file, export NAME with the file's
# content (trailing newlines dropped) and unset NAME_FILE; then run the command. Setting both is refused.
#   TRACERISK_SECRET_KEY             keys token hashes and the audit hash chain
#   PGPASSWORD                       the serving store's PostgreSQL password (libpq reads it; no password in URLs)
#   PREFECT_SERVER_DATABASE_PASSWORD the Prefect server's database password
# TRACERISK_PSEUDONYM_KEY_FILE is read by tracerisk itself and left as it is.
set -eu
for name in TRACERISK_SECRET_KEY PGPASSWORD PREFECT_SERVER_DATABASE_PASSWORD; do
  eval "file=\${${name}_FILE:-}"
  [ -n "$file" ] || continue
  eval "already=\${${name}:-}"
  if [ -n "$already" ]; then
    echo "tracerisk-entrypoint: both $name and ${name}_FILE are set; set one" >&2
    exit 2
  fi
  if [ ! -r "$file" ]; then
    echo "tracerisk-entrypoint: ${name}_FILE=$file is not a readable file" >&2
    exit 2
  fi
  value=$(cat "$file")
  export "$name=$value"
  unset "${name}_FILE"
done
exec "$@"
