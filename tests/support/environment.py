"""A deployment of its own for a test module: its own topics, database and consumer group."""

from __future__ import annotations

from services.runtime import local
from services.runtime.broker import LocalBroker
from streams.platform.settings import Settings


async def isolated_settings(
    broker: LocalBroker, postgres_server_url: str, **values: object
) -> Settings:
    """Settings pointing at freshly created topics (unique prefix) and a fresh migrated
    database on the shared servers, plus ``values``."""
    return await local.isolated_settings(broker.bootstrap_servers, postgres_server_url, **values)
