"""The survey rules (pure): which channel and address a survey goes to, with the notices'
consent and quiet-hours rules; the texts; reading an answer ("4", "5 thanks!")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from streams.notices.policy import Customer, NoticePolicy, after_quiet_hours

SMS_TEXT = (
    "How satisfied are you with your contact with us today? Reply 1 (not at all) to "
    "5 (very), and a comment if you like. Reply STOP to opt out."
)
EMAIL_SUBJECT = "How did we do?"
_ANSWER = re.compile(r"^\s*([1-5])(?![0-9])[\s,.:;!/-]*(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Route:
    """Where the survey goes; ``suppressed`` says why it does not go at all."""

    channel: str
    address: str | None
    suppressed: str = ""


@dataclass(frozen=True)
class Answer:
    score: int
    comment: str


def survey_route(channel: str, address: str, customer: Customer | None) -> Route:
    """The survey follows the contact's channel: SMS for SMS and voice (to the caller's
    number), e-mail for e-mail, a prompt in the chat for chat. SMS and e-mail need a customer
    on record who consents to that channel (an opt-out by STOP withdraws it)."""
    if channel == "chat":
        return Route("chat", address)
    kind = "email" if channel == "email" else "sms"
    if customer is None:
        return Route(kind, None, "unknown customer: no consent on record")
    if kind == "sms":
        number = address if channel == "sms" else (customer.phone or address)
        if not customer.sms_consent:
            return Route(kind, None, "no consent for sms")
        return Route(kind, number or None, "" if number else "no phone number")
    if not customer.email_consent:
        return Route(kind, None, "no consent for email")
    return Route(kind, address or customer.email, "")


def send_time(now: datetime, customer: Customer | None, policy: NoticePolicy) -> datetime:
    """Now, or the end of the customer's quiet hours (their time zone)."""
    zone = customer.time_zone if customer is not None else "UTC"
    return after_quiet_hours(now, zone, policy.quiet_start, policy.quiet_end)


def parse_answer(text: str) -> Answer | None:
    """A score 1–5 at the start of a reply, the rest as the comment; None for anything else."""
    found = _ANSWER.match(text)
    if found is None:
        return None
    return Answer(int(found.group(1)), found.group(2).strip()[:1000])


def email_text(link: str) -> str:
    return (
        "Thank you for contacting us. How satisfied are you with the help you got?\n\n"
        f"Tell us in one click (1 = not at all, 5 = very): {link}\n"
    )


def chat_text(link: str) -> str:
    return f"Before you go: how satisfied are you, 1 to 5? {link}"
