"""The transfer record the desk publishes and the routing input it becomes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas import agents as ag
from schemas.codec import decode
from streams.routing import domain
from streams.routing.translate import to_domain


def test_a_transfer_to_a_named_agent_reaches_routing_with_the_agent_and_the_note() -> None:
    record = ag.ContactTransferred(
        event_id="c1:transfer:p-1",
        pool_id="default",
        agent_id="dana",
        contact_id="c1",
        skills={},
        reason="refund agreed",
        to_agent_id="omar",
    )
    again = decode(record.to_bytes())
    assert again == record
    assert to_domain(again) == domain.ContactTransferred(
        contact_id="c1", agent_id="dana", skills={}, reason="refund agreed", to_agent_id="omar"
    )


def test_a_transfer_names_a_queue_or_an_agent() -> None:
    with pytest.raises(ValidationError):
        ag.ContactTransferred(pool_id="default", agent_id="dana", contact_id="c1", skills={})
    queue = ag.ContactTransferred(
        pool_id="default", agent_id="dana", contact_id="c1", skills={"billing": 1}
    )
    assert to_domain(queue) == domain.ContactTransferred("c1", "dana", {"billing": 1})
