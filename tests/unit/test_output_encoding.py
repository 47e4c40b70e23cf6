"""Routing outputs encoded on the hot path (no model built) are the records the schemas
define: every decision kind of a randomized day decodes to the record the typed path builds,
and its bytes are canonical (re-encoding the decoded record gives them back)."""

from __future__ import annotations

from datetime import timedelta

from schemas.base import Record
from schemas.codec import decode
from streams.routing.domain import PoolConfig, Router
from streams.routing.domain.relaxation import RelaxStep
from streams.routing.translate import OUTPUT_TYPES, encode_output, to_output
from tests.unit.domain.randomized import Traffic
from tests.unit.domain.scenario import START


class _Cause(Record):
    pass


def test_every_decision_kind_encodes_to_its_schema_record() -> None:
    steps = (RelaxStep(20, lower_by=2), RelaxStep(60, any_agent=True))  # relaxed outputs too
    config = PoolConfig(max_missed_offers=2, offer_timeout_seconds=15, relaxation={"*": steps})
    router = Router(config, "p")
    traffic = Traffic(5, 4)
    cause = _Cause(event_id="cause-1")
    now = START + 0.123456
    kinds: set[str] = set()
    for _ in range(1500):
        now += traffic.advance()
        for index, decision in enumerate(router.handle(traffic.next_event(router, now), now)):
            fast = encode_output(decision, pool_id="p", cause_id="cause-1", index=index, now=now)
            typed = to_output(decision, pool_id="p", cause=cause, index=index, now=now)
            decoded = decode(fast.value)
            assert decoded.to_bytes() == fast.value
            assert type(decoded) is type(typed) and decoded.event_id == typed.event_id
            for name, value in typed.model_dump().items():
                expected = getattr(decoded, name)
                if hasattr(value, "timestamp"):
                    assert abs(expected - value) <= timedelta(microseconds=1), name
                else:
                    assert expected == value, name
            kinds.add(decision.kind)
    assert kinds == set(OUTPUT_TYPES)
