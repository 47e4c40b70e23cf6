"""Oversized inputs reach the dead-letter topic in a bounded record, through a real worker."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas.codec import decode
from schemas.routing import DeadLettered, OfferMade
from schemas.topics import AGENT_EVENTS, CONTACTS, DEAD_LETTER, OFFERS, ROUTING
from services.bus import TopicReader, open_bus
from services.runtime.broker import free_port
from streams.platform.deps import DEAD_LETTER_PAYLOAD_BYTES, MAX_DEAD_LETTER_BYTES
from streams.platform.settings import Settings
from tests.support.metrics import scrape, total
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration

POOL = "oversized"


def huge_arrival(contact_id: str, size: int) -> bytes:
    """A contact_arrived of about ``size`` bytes (its subject is far too long)."""
    body = {
        "type": "contact_arrived",
        "pool_id": POOL,
        "contact_id": contact_id,
        "channel": "voice",
        "subject": "x" * size,
    }
    return json.dumps(body).encode()


@pytest.fixture
async def dead_letters(settings: Settings) -> AsyncIterator[TopicReader]:
    reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix, [DEAD_LETTER])
    async with reader:
        yield reader


async def test_oversized_inputs_are_dead_lettered_and_routing_continues(
    settings: Settings, tmp_path: Path, dead_letters: TopicReader
) -> None:
    too_large = huge_arrival("too-large", 1_000_000)  # over the codec's limit
    too_long = huge_arrival("too-long", 900_000)  # within it, but the subject is invalid
    on_routing = huge_arrival("on-routing", 1_000_000)
    long_key = b"k" * 300_000
    inputs = {
        (CONTACTS.name, too_large): ("exceeds", b"too-large"),
        (CONTACTS.name, too_long): ("invalid contact_arrived", b"too-long"),
        (CONTACTS.name, b"not json"): ("not JSON", long_key),
        (ROUTING.name, on_routing): ("exceeds", POOL.encode()),
    }
    port = free_port()
    with running_worker(settings, tmp_path / "worker.log", metrics_port=port) as worker:
        async with open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus:
            for (topic, payload), (_reason, key) in inputs.items():
                spec = ROUTING if topic == ROUTING.name else CONTACTS
                await bus.publish_raw(spec, key, payload)
            # the same pool, so the same routing partition as the oversized routing record
            await bus.publish(AGENT_EVENTS, "a1", ag.AgentLoggedIn(pool_id=POOL, agent_id="a1"))
            await bus.publish(AGENT_EVENTS, "a1", ag.AgentReady(pool_id=POOL, agent_id="a1"))
            await bus.publish(
                CONTACTS,
                "after",
                ct.ContactArrived(pool_id=POOL, contact_id="after", channel=ct.Channel.VOICE),
            )

        reader = TopicReader(settings.kafka_bootstrap_servers, settings.topic_prefix, [OFFERS])
        async with reader:

            async def offered() -> bool:
                records = await reader.records(0.3)
                return any(isinstance(r, OfferMade) and r.contact_id == "after" for r in records)

            await eventually(offered, 60, "the contact after the oversized inputs routed")

        raw: list[bytes] = []

        async def all_dead_lettered() -> bool:
            raw.extend(value for _t, _k, value in await dead_letters.read(0.3))
            return len(raw) >= len(inputs)

        await eventually(all_dead_lettered, 30, "a dead letter for every oversized input")
        samples = await asyncio.to_thread(scrape, port)
        assert worker.poll() is None

    assert all(len(value) <= MAX_DEAD_LETTER_BYTES for value in raw), [len(v) for v in raw]
    letters = [decode(value) for value in raw]
    assert all(isinstance(letter, DeadLettered) for letter in letters)
    by_hash = {
        letter.payload_sha256: letter for letter in letters if isinstance(letter, DeadLettered)
    }
    for (topic, payload), (reason, key) in inputs.items():
        letter = by_hash[hashlib.sha256(payload).hexdigest()]
        assert reason in letter.reason
        assert letter.source_topic == f"{settings.topic_prefix}{topic}"
        assert letter.payload_size == len(payload)
        kept = base64.b64decode(letter.payload_b64)
        assert kept == payload[:DEAD_LETTER_PAYLOAD_BYTES]
        assert letter.payload_truncated == (len(payload) > DEAD_LETTER_PAYLOAD_BYTES)
        assert letter.key_b64 is not None
        assert key.startswith(base64.b64decode(letter.key_b64))
        assert letter.key_truncated == (key == long_key)

    metric = "contactcenter_dead_letters_total"
    assert total(samples, metric, source_topic=CONTACTS.name, reason="too_large") == 1
    assert total(samples, metric, source_topic=CONTACTS.name, reason="invalid_record") == 1
    assert total(samples, metric, source_topic=CONTACTS.name, reason="not_json") == 1
    assert total(samples, metric, source_topic=ROUTING.name, reason="too_large") == 1
