"""Ports for sending, and the real adapters: Twilio (official SDK) and SMTP (aiosmtplib).

A sender raises ``TransientError`` (retry later) or ``PermanentError`` (record, never retry).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

import aiohttp
import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message
from twilio.base.exceptions import TwilioException, TwilioRestException

# Twilio error codes that will not change by trying again
# (21610 unsubscribed recipient, 21211 invalid To, 21614 not a mobile number, 21408 region off,
#  21612 unreachable route, 30004/30005/30006 blocked, unknown, landline)
TWILIO_PERMANENT = frozenset({21211, 21408, 21610, 21612, 21614, 30004, 30005, 30006})


class SendError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TransientError(SendError):
    """Worth retrying: HTTP 5xx or 429, timeouts, connection errors, SMTP 4xx."""


class UncertainError(SendError):
    """The request may have reached the provider and no answer came (a timeout, a connection
    lost after sending): not retried blindly but looked up, like an interrupted send."""


class PermanentError(SendError):
    """Not worth retrying: Twilio 21610 (opted out), 21211 (invalid number), SMTP 5xx, ..."""


class SmsSender(Protocol):
    async def send(self, to: str, body: str, status_callback: str | None) -> str:
        """Send; return the provider's message id."""
        ...

    async def find(self, to: str, reference: str, since: datetime) -> str | None:
        """The id of a message to ``to`` containing ``reference`` created since ``since``."""
        ...


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> str:
        """Send; return the Message-ID."""
        ...


def classify_twilio(exc: TwilioRestException) -> SendError:
    code = str(exc.code or exc.status)
    if exc.code in TWILIO_PERMANENT:
        return PermanentError(code, exc.msg)
    if exc.status >= 500 or exc.status == 429:
        return TransientError(code, exc.msg)
    return PermanentError(code, exc.msg)


class TwilioSms:
    """SMS through the official SDK's asyncio client (``make_async_twilio_client``)."""

    def __init__(self, client: Any, from_number: str) -> None:
        self.client = client
        self.from_number = from_number

    async def send(self, to: str, body: str, status_callback: str | None) -> str:
        try:
            message = await self.client.messages.create_async(
                to=to, from_=self.from_number, body=body, status_callback=status_callback
            )
        except TwilioRestException as exc:
            raise classify_twilio(exc) from None
        except aiohttp.ClientConnectorError as exc:  # no connection: nothing was sent
            raise TransientError("network", f"{type(exc).__name__}: {exc}") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise UncertainError("no_answer", f"{type(exc).__name__}: {exc}") from None
        return str(message.sid)

    async def find(self, to: str, reference: str, since: datetime) -> str | None:
        try:
            messages = await self.client.messages.list_async(
                to=to, from_=self.from_number, limit=100
            )
        except TwilioRestException as exc:
            raise classify_twilio(exc) from None
        except (TwilioException, TimeoutError, aiohttp.ClientError) as exc:
            raise TransientError("lookup", f"{type(exc).__name__}: {exc}") from None
        floor = since - timedelta(minutes=5)  # clock skew between us and Twilio
        for message in messages:
            created = message.date_created
            if reference in (message.body or "") and (created is None or created >= floor):
                return str(message.sid)
        return None

    async def close(self) -> None:
        await self.client.http_client.close()


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


class SmtpEmail:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, message: EmailMessage) -> str:
        """Send in phases, so that a failure is classed by what the server may have: before the
        message body went out (connect, login, envelope) nothing was delivered and a retry is
        safe; once the body went out, a lost answer may hide a delivered message, so that is
        uncertain and never resent blindly."""
        cfg = self.config
        client = aiosmtplib.SMTP(hostname=cfg.host, port=cfg.port, timeout=cfg.timeout)
        body_sent = False
        try:
            await client.connect()
            if cfg.username:
                await client.login(cfg.username, cfg.password or "")
            await client.mail(extract_sender(message) or "")
            for recipient in extract_recipients(message):
                await client.rcpt(recipient)
            body_sent = True
            await client.data(flatten_message(message))
        except aiosmtplib.SMTPResponseException as exc:  # the server answered: a definite no
            error = TransientError if 400 <= exc.code < 500 else PermanentError
            raise error(str(exc.code), exc.message) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            detail = f"{type(exc).__name__}: {exc}"
            if body_sent:
                raise UncertainError("no_answer", detail) from None
            raise TransientError("network", detail) from None
        finally:
            client.close()
        return str(message["Message-ID"])


def build_email(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    reference: str,
) -> EmailMessage:
    """A multipart/alternative message (text and HTML) with the headers a notice needs."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message["X-Notice-Reference"] = reference
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
