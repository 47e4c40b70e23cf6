"""Fuzzed inputs on every topic a worker consumes: each is dead-lettered with a reason (or, on
the interactions topic, counted by the interaction log, which documents that it skips records it
cannot decode), the worker does not crash, and routing goes on."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from schemas import agents as ag
from schemas import contacts as ct
from schemas import routing as rt
from schemas.base import SUPPORTED_SCHEMA_VERSIONS
from schemas.codec import AGENT_INPUTS, CONTACT_INPUTS, RECORD_TYPES, InvalidMessage, decode
from schemas.routing import DeadLettered, OfferMade
from schemas.topics import (
    AGENT_EVENTS,
    CONTACTS,
    DEAD_LETTER,
    INTERACTIONS,
    OFFERS,
    ROUTING,
    SHIPMENTS,
    TopicSpec,
)
from services.bus import TopicReader, open_bus
from services.runtime.broker import free_port
from streams.notices.processor import SHIPMENT_TYPES
from streams.platform.settings import Settings
from streams.routing.translate import ROUTED_TYPES
from tests.support.metrics import scrape, total
from tests.support.records import datetime_fields, example, required_fields
from tests.support.workers import eventually, running_worker

pytestmark = pytest.mark.integration

PER_TOPIC = 40
INTERACTION_TYPES = frozenset(t for t, c in RECORD_TYPES.items() if issubclass(c, rt.RoutingOutput))
# the record types each consumed topic carries; a fuzzed payload starts from one of them
TOPIC_TYPES: dict[TopicSpec, frozenset[str]] = {
    CONTACTS: CONTACT_INPUTS,
    AGENT_EVENTS: AGENT_INPUTS,
    ROUTING: ROUTED_TYPES,
    SHIPMENTS: SHIPMENT_TYPES,
    INTERACTIONS: INTERACTION_TYPES,
}
DEAD_LETTERED = (CONTACTS, AGENT_EVENTS, ROUTING, SHIPMENTS)
# the interaction log reads contacts, agent-events and interactions and counts what it skips
COUNTED_BY_THE_LOG = (CONTACTS, AGENT_EVENTS, INTERACTIONS)

JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@st.composite
def wrong_record(draw: st.DrawFn, type_names: frozenset[str]) -> bytes:
    """A record of the topic's types, made wrong in one of the ways the codec must catch."""
    type_name = draw(st.sampled_from(sorted(type_names)))
    record_type = RECORD_TYPES[type_name]
    body: dict[str, Any] = example(record_type)
    mistake = draw(
        st.sampled_from(
            ["wrong_type", "missing", "unknown_type", "version", "naive", "huge", "extra"]
        )
    )
    if mistake == "wrong_type":
        body[draw(st.sampled_from(sorted(body)))] = draw(JSON_VALUES)
    elif mistake == "missing":
        del body[draw(st.sampled_from(["type", *required_fields(record_type)]))]
    elif mistake == "unknown_type":
        body["type"] = draw(st.text(max_size=30).filter(lambda t: t not in RECORD_TYPES))
    elif mistake == "version":
        body["schema_version"] = draw(
            st.integers().filter(lambda v: v not in SUPPORTED_SCHEMA_VERSIONS)
        )
    elif mistake == "naive":
        moment = draw(st.datetimes()).isoformat()
        body[draw(st.sampled_from(datetime_fields(record_type)))] = moment
    elif mistake == "huge":
        body["event_id"] = "x" * draw(st.integers(201, 300_000))
    else:
        body[draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in body))] = 1
    return json.dumps(body).encode()


def invalid(raw: bytes) -> bool:
    try:
        decode(raw)
    except InvalidMessage:
        return True
    return False


def payloads(type_names: frozenset[str]) -> st.SearchStrategy[tuple[bytes | None, bytes]]:
    keys = st.one_of(st.none(), st.binary(max_size=40))
    values = st.one_of(st.binary(max_size=3000), wrong_record(type_names)).filter(invalid)
    return st.tuples(keys, values)


def generate(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` values of ``strategy``, the same ones on every run."""
    found: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(value: Any) -> None:
        found.append(value)

    collect()
    return found[:count]


async def test_fuzzed_inputs_are_dead_lettered_and_the_worker_keeps_routing(
    settings: Settings, tmp_path: Path
) -> None:
    fuzz = {topic: generate(payloads(types), PER_TOPIC) for topic, types in TOPIC_TYPES.items()}
    assert all(len(items) == PER_TOPIC for items in fuzz.values())
    port = free_port()
    log = tmp_path / "worker.log"
    with running_worker(settings, log, metrics_port=port) as worker:
        pid = worker.pid
        async with open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus:
            for topic, items in fuzz.items():
                for key, value in items:
                    await bus.publish_raw(topic, key, value)
            pool = "after-fuzz"
            await bus.publish(AGENT_EVENTS, "a1", ag.AgentLoggedIn(pool_id=pool, agent_id="a1"))
            await bus.publish(AGENT_EVENTS, "a1", ag.AgentReady(pool_id=pool, agent_id="a1"))
            await bus.publish(
                CONTACTS,
                "valid",
                ct.ContactArrived(pool_id=pool, contact_id="valid", channel=ct.Channel.VOICE),
            )

        expected = Counter(
            (topic.full_name(settings.topic_prefix), hashlib.sha256(value).hexdigest())
            for topic in DEAD_LETTERED
            for _key, value in fuzz[topic]
        )
        letters: list[DeadLettered] = []
        offers: list[OfferMade] = []
        reader = TopicReader(
            settings.kafka_bootstrap_servers, settings.topic_prefix, [DEAD_LETTER, OFFERS]
        )
        async with reader:

            async def all_seen() -> bool:
                for record in await reader.records(0.3):
                    if isinstance(record, DeadLettered):
                        letters.append(record)
                    elif isinstance(record, OfferMade):
                        offers.append(record)
                routed = any(o.contact_id == "valid" for o in offers)
                return routed and len(letters) >= sum(expected.values())

            await eventually(all_seen, 60, "every dead letter and the valid contact's offer")

        skipped = "contactcenter_errors_total"

        async def all_counted() -> bool:
            samples = await asyncio.to_thread(scrape, port)
            counted = total(samples, skipped, component="interaction_log", kind="undecodable")
            return counted >= len(COUNTED_BY_THE_LOG) * PER_TOPIC

        await eventually(all_counted, 30, "the interaction log counting what it skipped")
        samples = await asyncio.to_thread(scrape, port)
        assert worker.poll() is None and worker.pid == pid
    worker_log = log.read_text()
    assert "Crashed reason" not in worker_log, worker_log[-5000:]

    assert all(letter.reason.strip() for letter in letters)
    seen = Counter((letter.source_topic, letter.payload_sha256) for letter in letters)
    assert seen == expected
    counted = total(samples, skipped, component="interaction_log", kind="undecodable")
    assert counted == len(COUNTED_BY_THE_LOG) * PER_TOPIC
    for topic in DEAD_LETTERED:
        metric = total(samples, "contactcenter_dead_letters_total", source_topic=topic.name)
        assert metric == PER_TOPIC, topic.name
