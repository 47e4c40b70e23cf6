"""A chat's transcript by e-mail, on the customer's request, through the outbound SMTP relay
(the one agent e-mail replies use). Sent once per chat and address; a relay failure is told to
the customer, who may ask again."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from services.conversations import Message
from streams.platform.settings import EmailRelaySettings


class TranscriptNotSent(Exception):
    """The relay refused or could not be reached; the reason is for the customer."""


def looks_like_address(address: str) -> bool:
    local, at, domain = address.partition("@")
    return bool(at and local and "." in domain and len(address) <= 200 and " " not in address)


def transcript_text(messages: Sequence[Message], agent_names: dict[str, str]) -> str:
    lines = []
    for m in messages:
        when = m.created_at.strftime("%Y-%m-%d %H:%M UTC") if m.created_at else ""
        who = "You" if m.direction == "in" else agent_names.get(m.author or "", "Agent")
        lines.append(f"[{when}] {who}: {m.body}")
    return "\n".join(lines) + "\n"


def transcript_mail(
    settings: EmailRelaySettings,
    to: str,
    contact_id: str,
    messages: Sequence[Message],
    agent_names: dict[str, str],
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.support_email
    mail["To"] = to
    mail["Subject"] = "Your chat with us"
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=settings.support_email.rpartition("@")[2] or None)
    mail["X-Contact-Id"] = contact_id
    mail.set_content("The transcript of your chat:\n\n" + transcript_text(messages, agent_names))
    return mail


async def send_transcript(settings: EmailRelaySettings, mail: EmailMessage) -> None:
    password = settings.smtp_relay_password
    try:
        await aiosmtplib.send(
            mail,
            hostname=settings.smtp_relay_host,
            port=settings.smtp_relay_port,
            username=settings.smtp_relay_username,
            password=password.get_secret_value() if password else None,
            timeout=10,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise TranscriptNotSent("the transcript could not be sent now, please try again") from exc
