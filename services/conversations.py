"""Conversations the gateway opened and their messages, in PostgreSQL (004_channels.sql).

The gateway threads inbound traffic here (an SMS number's open thread, an e-mail's
Message-ID chain, a chat session) and the desk reads it back to reply on the right channel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class Conversation:
    contact_id: str
    pool_id: str
    channel: str
    address: str
    our_address: str | None = None
    external_id: str | None = None
    customer_id: str | None = None
    customer_class: str = "standard"
    subject: str | None = None
    callback_number: str | None = None
    status: str = "open"


@dataclass(frozen=True)
class Message:
    message_id: str
    contact_id: str
    direction: str
    author: str | None
    body: str
    meta: dict[str, Any]
    created_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "direction": self.direction,
            "author": self.author,
            "body": self.body,
            "meta": self.meta,
            "at": self.created_at.isoformat() if self.created_at else None,
        }


_FIELDS = (
    "contact_id, pool_id, channel, address, our_address, external_id, customer_id,"
    " customer_class, subject, callback_number, status"
)


def _conversation(row: asyncpg.Record | None) -> Conversation | None:
    return None if row is None else Conversation(**dict(row))


def _message(row: asyncpg.Record) -> Message:
    meta = row["meta"]
    return Message(
        message_id=row["message_id"],
        contact_id=row["contact_id"],
        direction=row["direction"],
        author=row["author"],
        body=row["body"],
        meta=json.loads(meta) if isinstance(meta, str) else dict(meta or {}),
        created_at=row["created_at"],
    )


class ConversationStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def get(self, contact_id: str) -> Conversation | None:
        return _conversation(
            await self.pool.fetchrow(
                f"SELECT {_FIELDS} FROM channel_conversations WHERE contact_id = $1", contact_id
            )
        )

    async def by_external(self, channel: str, external_id: str) -> Conversation | None:
        return _conversation(
            await self.pool.fetchrow(
                f"SELECT {_FIELDS} FROM channel_conversations"
                " WHERE channel = $1 AND external_id = $2",
                channel,
                external_id,
            )
        )

    async def open_for(self, channel: str, address: str) -> Conversation | None:
        """The open conversation of this customer address on the channel, if any."""
        return _conversation(
            await self.pool.fetchrow(
                f"SELECT {_FIELDS} FROM channel_conversations"
                " WHERE channel = $1 AND address = $2 AND status = 'open'"
                " ORDER BY opened_at DESC LIMIT 1",
                channel,
                address,
            )
        )

    async def create(self, conversation: Conversation) -> tuple[Conversation, bool]:
        """Insert the conversation; when an equivalent one exists already (same contact id,
        same external id, or an open thread of the same address) return that one instead.
        The flag tells whether this call created it."""
        c = conversation
        row = await self.pool.fetchrow(
            "INSERT INTO channel_conversations (contact_id, pool_id, channel, address,"
            " our_address, external_id, customer_id, customer_class, subject, callback_number)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            f" ON CONFLICT DO NOTHING RETURNING {_FIELDS}",
            c.contact_id,
            c.pool_id,
            c.channel,
            c.address,
            c.our_address,
            c.external_id,
            c.customer_id,
            c.customer_class,
            c.subject,
            c.callback_number,
        )
        if row is not None:
            return Conversation(**dict(row)), True
        existing = await self.get(c.contact_id)
        if existing is None and c.external_id is not None:
            existing = await self.by_external(c.channel, c.external_id)
        if existing is None:
            existing = await self.open_for(c.channel, c.address)
        if existing is None:  # pragma: no cover - closed between the insert and the reads
            raise RuntimeError(f"conversation {c.contact_id} neither created nor found")
        return existing, False

    async def close(self, contact_id: str) -> bool:
        status = await self.pool.execute(
            "UPDATE channel_conversations SET status = 'closed', closed_at = now()"
            " WHERE contact_id = $1 AND status = 'open'",
            contact_id,
        )
        return str(status).endswith(" 1")

    async def customer_present(self, contact_id: str, present: bool) -> None:
        """A chat customer's socket connected (present) or their last one closed."""
        await self.pool.execute(
            "UPDATE channel_conversations SET customer_left_at = CASE WHEN $2 THEN NULL"
            " ELSE now() END WHERE contact_id = $1 AND status = 'open'",
            contact_id,
            present,
        )

    async def close_left_chats(self, grace_seconds: float) -> list[tuple[str, str, str | None]]:
        """Close the open chats whose customer left more than ``grace_seconds`` ago and did not
        come back; return (contact id, pool id, routing status or None) of each. The close is
        the claim: several gateways may sweep, each chat is returned once."""
        rows = await self.pool.fetch(
            "WITH left_chats AS ("
            " UPDATE channel_conversations SET status = 'closed', closed_at = now()"
            " WHERE channel = 'chat' AND status = 'open' AND customer_left_at IS NOT NULL"
            " AND customer_left_at <= now() - make_interval(secs => $1)"
            " RETURNING contact_id, pool_id)"
            " SELECT l.contact_id, l.pool_id, r.status AS routing_status FROM left_chats l"
            " LEFT JOIN routing_contacts r ON r.pool_id = l.pool_id"
            " AND r.contact_id = l.contact_id",
            float(grace_seconds),
        )
        return [(r["contact_id"], r["pool_id"], r["routing_status"]) for r in rows]

    async def set_callback(self, contact_id: str, number: str) -> None:
        await self.pool.execute(
            "UPDATE channel_conversations SET callback_number = $2 WHERE contact_id = $1",
            contact_id,
            number,
        )

    async def add_message(
        self,
        message_id: str,
        contact_id: str,
        direction: str,
        author: str | None,
        body: str,
        meta: dict[str, Any] | None = None,
    ) -> bool:
        """Store a message; False when this message id is stored already (a retry)."""
        status = await self.pool.execute(
            "INSERT INTO channel_messages (message_id, contact_id, direction, author, body, meta)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT DO NOTHING",
            message_id,
            contact_id,
            direction,
            author,
            body,
            json.dumps(meta or {}),
        )
        return str(status).endswith(" 1")

    async def message(self, message_id: str) -> Message | None:
        row = await self.pool.fetchrow(
            "SELECT * FROM channel_messages WHERE message_id = $1", message_id
        )
        return None if row is None else _message(row)

    async def messages(self, contact_id: str, limit: int = 50) -> list[Message]:
        rows = await self.pool.fetch(
            "SELECT * FROM (SELECT * FROM channel_messages WHERE contact_id = $1"
            " ORDER BY created_at DESC LIMIT $2) m ORDER BY created_at",
            contact_id,
            limit,
        )
        return [_message(r) for r in rows]

    async def chat_visitor(self, chat_id: str) -> tuple[str | None, str | None]:
        """The name and e-mail a chat visitor gave in the pre-chat form (latest session)."""
        row = await self.pool.fetchrow(
            "SELECT name, email FROM chat_sessions WHERE chat_id = $1"
            " ORDER BY created_at DESC LIMIT 1",
            chat_id,
        )
        return (row["name"], row["email"]) if row is not None else (None, None)

    async def thread_of(self, message_ids: Sequence[str]) -> Conversation | None:
        """The conversation holding any of these message ids (e-mail threading), newest first."""
        ids = [m for m in message_ids if m]
        if not ids:
            return None
        return _conversation(
            await self.pool.fetchrow(
                f"SELECT {', '.join('c.' + f.strip() for f in _FIELDS.split(','))}"
                " FROM channel_messages m JOIN channel_conversations c USING (contact_id)"
                " WHERE m.message_id = ANY($1::text[]) ORDER BY m.created_at DESC LIMIT 1",
                ids,
            )
        )
