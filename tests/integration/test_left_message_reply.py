"""A chat left as a message is answered like an e-mail: the agent's reply goes to the address
the customer gave, through the real SMTP relay, and stays in the chat's thread; a live chat's
reply sends no e-mail."""

from __future__ import annotations

import json
from collections.abc import Sequence

import asyncpg
import pytest

from schemas.base import Record
from schemas.topics import TopicSpec
from services.conversations import Conversation, ConversationStore
from services.customers import CustomerDirectory
from services.desk.auth import Agent
from services.desk.channels import ChannelActions
from streams.platform.settings import DeskSettings
from tests.support.channels import smtp_relay

pytestmark = pytest.mark.integration


class _Published:
    def __init__(self) -> None:
        self.records: list[Record] = []

    async def publish(self, topic: TopicSpec, key: str, record: Record) -> None:
        self.records.append(record)

    async def publish_many(self, topic: TopicSpec, items: Sequence[tuple[str, Record]]) -> None:
        self.records.extend(record for _key, record in items)


async def test_the_answer_to_a_chat_left_as_a_message_is_e_mailed(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        conversations = ConversationStore(pool)
        for contact_id, chat_id in (("chat-left", "amelie"), ("chat-live", "grace")):
            await conversations.create(
                Conversation(contact_id, "default", "chat", chat_id, subject="Ma commande")
            )
        await pool.execute(
            'INSERT INTO interaction_events (event_id, type, topic, partition, "offset",'
            " pool_id, contact_id, occurred_at, payload) VALUES ('chat-left:left-message',"
            " 'chat_left_as_message', 'contacts', 0, 0, 'default', 'chat-left', now(), $1::jsonb)",
            json.dumps({"reply_to": "amelie@example.fr"}),
        )
        async with smtp_relay() as (relay, port):
            settings = DeskSettings(
                database_url=database_url,
                smtp_relay_host="127.0.0.1",
                smtp_relay_port=port,
                support_email="support@shop.example",
            )
            published = _Published()
            actions = ChannelActions(settings, conversations, CustomerDirectory(pool), published)
            agent = Agent("fr-1", "default", "Camille", {"lang_fr": 5})
            for contact_id in ("chat-left", "chat-live"):
                conversation = await conversations.get(contact_id)
                assert conversation is not None
                await actions.reply(
                    conversation, agent, f"Bonjour, voici la réponse ({contact_id})"
                )
            thread = await conversations.messages("chat-left")
    finally:
        await pool.close()
    [mail] = relay.messages  # the live chat's reply sends no e-mail
    assert mail["To"] == "amelie@example.fr" and mail["From"] == "support@shop.example"
    assert mail["Subject"] == "Re: Ma commande"
    assert "voici la réponse (chat-left)" in mail.get_content()
    assert [m.meta.get("emailed_to") for m in thread if m.direction == "out"] == [
        "amelie@example.fr"
    ]
    assert len(published.records) == 2  # both reach the chat too (read when they come back)
