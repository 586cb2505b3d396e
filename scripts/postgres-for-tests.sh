#!/bin/sh
# Best effort: make PostgreSQL's server binaries available to the store's tests (tests/support/postgres.py),
# which start a throwaway cluster with initdb and pg_ctl. It never fails the command it is part of:
# where the server cannot be installed (not root, no apt-get, no network), the PostgreSQL cases are
# skipped with that reason and the SQLite cases still run.
#   - already there (on PATH or in Debian's /usr/lib/postgresql/*/bin): nothing to do;
#   - root with apt-get (CI, a container): installs Debian's `postgresql` package (about a minute);
#   - otherwise: says how to install it, and goes on.
found() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
if found; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "postgres-for-tests: installing Debian's postgresql package for the store's tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q --no-install-recommends postgresql; } >/dev/null 2>&1 \
        || echo "postgres-for-tests: could not install postgresql; its tests will be skipped" >&2
else
    echo "postgres-for-tests: no PostgreSQL server here; its tests will be skipped" \
         "(install Debian's postgresql, or your system's, to run them)" >&2
fi
exit 0
