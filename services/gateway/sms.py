"""Twilio SMS: inbound messages threaded by the customer's number; opt-out and opt-in keywords.

``POST /twilio/sms`` (the number's messaging URL). A number with an open SMS conversation adds
a message to it; otherwise a new contact arrives with the message as its first one. The
keywords below change the customer's SMS consent in PostgreSQL and open no contact (Twilio's
own opt-out handling sends the confirmation text). A score 1-5 from a number whose
satisfaction survey was sent (and no conversation is open) is the survey's answer.

Twilio retries a webhook it thinks failed, with the same ``MessageSid``: a message stored before
is published again through the edge outbox (which publishes only what its first attempt could
not), and a survey answer stays the one answer.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from twilio.twiml.messaging_response import MessagingResponse

from schemas.base import utc_now
from schemas.contacts import Channel, ContactMessageReceived
from services.conversations import Conversation, Message
from services.gateway.arrivals import open_contact, publish
from services.gateway.context import CONTEXT, GatewayContext
from services.gateway.webhooks import twiml, verified_form
from services.surveys import answer_by_sms, answered_by
from streams.surveys.rules import parse_answer

OPT_OUT = frozenset({"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"})
OPT_IN = frozenset({"START", "UNSTOP", "YES"})


def consent_keyword(body: str) -> bool | None:
    """False for an opt-out keyword, True for an opt-in keyword, None for anything else."""
    word = body.strip().upper().rstrip(".!")
    if word in OPT_OUT:
        return False
    if word in OPT_IN:
        return True
    return None


def media(params: dict[str, str]) -> list[dict[str, str]]:
    raw = params.get("NumMedia") or "0"
    count = int(raw) if raw.isdigit() else 0
    return [
        {"url": params.get(f"MediaUrl{i}", ""), "type": params.get(f"MediaContentType{i}", "")}
        for i in range(min(count, 10))
    ]


THANKS = "Thank you for your answer."


async def inbound(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    params = await verified_form(request, "MessageSid", "From")
    sid, number, body = params["MessageSid"], params["From"], params.get("Body", "")
    consent = consent_keyword(body)
    if consent is not None:  # setting the same consent again changes nothing
        await ctx.customers.set_sms_consent(number, consent)
        return twiml(MessagingResponse())
    if not body and not media(params):
        raise web.HTTPBadRequest(text="message has neither Body nor media")
    stored = await ctx.conversations.message(sid)
    if stored is not None:  # Twilio's retry of a message stored before
        await publish_again(ctx, stored)
        return twiml(MessagingResponse())
    if await survey_answer(ctx, sid, number, body):
        return twiml(MessagingResponse().message(THANKS))
    await receive(ctx, params, body, number)
    return twiml(MessagingResponse())


async def survey_answer(ctx: GatewayContext, sid: str, number: str, body: str) -> bool:
    """A score (1-5) from a number with a survey sent and no open conversation: the answer.
    The same MessageSid again (Twilio's retry) is the same answer, never a new contact."""
    answer = parse_answer(body)
    if answer is None:
        return False
    pool = ctx.customers.pool
    if await answered_by(pool, sid):
        return True
    if await ctx.conversations.open_for("sms", number) is not None:
        return False
    window = timedelta(hours=ctx.settings.survey_answer_window_hours)
    if await answer_by_sms(pool, number, answer, window, utc_now(), sid):
        return True
    return await answered_by(pool, sid)  # a concurrent retry answered it a moment ago


async def receive(ctx: GatewayContext, params: dict[str, str], body: str, number: str) -> None:
    sid = params["MessageSid"]
    conversation = await ctx.conversations.open_for("sms", number)
    if conversation is None:
        profile = await ctx.customers.find(phone=number)
        conversation, _created = await open_contact(
            ctx,
            Conversation(
                contact_id=f"sms-{sid}",
                pool_id=ctx.pool_id,
                channel="sms",
                address=number,
                our_address=params.get("To"),
                customer_id=profile.customer_id,
                customer_class=profile.routing_class(ctx.settings.class_weights),
                subject=body[:120] or "(media)",
            ),
            profile,
        )
    await ctx.conversations.add_message(
        sid, conversation.contact_id, "in", number, body, {"media": media(params)}
    )
    await publish(ctx, message_received(conversation, sid, body))


async def publish_again(ctx: GatewayContext, stored: Message) -> None:
    """Publish what the first attempt of this message staged and could not publish (nothing
    when it did): the record is built again with the same event id."""
    conversation = await ctx.conversations.get(stored.contact_id)
    if conversation is not None:
        await publish(ctx, message_received(conversation, stored.message_id, stored.body))


def message_received(conversation: Conversation, sid: str, body: str) -> ContactMessageReceived:
    return ContactMessageReceived(
        event_id=f"sms:{sid}",
        pool_id=conversation.pool_id,
        contact_id=conversation.contact_id,
        channel=Channel.SMS,
        body=body,
        message_id=sid,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/twilio/sms", inbound)
