"""The screen pop: what the agent sees with an offer — the customer and tier, recent
interactions across channels, an open shipment-delay notice with its compensation, the
conversation so far, and a suggested next step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from schemas.routing import OfferMade
from services.conversations import Conversation, ConversationStore
from services.customers import CustomerDirectory, CustomerProfile


def notice_summary(flag: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an open notice flag an agent needs, whatever else the row holds."""

    def first(*names: str) -> Any:
        return next((flag[n] for n in names if flag.get(n) not in (None, "")), None)

    compensation = first("compensation_text", "compensation")
    if isinstance(compensation, Mapping):
        compensation = compensation.get("text") or compensation.get("description")
    return {
        "kind": first("kind", "flag", "type") or "shipment_delay",
        "text": first("text", "note", "summary", "message", "reason"),
        "order_id": first("order_id"),
        "shipment_id": first("shipment_id"),
        "compensation": compensation,
    }


def suggest_next_step(
    channel: str,
    profile: CustomerProfile,
    notices: Sequence[Mapping[str, Any]],
    *,
    callback: bool = False,
    returning_agent: bool = False,
) -> str:
    steps: list[str] = []
    if callback:
        steps.append("Call the customer back now: they asked for a callback.")
    if notices:
        notice = notices[0]
        what = f" on order {notice['order_id']}" if notice.get("order_id") else ""
        offer = f" and offer {notice['compensation']}" if notice.get("compensation") else ""
        steps.append(f"Apologise for the shipment delay{what}{offer}.")
    if profile.tier == "vip":
        steps.append("VIP customer: greet by name and resolve in this contact.")
    if returning_agent:
        steps.append("You helped this customer last time: pick up where you left off.")
    if not steps:
        steps.append(
            {
                "voice": "Greet the caller and confirm the reason for the call.",
                "sms": "Reply by text to the customer's question.",
                "email": "Answer the e-mail; the reply keeps the thread.",
                "chat": "Greet the customer in the chat.",
            }.get(channel, "Greet the customer.")
        )
    return " ".join(steps)


async def build_screen_pop(
    conversations: ConversationStore, customers: CustomerDirectory, offer: OfferMade
) -> dict[str, Any]:
    conversation = await conversations.get(offer.contact_id)
    profile = await profile_for(customers, conversation)
    # the history and notices of the customer routing knows: an anonymous chat visitor's typed
    # e-mail is shown as given, never used to look up someone's interactions
    context = await customers.context(profile, limit=6)
    if conversation is not None and conversation.channel == "chat" and not profile.known:
        name, email = await conversations.chat_visitor(conversation.address)
        profile = replace(profile, name=name or profile.name, email=email or profile.email)
    notices = [notice_summary(n) for n in context.notices]
    recent = [r for r in context.recent if r["contact_id"] != offer.contact_id][:5]
    transcript = (
        [m.as_json() for m in await conversations.messages(offer.contact_id, limit=20)]
        if conversation
        else []
    )
    channel = conversation.channel if conversation else "unknown"
    return {
        "contact_id": offer.contact_id,
        "channel": channel,
        "subject": conversation.subject if conversation else None,
        "address": conversation.address if conversation else None,
        "customer": profile.as_json(),
        "customer_class": conversation.customer_class if conversation else None,
        "recent_interactions": recent,
        "notices": notices,
        "transcript": transcript,
        "suggested_next_step": suggest_next_step(
            channel,
            profile,
            notices,
            callback=offer.callback,
            returning_agent=profile.last_agent_id == offer.agent_id,
        ),
    }


async def profile_for(
    customers: CustomerDirectory, conversation: Conversation | None
) -> CustomerProfile:
    if conversation is None:
        return CustomerProfile()
    address = conversation.address
    return await customers.find(
        customer_id=conversation.customer_id,
        phone=address if conversation.channel in {"voice", "sms"} else None,
        email=address if conversation.channel == "email" else None,
        chat_id=address if conversation.channel == "chat" else None,
    )
