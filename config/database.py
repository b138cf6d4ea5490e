"""Database settings: `DATABASE_URL` when set, otherwise an embedded PostgreSQL.

The embedded server comes from the `pgserver` package (a real PostgreSQL 16) with its data
under `.local/postgres` in the checkout. It is started on first use and left running, so the
next `make run` or `make test` reuses it in well under a second.
"""

import logging
import os
from pathlib import Path

import psycopg

EMBEDDED_DB_NAME = "engagex"


def _running_socket_dir(pgdata: Path) -> str | None:
    """The socket folder of a server already running on `pgdata`, read from postmaster.pid.

    Every Django process (web and task workers, test clusters) imports the settings; only
    when no server runs yet do we go through pgserver, whose shared bookkeeping file does
    not survive many processes starting at once.
    """
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, socket_dir, status = int(lines[0]), lines[4].strip(), lines[7].strip()
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    if status != "ready" or not socket_dir or not (Path(socket_dir) / ".s.PGSQL.5432").exists():
        return None
    return socket_dir


def embedded_server_info(base_dir: Path):
    """Start (or find) the embedded server and return its postmaster info."""
    runtime_dir = base_dir / ".local" / "run"
    runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    runtime_dir.chmod(0o700)
    # platformdirs (used by pgserver) warns on every start when this is unset.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import pgserver

    # pgserver logs every start-up step at INFO; our own console does not need them.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    pgdata = base_dir / ".local" / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    return server.get_postmaster_info()


def embedded_database(base_dir: Path, name: str = EMBEDDED_DB_NAME) -> dict:
    """Return Django DATABASES["default"] entries for the embedded server, creating the DB."""
    socket_dir = _running_socket_dir(base_dir / ".local" / "postgres")
    if socket_dir:
        host, port = socket_dir, ""
    else:
        info = embedded_server_info(base_dir)
        host = str(info.socket_dir) if info.socket_dir else info.hostname
        port = str(info.port or "")
    with psycopg.connect(
        host=host, port=port or None, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return {"NAME": name, "USER": "postgres", "PASSWORD": "", "HOST": host, "PORT": port}


def database_settings(env, base_dir: Path) -> dict:
    """Return DATABASES["default"] for django-tenants' PostgreSQL backend."""
    if env.str("DATABASE_URL", default=""):
        config = env.db("DATABASE_URL")
    else:
        config = embedded_database(base_dir)
    config["ENGINE"] = "django_tenants.postgresql_backend"
    config.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
    return config
