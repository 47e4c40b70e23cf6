"""Enrichment on arrival: who is the customer, and the ``ContactArrived`` routing needs.

The gateway does the "who is calling" lookup before publishing, so routing gets the class (from
the tier), the language skill and the last agent without a lookup of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from schemas.base import Record, utc_now
from schemas.contacts import Channel, ContactArrived, CustomerRef
from schemas.topics import CONTACTS
from services.conversations import Conversation
from services.customers import CustomerProfile
from services.edge.outbox import Outgoing
from services.gateway.context import GatewayContext


def language_skill(language: str) -> str:
    return f"lang_{language}"


def needed_skills(
    ctx: GatewayContext, profile: CustomerProfile, skills: Mapping[str, int] | None = None
) -> dict[str, int]:
    """What a contact of this customer needs: the chosen skills, and their language when it
    is not the default one."""
    needed = dict(skills or {})
    language = profile.language or ctx.settings.default_language
    if language != ctx.settings.default_language:
        needed[language_skill(language)] = 1
    return needed


def contact_arrived(
    ctx: GatewayContext,
    profile: CustomerProfile,
    *,
    contact_id: str,
    channel: Channel,
    skills: Mapping[str, int] | None = None,
    subject: str | None = None,
) -> ContactArrived:
    settings = ctx.settings
    needed = needed_skills(ctx, profile, skills)
    language = profile.language or settings.default_language
    customer_class = profile.routing_class(settings.class_weights)
    return ContactArrived(
        event_id=f"{contact_id}:arrived",
        pool_id=ctx.pool_for(customer_class),
        contact_id=contact_id,
        channel=channel,
        customer=CustomerRef(
            customer_id=profile.customer_id,
            phone=profile.phone,
            email=profile.email,
            chat_id=profile.chat_id,
            name=profile.name,
        ),
        customer_class=customer_class,
        skills=needed,
        language=language,
        subject=subject[:1000] if subject else None,
        last_agent_id=profile.last_agent_id,
        last_agent_at=profile.last_agent_at,
        arrived_at=utc_now(),
    )


def outgoing(record: Record) -> Outgoing:
    """A gateway record on the contacts topic, keyed by its contact."""
    return Outgoing(CONTACTS, str(getattr(record, "contact_id", "")), record)


async def publish(ctx: GatewayContext, *records: Record) -> None:
    """Stage and publish through the edge outbox: a retry of the same request (same event ids)
    publishes nothing twice, and publishes what its first attempt could not."""
    await ctx.outbox.publish(*(outgoing(r) for r in records))


async def publish_pending(ctx: GatewayContext, contact_id: str) -> None:
    """Publish what is staged for this contact and not published yet (its arrival)."""
    await ctx.outbox.flush([(CONTACTS, contact_id)])


async def open_contact(
    ctx: GatewayContext,
    conversation: Conversation,
    profile: CustomerProfile,
    *,
    skills: Mapping[str, int] | None = None,
) -> tuple[Conversation, bool]:
    """Store the conversation and stage its arrival in the edge outbox, without publishing it:
    the caller stores the contact's first message and publishes it, and the arrival leaves
    first (:func:`publish`, or :func:`publish_pending` for a contact without a message). So a
    broker away loses nothing that was said: the retry, or the re-sender, publishes both.

    An equivalent conversation stored before (a retried webhook) is returned as it is, and
    the flag says so; its arrival is staged again, which changes nothing when it was staged
    before and closes the gap when a crash came between the two writes."""
    conversation = replace(conversation, pool_id=ctx.pool_for(conversation.customer_class))
    stored, created = await ctx.conversations.create(conversation)
    arrived = contact_arrived(
        ctx,
        profile,
        contact_id=stored.contact_id,
        channel=Channel(stored.channel),
        skills=skills,
        subject=stored.subject,
    )
    await ctx.outbox.stage([outgoing(arrived)])
    return stored, created
