"""Enrichment on arrival: who is the customer, and the ``ContactArrived`` routing needs.

The gateway does the "who is calling" lookup before publishing, so routing gets the class (from
the tier), the language skill and the last agent without a lookup of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from schemas.base import Record, utc_now
from schemas.contacts import Channel, ContactArrived, CustomerRef
from schemas.topics import CONTACTS
from services.conversations import Conversation
from services.customers import CustomerProfile
from services.gateway.context import GatewayContext
from services.publisher import PublishFailed


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


async def publish(ctx: GatewayContext, *records: Record) -> None:
    for record in records:
        await ctx.publisher.publish(CONTACTS, str(getattr(record, "contact_id", "")), record)


async def open_contact(
    ctx: GatewayContext,
    conversation: Conversation,
    profile: CustomerProfile,
    *,
    skills: Mapping[str, int] | None = None,
    then: Sequence[Record] = (),
) -> tuple[Conversation, bool]:
    """Store the conversation and publish its arrival (then ``then``). An equivalent open
    conversation (a retried webhook) is returned as it is, with nothing published for it. When
    the arrival cannot be published the new conversation is removed again, so a retry starts
    over."""
    conversation = replace(conversation, pool_id=ctx.pool_for(conversation.customer_class))
    stored, created = await ctx.conversations.create(conversation)
    if not created:
        return stored, False
    arrived = contact_arrived(
        ctx,
        profile,
        contact_id=stored.contact_id,
        channel=Channel(stored.channel),
        skills=skills,
        subject=stored.subject,
    )
    try:
        await publish(ctx, arrived)
    except PublishFailed:
        await ctx.conversations.delete(stored.contact_id)
        raise
    await publish(ctx, *then)
    return stored, True
