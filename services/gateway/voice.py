"""Twilio voice: incoming call → IVR → hold until an agent is connected; call status callbacks.

* ``POST /twilio/voice`` (the number's voice URL): greet, ``<Gather>`` one digit of at most four
  choices (0 = a person); no input falls through to 0.
* ``POST /twilio/voice/menu``: the choice picks the skill; the contact arrives and the caller
  holds. When routing predicts a wait above ``callback_offer_threshold_seconds`` for the
  caller's class (or no agent serves calls), the caller hears the expected wait and is offered
  a callback. Routing stores that prediction with its state after every batch; the gateway
  reads it through routing's typed reader (``streams.routing.live_view.predicted_wait``).
* ``POST /twilio/voice/hold``: the hold loop (``?offer=callback`` repeats the offer); pressing
  1 asks for a callback, which keeps the caller's place in the queue, and ends the call.
* ``POST /twilio/voice/status`` (status callback): completed → ``ContactEnded``; busy,
  no-answer, canceled, failed → ``ContactAbandoned``. With ``?callback_for=<contact id>`` it is
  the status of the call the desk placed for a callback: its end ends that contact.

The desk connects the caller when an agent accepts: it updates the live call with ``<Dial>``
through the REST API.
"""

from __future__ import annotations

import logging

from aiohttp import web
from twilio.twiml.voice_response import Gather, VoiceResponse

from schemas.contacts import CallbackRequested, ContactAbandoned, ContactEnded
from services.conversations import Conversation
from services.gateway.arrivals import needed_skills, open_contact, publish, publish_pending
from services.gateway.context import CONTEXT
from services.gateway.webhooks import twiml, verified_form
from streams.routing.live_view import PredictedWait, agents_who_could_serve, predicted_wait

log = logging.getLogger(__name__)

PERSON = "0"
CALLBACK_KEY = "1"
HOLD_SECONDS = 20
OFFER_QUERY = "offer=callback"
ENDED_STATUSES = {"completed"}
ABANDONED_STATUSES = {"busy", "no-answer", "canceled", "failed"}


def contact_id_for(call_sid: str) -> str:
    return f"call-{call_sid}"


def menu_prompt(choices: dict[str, str]) -> str:
    parts = [f"For {skill}, press {digit}." for digit, skill in sorted(choices.items())]
    parts.append(f"To speak to a person, press {PERSON}.")
    return " ".join(parts)


async def incoming(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    params = await verified_form(request, "CallSid", "From")
    profile = await ctx.customers.find(phone=params["From"])
    response = VoiceResponse()
    greeting = "Thank you for calling"
    if profile.name:
        greeting += f", {profile.name}"
    gather = Gather(num_digits=1, action="/twilio/voice/menu", method="POST", timeout=6)
    gather.say(f"{greeting}. {menu_prompt(ctx.settings.ivr_choices)}")
    response.append(gather)
    response.redirect(f"/twilio/voice/menu?Default={PERSON}", method="POST")
    return twiml(response)


async def menu(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    params = await verified_form(request, "CallSid", "From")
    digit = params.get("Digits") or request.query.get("Default", "")
    choices = ctx.settings.ivr_choices
    if digit != PERSON and digit not in choices:
        response = VoiceResponse()
        response.say("Sorry, that is not a choice.")
        response.redirect("/twilio/voice", method="POST")
        return twiml(response)
    skills = {} if digit == PERSON else {choices[digit]: 1}
    profile = await ctx.customers.find(phone=params["From"])
    conversation = Conversation(
        contact_id=contact_id_for(params["CallSid"]),
        pool_id=ctx.pool_id,
        channel="voice",
        address=params["From"],
        our_address=params.get("To"),
        external_id=params["CallSid"],
        customer_id=profile.customer_id,
        customer_class=profile.routing_class(ctx.settings.class_weights),
        subject=f"call: {choices.get(digit, 'agent')}",
    )
    await open_contact(ctx, conversation, profile, skills=skills)
    await publish_pending(ctx, conversation.contact_id)
    needed = needed_skills(ctx, profile, skills)
    if not await agents_who_could_serve(ctx.conversations.pool, ctx.pool_id, "voice", needed):
        # nobody logged in could take this call: never a wait, a callback keeps its place
        return twiml(hold_twiml(first=True, offer_callback=True, no_agent=True))
    predicted = await predicted_wait(
        ctx.conversations.pool, ctx.pool_id, conversation.customer_class, "voice"
    )
    offer = predicted is not None and predicted.exceeds(
        ctx.settings.callback_offer_threshold_seconds
    )
    return twiml(hold_twiml(first=True, offer_callback=offer, predicted=predicted))


NO_AGENT_PHRASE = "No agent who can take your call is available right now."


def wait_phrase(predicted: PredictedWait | None, *, no_agent: bool = False) -> str:
    if no_agent:
        return NO_AGENT_PHRASE
    if predicted is None or predicted.seconds is None:
        return "All our agents are busy."
    minutes = max(1, round(predicted.seconds / 60))
    return f"Your expected wait is about {minutes} minute{'s' if minutes > 1 else ''}."


def hold_twiml(
    first: bool = False,
    *,
    offer_callback: bool = False,
    predicted: PredictedWait | None = None,
    no_agent: bool = False,
) -> VoiceResponse:
    """The hold loop; with ``offer_callback`` every round offers a callback (the first one
    with the expected wait). Pressing the key asks for one either way."""
    response = VoiceResponse()
    action = "/twilio/voice/hold" + (f"?{OFFER_QUERY}" if offer_callback else "")
    gather = Gather(num_digits=1, action=action, method="POST", timeout=1)
    if first and no_agent:
        gather.say(wait_phrase(predicted, no_agent=True))
    elif first:
        gather.say("Please hold, the next available agent will be with you shortly.")
        if offer_callback:
            gather.say(wait_phrase(predicted))
    if offer_callback:
        gather.say(f"To be called back without losing your place, press {CALLBACK_KEY}.")
    gather.pause(length=HOLD_SECONDS)
    response.append(gather)
    response.redirect(action, method="POST")
    return response


async def hold(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    params = await verified_form(request, "CallSid", "From")
    if params.get("Digits") != CALLBACK_KEY:
        return twiml(hold_twiml(offer_callback=request.query_string == OFFER_QUERY))
    conversation = await ctx.conversations.by_external("voice", params["CallSid"])
    if conversation is None:
        raise web.HTTPBadRequest(text=f"no queued call {params['CallSid']}")
    number = params["From"]
    await ctx.conversations.set_callback(conversation.contact_id, number)
    await publish(
        ctx,
        CallbackRequested(
            event_id=f"{conversation.contact_id}:callback",
            pool_id=conversation.pool_id,
            contact_id=conversation.contact_id,
            callback_number=number,
        ),
    )
    response = VoiceResponse()
    response.say("Thank you. We will call you back at this number; you keep your place.")
    response.hangup()
    return twiml(response)


async def status(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    params = await verified_form(request, "CallSid", "CallStatus")
    call_status = params["CallStatus"]
    callback_for = request.query.get("callback_for")
    if callback_for:  # the call placed for a callback (a new CallSid)
        conversation = await ctx.conversations.get(callback_for)
        if conversation is None or not conversation.callback_number:
            raise web.HTTPBadRequest(text=f"no callback contact {callback_for}")
        event_id = f"{conversation.contact_id}:callback:{params['CallSid']}:{call_status}"
    else:
        conversation = await ctx.conversations.by_external("voice", params["CallSid"])
        if conversation is None:
            log.info("status %s for call %s that never queued", call_status, params["CallSid"])
            return web.Response(status=204)
        event_id = f"{conversation.contact_id}:status:{call_status}"
    pool_id, contact_id = conversation.pool_id, conversation.contact_id
    if call_status in ENDED_STATUSES:
        await publish(
            ctx,
            ContactEnded(
                event_id=event_id, pool_id=pool_id, contact_id=contact_id, reason=call_status
            ),
        )
    elif call_status in ABANDONED_STATUSES:
        await publish(
            ctx, ContactAbandoned(event_id=event_id, pool_id=pool_id, contact_id=contact_id)
        )
    else:
        return web.Response(status=204)  # queued, ringing, in-progress: nothing to record
    if conversation.callback_number is None or callback_for:  # a callback stays open until dialled
        await ctx.conversations.close(conversation.contact_id)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/twilio/voice", incoming)
    app.router.add_post("/twilio/voice/menu", menu)
    app.router.add_post("/twilio/voice/hold", hold)
    app.router.add_post("/twilio/voice/status", status)
