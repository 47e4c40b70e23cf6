"""Inbound e-mail over SMTP (aiosmtpd) → contacts, threaded by Message-ID / In-Reply-To /
References.

A reply to any message of an open conversation (ours or the customer's) joins it; anything else
opens a new contact. The SMTP answer follows the broker: 250 only once the records are
acknowledged, 451 (try again later) when the broker is away, 554 for a message that cannot be
parsed, 552 above the size limit (aiosmtpd's ``data_size_limit``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import asdict

from aiosmtpd.smtp import SMTP, Envelope, Session

from schemas.contacts import Channel, ContactMessageReceived
from services.conversations import Conversation
from services.gateway.arrivals import open_contact, publish
from services.gateway.context import GatewayContext
from services.gateway.mime import MalformedEmail, ParsedEmail, parse_email
from services.publisher import PublishFailed
from streams.platform import metrics

log = logging.getLogger(__name__)


def reply_text(reason: str, limit: int = 200) -> str:
    """A reason fit for an SMTP reply line: one line of ASCII, not too long."""
    line = " ".join(reason.split()).encode("ascii", "replace").decode("ascii")
    return line[:limit]


def contact_id_for(message_id: str) -> str:
    return "email-" + hashlib.sha256(message_id.encode()).hexdigest()[:24]


class InboundMail:
    """The aiosmtpd handler."""

    def __init__(self, ctx: GatewayContext) -> None:
        self.ctx = ctx

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            parsed = parse_email(raw or b"")
        except MalformedEmail as exc:
            metrics.GATEWAY_REQUESTS.labels(channel="email", outcome="malformed").inc()
            return f"554 5.6.0 {reply_text(str(exc))}"
        try:
            await self.accept(parsed)
        except PublishFailed:
            metrics.GATEWAY_REQUESTS.labels(channel="email", outcome="unavailable").inc()
            return "451 4.3.0 Temporarily unavailable, try again later"
        except Exception as exc:
            log.exception("inbound e-mail failed")
            metrics.ERRORS.labels(component="gateway_email", kind=type(exc).__name__).inc()
            return "451 4.3.0 Temporary failure, try again later"
        metrics.GATEWAY_REQUESTS.labels(channel="email", outcome="accepted").inc()
        return "250 2.0.0 Message accepted"

    async def accept(self, mail: ParsedEmail) -> str:
        """Thread and publish one message; returns the contact id."""
        ctx = self.ctx
        message_id = mail.message_id or f"<{uuid.uuid4().hex}@gateway.invalid>"
        known = await ctx.conversations.message(message_id)
        conversation = await ctx.conversations.get(known.contact_id) if known else None
        if conversation is None:
            thread = await ctx.conversations.thread_of(mail.thread_ids())
            if thread is not None and thread.status == "open":
                conversation = thread
        if conversation is None:
            profile = await ctx.customers.find(email=mail.from_address)
            conversation, _created = await open_contact(
                ctx,
                Conversation(
                    contact_id=contact_id_for(message_id),
                    pool_id=ctx.pool_id,
                    channel="email",
                    address=mail.from_address,
                    our_address=mail.to[0] if mail.to else None,
                    customer_id=profile.customer_id,
                    customer_class=profile.routing_class(ctx.settings.class_weights),
                    subject=mail.subject or "(no subject)",
                ),
                profile,
            )
        meta = {
            "subject": mail.subject,
            "from_name": mail.from_name,
            "in_reply_to": mail.in_reply_to,
            "references": mail.references,
            "has_html": mail.html is not None,
            "attachments": [asdict(a) for a in mail.attachments],
        }
        await ctx.conversations.add_message(
            message_id, conversation.contact_id, "in", mail.from_address, mail.text, meta
        )
        await publish(
            ctx,
            ContactMessageReceived(
                event_id=f"email:{message_id}"[:200],
                pool_id=conversation.pool_id,
                contact_id=conversation.contact_id,
                channel=Channel.EMAIL,
                body=mail.text[:100_000],
                message_id=message_id,
            ),
        )
        return conversation.contact_id


async def start_smtp_server(ctx: GatewayContext) -> asyncio.Server:
    """Listen for SMTP on this event loop (so handlers share the gateway's connections)."""
    settings = ctx.settings
    handler = InboundMail(ctx)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=settings.smtp_max_message_bytes,
            hostname="contactcenter-gateway",
            ident="contactcenter gateway",
        ),
        host=settings.smtp_host,
        port=settings.smtp_port,
    )
