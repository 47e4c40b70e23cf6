"""Helpers for channel tests: signed Twilio webhooks, seeded customers and agents, records."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

import aiohttp
import asyncpg
from aiosmtpd.smtp import SMTP, Envelope, Session

from schemas.base import Record
from services.bus import TopicReader
from streams.platform.settings import Settings
from tests.support.twilio_api import TwilioApiServer, signed_headers
from tests.support.workers import eventually

PUBLIC_BASE = "https://cc.example.com"  # what Twilio calls; the proxy forwards to the gateway
OUR_NUMBER = "+15559990000"


def channel_values(twilio: TwilioApiServer) -> dict[str, Any]:
    """Settings for the gateway and desk under test: the Twilio-shaped server, our public base
    URL and number, free ports, and offers that outlast a slow test step."""
    return {
        "offer_timeout_seconds": 60.0,
        "twilio_api_base_url": twilio.base_url,
        "twilio_account_sid": twilio.account_sid,
        "twilio_auth_token": twilio.auth_token,
        "twilio_from_number": OUR_NUMBER,
        "public_base_url": PUBLIC_BASE,
        "gateway_port": 0,
        "smtp_port": 0,
        "desk_port": 0,
    }


async def post_webhook(
    http: aiohttp.ClientSession,
    gateway_url: str,
    path: str,
    params: Mapping[str, str],
    auth_token: str,
    *,
    public_base: str = PUBLIC_BASE,
    signature: str | None = None,
) -> tuple[int, str]:
    """POST a form the way Twilio does, signed with the SDK's RequestValidator over the public
    URL (the request itself goes to the gateway's local address)."""
    headers = signed_headers(auth_token, public_base + path, params)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    async with http.post(gateway_url + path, data=dict(params), headers=headers) as response:
        return response.status, await response.text()


async def seed_customer(database_url: str, **fields: Any) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        names = list(fields)
        await connection.execute(
            f"INSERT INTO customers ({', '.join(names)}) VALUES"
            f" ({', '.join(f'${i + 1}' for i in range(len(names)))})",
            *fields.values(),
        )
    finally:
        await connection.close()


class Records:
    """Everything read so far from some topics, to wait for what a test expects."""

    def __init__(self, reader: TopicReader) -> None:
        self.reader = reader
        self.all: list[Record] = []

    async def poll(self) -> None:
        self.all.extend(await self.reader.records(0.2))

    def of(self, kind: type[Record], **match: Any) -> list[Any]:
        return [
            r
            for r in self.all
            if isinstance(r, kind) and all(getattr(r, k) == v for k, v in match.items())
        ]

    async def wait_for(
        self, kind: type[Record], count: int = 1, timeout: float = 20, **match: Any
    ) -> list[Any]:
        async def enough() -> bool:
            await self.poll()
            return len(self.of(kind, **match)) >= count

        await eventually(enough, timeout, f"{count} {kind.__name__} {match}")
        return self.of(kind, **match)


class Relay:
    """The outbound SMTP relay: records what the desk sends."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


@asynccontextmanager
async def smtp_relay() -> AsyncIterator[tuple[Relay, int]]:
    """An outbound SMTP relay on a free port (aiosmtpd), recording what it is given."""
    handler = Relay()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(handler), "127.0.0.1", 0)
    try:
        yield handler, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def lifecycle(settings: Settings, contact_id: str, timeout: float = 30) -> dict[str, Any]:
    """The contact's row in the interaction log once it is completed, with its event types."""
    connection = await asyncpg.connect(settings.require_database_url())
    try:

        async def completed() -> bool:
            status = await connection.fetchval(
                "SELECT status FROM contacts WHERE contact_id = $1", contact_id
            )
            return bool(status == "completed")

        await eventually(completed, timeout, f"{contact_id} completed in the interaction log")
        row = dict(
            await connection.fetchrow("SELECT * FROM contacts WHERE contact_id = $1", contact_id)
        )
        row["events"] = [
            r["type"]
            for r in await connection.fetch(
                "SELECT type FROM interaction_events WHERE contact_id = $1 OR payload->>'offer_id'"
                " IN (SELECT offer_id FROM routing_decisions WHERE contact_id = $1)"
                " ORDER BY occurred_at",
                contact_id,
            )
        ]
        return row
    finally:
        await connection.close()
