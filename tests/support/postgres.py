"""A throwaway PostgreSQL cluster for the store's tests, and a `database_url` fixture for both dialects.

The cluster is `initdb` + `pg_ctl` on a temporary folder, listening on a free port of 127.0.0.1 with
trust authentication, fsync off (it is thrown away). PostgreSQL refuses to run as root, so under root
it runs as `nobody`. Where the binaries, the driver or an unprivileged account are missing, the
PostgreSQL cases are skipped with the reason; the SQLite ones still run.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

DIALECTS = ("sqlite", "postgresql")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _binary(name: str) -> str | None:
    """`name` on PATH, else in Debian's versioned folder (/usr/lib/postgresql/<version>/bin), where the
    `postgresql` package puts initdb and pg_ctl without linking them onto PATH."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                      key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return str(versions[-1]) if versions else None


def _why_not() -> str | None:
    for binary in ("initdb", "pg_ctl"):
        if _binary(binary) is None:
            return (f"PostgreSQL's `{binary}` is neither on PATH nor in /usr/lib/postgresql/*/bin: install the "
                    "server (Debian: apt-get install postgresql; .ci/run tries that) to run the store's tests "
                    "against PostgreSQL")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the PostgreSQL driver is missing: pip install 'psycopg[binary]' (the test extra pins it)"
    return None


def _account() -> dict[str, Any]:
    """Run the server's commands as `nobody` when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root with no `nobody` account to run PostgreSQL as")
    return {"user": entry.pw_uid, "group": entry.pw_gid}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a running throwaway cluster's `postgres` database (superuser `tutor`)."""
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    account = _account()
    root = Path(tempfile.mkdtemp(prefix="tutor-pg-"))
    if account:
        os.chown(root, account["user"], account["group"])
    data, port = root / "data", _free_port()

    initdb, pg_ctl = _binary("initdb") or "initdb", _binary("pg_ctl") or "pg_ctl"

    def run(*command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, timeout=120, cwd=root, **account)

    run(initdb, "-D", str(data), "-A", "trust", "-U", "tutor", "--no-sync", "-E", "UTF8")
    run(pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "start", "-o",
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} -c fsync=off "
        "-c max_connections=200")
    try:
        yield f"postgresql+psycopg://tutor@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run((pg_ctl, "-D", str(data), "-m", "immediate", "stop"), capture_output=True, timeout=60,
                       check=False, **account)
        shutil.rmtree(root, ignore_errors=True)


def fresh_postgres(server: str) -> str:
    """A new empty database on the cluster, so each test starts clean."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=DIALECTS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, then a PostgreSQL database (skipped, with the reason,
    where the server cannot run here)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tutor.db'}"
    return fresh_postgres(request.getfixturevalue("postgres_server"))
