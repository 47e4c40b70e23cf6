"""Create the project's topics explicitly from the table in schemas.topics."""

from __future__ import annotations

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.topics import ALL_TOPICS, TopicSpec


def _configs(spec: TopicSpec) -> dict[str, str]:
    configs = {"cleanup.policy": "compact"} if spec.compacted else {}
    if spec.retention_ms is not None:
        configs["retention.ms"] = str(spec.retention_ms)
    return configs


async def ensure_topics(
    bootstrap_servers: str, prefix: str = "", topics: tuple[TopicSpec, ...] = ALL_TOPICS
) -> list[str]:
    """Create missing topics; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=spec.full_name(prefix),
                num_partitions=spec.partitions,
                replication_factor=1,
                topic_configs=_configs(spec),
            )
            for spec in topics
            if spec.full_name(prefix) not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
        return [t.name for t in wanted]
    finally:
        await admin.close()
