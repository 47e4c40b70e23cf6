"""Customers arriving through the real entry points: signed Twilio webhooks for voice (IVR
choice, hold, callback requests, hang-ups as status callbacks) and SMS, e-mail over SMTP,
chat over the WebSocket. Waiting voice and chat customers hang up after their patience."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

import aiohttp
import aiosmtplib

from services.day.plan import HANDLE_MEAN, Arrival
from services.gateway.chat_client import ChatCustomer
from services.runtime.twilio_local import TwilioApiServer, sign
from services.stack.seed import SampleCustomer
from streams.platform.settings import Settings

log = logging.getLogger(__name__)

SUBJECTS = {
    "voice": "call",
    "chat": "Where is my order?",
    "email": "Question about my invoice",
    "sms": "Hi, my parcel has not arrived",
}


@dataclass
class Line:
    """A customer waiting on a live channel (voice, chat): answered or gone."""

    channel: str
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    call_sid: str = ""
    phone: str = ""
    callback: bool = False


@dataclass
class Counters:
    arrived: dict[str, int] = field(default_factory=dict)
    abandoned: int = 0
    callbacks: int = 0
    errors: int = 0


class Customers:
    """Runs each planned arrival; ``lines`` lets the agents' side answer and end them."""

    def __init__(
        self,
        settings: Settings,
        http: aiohttp.ClientSession,
        twilio: TwilioApiServer,
        gateway_smtp_port: int,
        scale: float,
    ) -> None:
        self.settings = settings
        self.http = http
        self.twilio = twilio
        self.smtp_port = gateway_smtp_port
        self.scale = scale
        self.base = settings.public_base_url.rstrip("/")
        self.token = settings.twilio_auth_token.get_secret_value()
        self.lines: dict[str, Line] = {}
        self.handles: dict[str, float] = {}  # planned handle time by contact id, where known
        self.counters = Counters()
        self.tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ plumbing
    async def webhook(self, path: str, form: Mapping[str, str]) -> tuple[int, str]:
        """POST a form as Twilio does, signed over the public URL (query string included)."""
        headers = {"X-Twilio-Signature": sign(self.token, self.base + path, form)}
        async with self.http.post(self.base + path, data=dict(form), headers=headers) as answer:
            return answer.status, await answer.text()

    async def wait(self, day_seconds: float) -> None:
        await asyncio.sleep(max(0.0, day_seconds / self.scale))

    def start(self, arrival: Arrival, customer: SampleCustomer) -> None:
        runner = {"voice": self.call, "sms": self.text, "email": self.mail, "chat": self.chat}
        task = asyncio.create_task(self._guard(runner[arrival.channel](arrival, customer)))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        counts = self.counters.arrived
        counts[arrival.channel] = counts.get(arrival.channel, 0) + 1

    async def _guard(self, job: object) -> None:
        try:
            await job  # type: ignore[misc]
        except (aiohttp.ClientError, aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            self.counters.errors += 1
            log.warning("a customer could not get through: %r", exc)

    def handle_time(self, contact_id: str, channel: str, rng: random.Random) -> float:
        """The planned handle time (day seconds) of the contact; drawn for one not planned
        here (an e-mail, whose contact id the gateway derives, or a notice's call task)."""
        planned = self.handles.get(contact_id)
        if planned is not None:
            return planned
        return rng.lognormvariate(math.log(HANDLE_MEAN.get(channel, 240.0)) - 0.18, 0.6)

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    # ------------------------------------------------------------------ voice
    def _call_form(self, sid: str, phone: str, **more: str) -> dict[str, str]:
        return {
            "AccountSid": self.settings.twilio_account_sid,
            "CallSid": sid,
            "From": phone,
            "To": self.settings.twilio_from_number,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **more,
        }

    async def call(self, arrival: Arrival, customer: SampleCustomer) -> None:
        sid = self.twilio.inbound_call(customer.phone, self.settings.twilio_from_number)
        contact_id = f"call-{sid}"
        self.handles[contact_id] = arrival.handle
        line = self.lines[contact_id] = Line("voice", call_sid=sid, phone=customer.phone)
        form = self._call_form(sid, customer.phone)
        await self.webhook("/twilio/voice", form)
        await self.webhook("/twilio/voice/menu", {**form, "Digits": arrival.ivr_digit})
        if arrival.callback:
            await self.wait(min(30.0, arrival.patience / 2))
            if not line.answered.is_set():
                line.callback = True
                self.counters.callbacks += 1
                await self.webhook("/twilio/voice/hold", {**form, "Digits": "1"})
                return  # the desk calls back when an agent takes it
        if not await self._answered_within(line, arrival.patience):
            self.counters.abandoned += 1
            await self.hang_up(contact_id)

    async def hang_up(self, contact_id: str, callback_sid: str | None = None) -> None:
        """The customer's side of a call ends (a status callback, as Twilio sends it)."""
        line = self.lines.get(contact_id)
        if line is None or line.finished.is_set():
            return
        line.finished.set()
        if callback_sid:  # the call the desk placed for a callback
            path = f"/twilio/voice/status?callback_for={contact_id}"
            form = self._call_form(callback_sid, line.phone)
        else:
            path, form = "/twilio/voice/status", self._call_form(line.call_sid, line.phone)
            self.twilio.calls[line.call_sid]["status"] = "completed"
        await self.webhook(path, {**form, "CallStatus": "completed"})

    async def _answered_within(self, line: Line, patience: float) -> bool:
        try:
            await asyncio.wait_for(line.answered.wait(), patience / self.scale)
        except TimeoutError:
            return line.answered.is_set()
        return True

    # ------------------------------------------------------------------ SMS and e-mail
    async def text(self, arrival: Arrival, customer: SampleCustomer) -> None:
        sid = "SM" + uuid.uuid4().hex
        self.handles[f"sms-{sid}"] = arrival.handle
        form = {
            "AccountSid": self.settings.twilio_account_sid,
            "MessageSid": sid,
            "From": customer.phone,
            "To": self.settings.twilio_from_number,
            "Body": SUBJECTS["sms"],
            "NumMedia": "0",
        }
        await self.webhook("/twilio/sms", form)

    async def mail(self, arrival: Arrival, customer: SampleCustomer) -> None:
        message = EmailMessage()
        message["From"] = f"{customer.name} <{customer.email}>"
        message["To"] = self.settings.support_email
        message["Subject"] = SUBJECTS["email"]
        message["Message-ID"] = make_msgid(domain="example.com")
        message.set_content("Hello, I was charged twice for my last order. Can you check?")
        await aiosmtplib.send(message, hostname="127.0.0.1", port=self.smtp_port, timeout=10)

    # ------------------------------------------------------------------ chat
    async def chat(self, arrival: Arrival, customer: SampleCustomer) -> None:
        secret = self.settings.chat_identity_secret
        async with ChatCustomer(self.base) as browser:
            await browser.start(  # the shop's site signs who its signed-in customer is
                name=customer.name,
                email=customer.email,
                customer_id=customer.customer_id if secret else None,
                site_secret=secret.get_secret_value() if secret else None,
            )
            async with browser.socket() as ws:
                await self._chat(ws, arrival)

    async def _chat(self, ws: aiohttp.ClientWebSocketResponse, arrival: Arrival) -> None:
        await ws.send_json({"type": "message", "text": SUBJECTS["chat"], "id": "1"})
        contact_id = ""
        while not contact_id:
            frame = await ws.receive_json(timeout=30)
            if frame.get("type") == "ack":
                contact_id = frame["contact_id"]
        line = self.lines[contact_id] = Line("chat")
        self.handles[contact_id] = arrival.handle
        if not await self._answered_within(line, arrival.patience):
            self.counters.abandoned += 1
            line.finished.set()
            await ws.send_json({"type": "end"})
            return
        await line.finished.wait()  # the agent completes; the customer leaves
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):
            await ws.send_json({"type": "end"})
