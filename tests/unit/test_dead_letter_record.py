"""The one builder of dead letters: bounded, and still naming the whole original."""

from __future__ import annotations

import base64
import hashlib

from schemas.codec import decode
from schemas.routing import DeadLettered
from streams.platform.deps import (
    DEAD_LETTER_KEY_BYTES,
    DEAD_LETTER_PAYLOAD_BYTES,
    MAX_DEAD_LETTER_BYTES,
    dead_letter_record,
)


def test_the_worst_input_still_makes_a_dead_letter_below_the_bound() -> None:
    payload = bytes(range(256)) * 40_000  # 10 MB
    key = b"\xff" * 1_000_000
    reason = "\U0001f600" * 50_000  # escaped to 12 bytes a character in JSON
    record = dead_letter_record(reason, "t" * 5000, payload, key, 3, 42)
    value = record.to_bytes()
    assert len(value) <= MAX_DEAD_LETTER_BYTES
    letter = decode(value)
    assert isinstance(letter, DeadLettered)
    assert letter.payload_size == len(payload)
    assert letter.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert letter.payload_truncated
    assert base64.b64decode(letter.payload_b64) == payload[:DEAD_LETTER_PAYLOAD_BYTES]
    assert letter.key_truncated
    assert letter.key_b64 is not None
    assert base64.b64decode(letter.key_b64) == key[:DEAD_LETTER_KEY_BYTES]
    assert (letter.source_partition, letter.source_offset) == (3, 42)


def test_a_small_input_is_kept_whole() -> None:
    record = dead_letter_record("not JSON: x", "contacts", b"hello", b"k")
    assert base64.b64decode(record.payload_b64) == b"hello"
    assert record.key_b64 == base64.b64encode(b"k").decode()
    assert not record.payload_truncated and not record.key_truncated
    assert record.payload_size == 5
    assert record.payload_sha256 == hashlib.sha256(b"hello").hexdigest()


def test_a_missing_payload_is_an_empty_one() -> None:
    record = dead_letter_record("empty payload", "contacts", None)
    assert (record.payload_b64, record.payload_size, record.key_b64) == ("", 0, None)
    assert record.payload_sha256 == hashlib.sha256(b"").hexdigest()


def test_dead_letters_written_before_the_size_fields_still_decode() -> None:
    old = (
        b'{"type":"dead_lettered","schema_version":1,"event_id":"e1",'
        b'"occurred_at":"2024-01-01T00:00:00Z","reason":"not JSON","source_topic":"contacts",'
        b'"source_partition":0,"source_offset":7,"key_b64":null,"payload_b64":"eA=="}'
    )
    letter = decode(old)
    assert isinstance(letter, DeadLettered)
    assert (letter.payload_size, letter.payload_sha256, letter.payload_truncated) == (
        None,
        None,
        False,
    )
