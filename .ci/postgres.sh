#!/usr/bin/env bash
# Starts Debian's PostgreSQL (installing it when missing) and makes the role the cluster-mode tests use:
#   Host=127.0.0.1;Port=5432;Username=particlegrid;Password=particlegrid;Database=postgres
# The role may create databases: each test makes its own and drops it. It also owns a database `particlegrid` for a
# cluster started by hand (README): PostgreSQL 15 gives a role no CREATE on schema public of a database it does not own.
set -euo pipefail
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  pg_createcluster "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start 2>/dev/null || pg_ctlcluster "$version" main status >/dev/null
for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qtAc \"DO \\\$\\\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'particlegrid') THEN
    CREATE ROLE particlegrid LOGIN PASSWORD 'particlegrid' CREATEDB;
  END IF;
END \\\$\\\$;\"" >/dev/null
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'particlegrid'\"" | grep -q 1 \
  || su postgres -c "createdb -O particlegrid particlegrid"
echo "PostgreSQL $version on 127.0.0.1:5432 (role particlegrid, database particlegrid)"
