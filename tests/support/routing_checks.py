"""Checks on what routing published: the safety properties that must survive crashes."""

from __future__ import annotations

from collections import defaultdict

from schemas.codec import decode
from schemas.routing import OfferMade
from schemas.topics import INTERACTIONS
from services.bus import TopicReader
from streams.platform.settings import Settings
from tests.support.workers import eventually


async def offers_made(
    settings: Settings, expected_contacts: int
) -> dict[str, set[tuple[str, str]]]:
    """Every (offer id, agent id) published per contact on the interactions topic, read until
    at least ``expected_contacts`` contacts have offers (then once more for stragglers)."""
    offered: dict[str, set[tuple[str, str]]] = defaultdict(set)
    reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix, [INTERACTIONS])
    async with reader:

        async def read_all() -> bool:
            for _topic, _key, value in await reader.read(0.5):
                record = decode(value)
                if isinstance(record, OfferMade):
                    offered[record.contact_id].add((record.offer_id, record.agent_id))
            return len(offered) >= expected_contacts

        await eventually(read_all, 30, "offers on the interactions topic")
        await read_all()
    return offered


def assert_single_offers_within_capacity(
    offered: dict[str, set[tuple[str, str]]], contacts: int, capacity: int
) -> None:
    """Never one contact offered to two agents (a replay reproduces the very same offer), and
    every agent holds exactly ``capacity`` offers."""
    assert len(offered) == contacts
    doubled = {contact: made for contact, made in offered.items() if len(made) > 1}
    assert not doubled, doubled
    load: dict[str, int] = defaultdict(int)
    for made in offered.values():
        ((_offer_id, agent_id),) = made
        load[agent_id] += 1
    assert set(load.values()) == {capacity}
