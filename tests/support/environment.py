"""A deployment of its own for a test module: its own topics, database and consumer group."""

from __future__ import annotations

import uuid

from services.runtime.broker import LocalBroker
from services.runtime.postgres import create_database
from streams.adapters.migrations import migrate
from streams.adapters.topics import ensure_topics
from streams.platform.settings import Settings


async def isolated_settings(
    broker: LocalBroker, postgres_server_url: str, **values: object
) -> Settings:
    """Settings pointing at freshly created topics (unique prefix) and a fresh migrated
    database on the shared servers, plus ``values``."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    await ensure_topics(broker.bootstrap_servers, prefix)
    url = await create_database(postgres_server_url)
    await migrate(url)
    base = Settings(
        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
        DATABASE_URL=url,
        topic_prefix=prefix,
        app_id=f"cc-{prefix.rstrip('.')}",
    )
    return base.with_values(**values) if values else base
