"""What an agent's actions do on the customer's channel: connect a call (Twilio REST, official
SDK), reply by SMS (Twilio SDK), by e-mail (aiosmtplib, threaded), or in the chat (through the
contacts topic to the gateway holding the customer's socket; a chat the customer left as a
message is answered by e-mail as well)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlencode

import aiosmtplib
import asyncpg
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, VoiceResponse

from schemas.contacts import Channel, ContactMessageSent
from schemas.topics import CONTACTS
from services.conversations import Conversation, ConversationStore
from services.customers import CustomerDirectory
from services.desk.auth import Agent
from services.publisher import Publisher
from services.twilio_client import make_async_twilio_client
from streams.platform.settings import DeskSettings

log = logging.getLogger(__name__)

# Twilio errors that will not change on retry: the agent is told, nothing is retried
PERMANENT_TWILIO = {
    21610: "the customer opted out of SMS",
    21211: "not a valid phone number",
    21614: "not a mobile number",
    21220: "the call is no longer in progress",
}


class ChannelRefused(Exception):
    """The channel refused for good (opted out, invalid number, SMTP 5xx): 409/422."""

    def __init__(self, reason: str, status: int = 409) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class ChannelUnavailable(Exception):
    """The channel provider could not be reached or failed transiently: 502."""


def dial_twiml(agent: Agent) -> str:
    response = VoiceResponse()
    dial = Dial(answer_on_bridge=True)
    endpoint = agent.voice_endpoint or f"client:{agent.agent_id}"
    if endpoint.startswith("client:"):
        dial.client(endpoint.removeprefix("client:"))
    else:
        dial.number(endpoint)
    response.append(dial)
    return str(response)


def callback_status_url(settings: DeskSettings, contact_id: str) -> str:
    """Where Twilio reports the end of a callback call (the gateway's status callback)."""
    query = urlencode({"callback_for": contact_id})
    return f"{settings.public_base_url.rstrip('/')}/twilio/voice/status?{query}"


class ChannelActions:
    def __init__(
        self,
        settings: DeskSettings,
        conversations: ConversationStore,
        customers: CustomerDirectory,
        publisher: Publisher,
    ) -> None:
        self.settings = settings
        self.conversations = conversations
        self.customers = customers
        self.publisher = publisher
        self._twilio: Client | None = None

    def twilio(self) -> Client:
        if self._twilio is None:  # the async SDK client is made inside the running loop
            self._twilio = make_async_twilio_client(self.settings)
        return self._twilio

    async def close(self) -> None:
        if self._twilio is not None:
            await self._twilio.http_client.close()

    # ------------------------------------------------------------ voice
    async def connect_voice(self, conversation: Conversation, agent: Agent) -> str:
        """Bridge the caller to the agent: redirect the live call to ``<Dial>``, or, for a
        callback, place the call to the customer's number (its status callback names the
        contact, so the gateway ends the contact when that call ends). Returns the call sid."""
        twiml = dial_twiml(agent)
        try:
            if conversation.callback_number:
                call = await self.twilio().calls.create_async(
                    to=conversation.callback_number,
                    from_=conversation.our_address or self.settings.twilio_from_number,
                    twiml=twiml,
                    status_callback=callback_status_url(self.settings, conversation.contact_id),
                )
                return str(call.sid)
            if not conversation.external_id:
                raise ChannelRefused("the call has no CallSid", 422)
            call = await self.twilio().calls(conversation.external_id).update_async(twiml=twiml)
            return str(call.sid)
        except TwilioRestException as exc:
            raise _twilio_error(exc) from exc

    # ------------------------------------------------------------ replies
    async def reply(
        self, conversation: Conversation, agent: Agent, text: str, client_id: str | None = None
    ) -> str:
        """Send ``text`` to the customer on the conversation's channel; returns the message id.
        ``client_id`` (the page's id of the reply) is kept with the message: a retry of a reply
        that was sent finds it (:meth:`sent_before`) instead of sending it again."""
        channel = conversation.channel
        meta: dict[str, object] = {}
        if channel == "sms":
            message_id = await self._sms(conversation, text)
        elif channel == "email":
            message_id, meta = await self._email(conversation, text)
        elif channel == "chat":
            message_id = f"chat-agent:{uuid.uuid4().hex}"
            reply_to = await left_message_address(self.conversations.pool, conversation.contact_id)
            if reply_to is not None:  # left as a message: answered like an e-mail, by e-mail
                _mail_id, meta = await self._email(replace(conversation, address=reply_to), text)
                meta["emailed_to"] = reply_to
        else:
            raise ChannelRefused(f"no replies on the {channel} channel", 422)
        if client_id:
            meta = {**meta, "client_id": client_id}
        await self.conversations.add_message(
            message_id, conversation.contact_id, "out", agent.agent_id, text, meta
        )
        await self.publisher.publish(
            CONTACTS,
            conversation.contact_id,
            ContactMessageSent(
                event_id=f"sent:{message_id}"[:200],
                pool_id=conversation.pool_id,
                contact_id=conversation.contact_id,
                channel=Channel(channel),
                agent_id=agent.agent_id,
                body=text,
                message_id=message_id,
            ),
        )
        return message_id

    async def sent_before(self, contact_id: str, agent: Agent, client_id: str) -> str | None:
        """The id of the agent's reply on the contact that carried ``client_id``, if stored."""
        found: str | None = await self.conversations.pool.fetchval(
            "SELECT message_id FROM channel_messages WHERE contact_id = $1 AND direction = 'out'"
            " AND author = $2 AND meta->>'client_id' = $3 LIMIT 1",
            contact_id,
            agent.agent_id,
            client_id,
        )
        return found

    async def _sms(self, conversation: Conversation, text: str) -> str:
        profile = await self.customers.find(phone=conversation.address)
        if not profile.sms_consent:
            raise ChannelRefused("the customer opted out of SMS")
        try:
            message = await self.twilio().messages.create_async(
                to=conversation.address,
                from_=conversation.our_address or self.settings.twilio_from_number,
                body=text,
            )
        except TwilioRestException as exc:
            raise _twilio_error(exc) from exc
        return str(message.sid)

    async def _email(self, conversation: Conversation, text: str) -> tuple[str, dict[str, object]]:
        settings = self.settings
        thread = await self.conversations.messages(conversation.contact_id, limit=50)
        ids = [m.message_id for m in thread if m.message_id.startswith("<")]
        last_in = next((m for m in reversed(thread) if m.direction == "in"), None)
        subject = conversation.subject or ""
        if last_in is not None and last_in.meta.get("subject"):
            subject = str(last_in.meta["subject"])
        if not subject.lower().startswith("re:"):
            subject = f"Re: {subject}".strip()
        sender = conversation.our_address or settings.support_email
        message = EmailMessage()
        message["From"] = sender
        message["To"] = conversation.address
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        domain = sender.rpartition("@")[2] or "localhost"
        message_id = make_msgid(domain=domain)
        message["Message-ID"] = message_id
        if last_in is not None and last_in.message_id.startswith("<"):
            message["In-Reply-To"] = last_in.message_id
            references = [str(r) for r in last_in.meta.get("references") or []]
            chain = list(dict.fromkeys([*references, *ids]))
            message["References"] = " ".join(chain[-20:])
        message.set_content(text)
        password = settings.smtp_relay_password
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_relay_host,
                port=settings.smtp_relay_port,
                username=settings.smtp_relay_username,
                password=password.get_secret_value() if password else None,
                timeout=10,
            )
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise ChannelRefused(f"mail refused: {exc.code} {exc.message}") from exc
            raise ChannelUnavailable(f"mail deferred: {exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ChannelUnavailable(f"mail relay unavailable: {exc}") from exc
        return message_id, {"subject": subject, "in_reply_to": message.get("In-Reply-To")}


async def left_message_address(pool: asyncpg.Pool, contact_id: str) -> str | None:
    """Where the customer asked the answer to a chat left as a message to go (the gateway's
    ``ChatLeftAsMessage``, as the interaction log holds it); None for a live chat."""
    address = await pool.fetchval(
        "SELECT payload->>'reply_to' FROM interaction_events"
        " WHERE contact_id = $1 AND type = 'chat_left_as_message'"
        " ORDER BY occurred_at DESC LIMIT 1",
        contact_id,
    )
    return None if address is None else str(address)


def _twilio_error(exc: TwilioRestException) -> Exception:
    if exc.code in PERMANENT_TWILIO:
        return ChannelRefused(f"{PERMANENT_TWILIO[exc.code]} (Twilio {exc.code})")
    if exc.status and 400 <= exc.status < 500 and exc.status != 429:
        return ChannelRefused(f"Twilio refused: {exc.code} {exc.msg}", 422)
    return ChannelUnavailable(f"Twilio unavailable: {exc.status} {exc.msg}")
