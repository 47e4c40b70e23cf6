"""Pure pieces behind the desk and chat pages: who can take a waiting contact, the live
message event the desk pushes, and the transcript text mailed to a customer."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.contacts import Channel, ContactMessageReceived, ContactMessageSent
from services.conversations import Message
from services.desk.threads import message_event
from services.gateway.chat_transcript import looks_like_address, transcript_text
from services.queue_view import can_take

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_an_agent_can_take_a_contact_when_every_skill_is_at_the_level_needed() -> None:
    agent = {"billing": 3, "lang_de": 1}
    assert can_take(agent, {})
    assert can_take(agent, {"billing": 3, "lang_de": 1})
    assert not can_take(agent, {"billing": 4})
    assert not can_take(agent, {"orders": 0})


def test_message_events_carry_direction_author_channel_and_time() -> None:
    received = ContactMessageReceived(
        event_id="sms:SM1",
        pool_id="p",
        contact_id="c1",
        channel=Channel.SMS,
        body="Hello",
        message_id="SM1",
        occurred_at=AT,
    )
    sent = ContactMessageSent(
        event_id="sent:m2",
        pool_id="p",
        contact_id="c1",
        channel=Channel.SMS,
        agent_id="dana",
        body="Hi",
        message_id="m2",
        occurred_at=AT,
    )
    assert message_event(received) == {
        "type": "message",
        "message": {
            "contact_id": "c1",
            "message_id": "SM1",
            "direction": "in",
            "author": None,
            "body": "Hello",
            "channel": "sms",
            "at": "2026-03-02T09:30:00+00:00",
        },
    }
    assert message_event(sent)["message"] | {"body": "x"} == {
        "contact_id": "c1",
        "message_id": "m2",
        "direction": "out",
        "author": "dana",
        "body": "x",
        "channel": "sms",
        "at": "2026-03-02T09:30:00+00:00",
    }


def test_the_transcript_names_the_customer_you_and_the_agent_by_name() -> None:
    messages = [
        Message("m1", "c", "in", "grace", "Where is it?", {}, AT),
        Message("m2", "c", "out", "dana", "On its way.", {}, AT),
    ]
    assert transcript_text(messages, {"dana": "Dana"}) == (
        "[2026-03-02 09:30 UTC] You: Where is it?\n[2026-03-02 09:30 UTC] Dana: On its way.\n"
    )
    assert looks_like_address("grace@example.com")
    assert not looks_like_address("grace@localhost") and not looks_like_address("a b@x.io")
