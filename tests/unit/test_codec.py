"""Record contracts: round trips, clear rejection reasons, exported JSON Schemas."""

from __future__ import annotations

import json

import pytest

from schemas import agents as ag
from schemas import contacts as ct
from schemas.codec import (
    AGENT_INPUTS,
    CONTACT_INPUTS,
    MAX_MESSAGE_BYTES,
    InvalidMessage,
    decode,
    json_schemas,
)
from schemas.topics import ALL_TOPICS


def test_records_round_trip_through_bytes() -> None:
    record = ct.ContactArrived(
        pool_id="p",
        contact_id="c",
        channel=ct.Channel.CHAT,
        customer_class="vip",
        skills={"fr": 3},
        customer=ct.CustomerRef(email="a@example.com"),
    )
    assert decode(record.to_bytes()) == record
    assert json.loads(record.to_bytes())["type"] == "contact_arrived"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty payload"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"pool_id": "p"}', "missing 'type'"),
        (b'{"type": "contact_vanished"}', "unknown record type 'contact_vanished'"),
        (b'{"type": "contact_arrived", "schema_version": 2}', "unsupported schema_version 2"),
        (
            b'{"type": "contact_arrived", "pool_id": "p", "contact_id": "c", "channel": "fax"}',
            "invalid contact_arrived: channel",
        ),
        (
            b'{"type": "agent_ready", "pool_id": "p", "agent_id": "a", "surprise": 1}',
            "surprise: Extra inputs are not permitted",
        ),
        (
            b'{"type": "contact_ended", "pool_id": "p", "contact_id": "c",'
            b' "occurred_at": "2026-01-01T10:00:00"}',
            "occurred_at",
        ),
        (b"x" * (MAX_MESSAGE_BYTES + 1), "exceeds"),
    ],
)
def test_bad_payloads_are_rejected_with_a_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(raw)
    assert reason in caught.value.reason


def test_accept_limits_the_record_types_of_a_topic() -> None:
    ready = ag.AgentReady(pool_id="p", agent_id="a").to_bytes()
    assert decode(ready, accept=AGENT_INPUTS).TYPE == "agent_ready"
    with pytest.raises(InvalidMessage, match="unknown record type 'agent_ready'"):
        decode(ready, accept=CONTACT_INPUTS)


def test_every_record_exports_a_json_schema_with_its_type() -> None:
    schemas = json_schemas()
    assert {"contact_arrived", "offer_made", "dead_lettered", "agent_ready"} <= set(schemas)
    arrived = schemas["contact_arrived"]
    assert arrived["properties"]["type"] == {"const": "contact_arrived"}
    assert {"type", "pool_id", "contact_id", "channel"} <= set(arrived["required"])


def test_topic_table_names_are_unique_and_keyed() -> None:
    names = [t.name for t in ALL_TOPICS]
    assert len(names) == len(set(names))
    assert all(t.partitions >= 1 and t.key for t in ALL_TOPICS)


@pytest.mark.parametrize(
    ("escaped", "where"),
    [
        ('"contact_id":"a\\u0000b"', "(record).contact_id"),
        ('"contact_id":"c","skills":{"x\\u0000":1}', "(record).skills"),
        ('"contact_id":"c","subject":"\\udc00 lone"', "(record).subject"),
    ],
)
def test_text_postgresql_cannot_store_is_rejected_before_it_stalls_a_writer(
    escaped: str, where: str
) -> None:
    raw = ('{"type":"contact_arrived","pool_id":"p","channel":"chat",' + escaped + "}").encode()
    with pytest.raises(InvalidMessage) as caught:
        decode(raw)
    assert caught.value.reason.startswith(where)
    assert "NUL character or a lone surrogate" in caught.value.reason


def test_escaped_text_that_postgresql_stores_is_accepted() -> None:
    raw = b'{"type":"contact_arrived","pool_id":"p","channel":"chat",' + (
        b'"contact_id":"\\ud83d\\ude00 \\u00e9"}'
    )
    record = decode(raw)
    assert isinstance(record, ct.ContactArrived) and record.contact_id == "\U0001f600 \u00e9"
