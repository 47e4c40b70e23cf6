"""Satisfaction surveys in PostgreSQL (table ``csat_surveys``): planned when the agent completes
a contact (at most once per contact), answered by an SMS reply (gateway) or through the link in
the e-mail or chat (desk). Sending is the notifier's (services/notifier/surveys.py)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

import asyncpg

from streams.notices.policy import NoticePolicy
from streams.notices.store_pg import load_customer
from streams.platform import metrics
from streams.surveys.rules import Answer, send_time, survey_route


@dataclass(frozen=True)
class Planned:
    channel: str
    status: str  # pending, suppressed, sent (chat: the prompt goes with the completion)
    link: str


def survey_link(public_url: str, contact_id: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/survey/{quote(contact_id, safe='')}?t={token}"


async def plan_survey(
    pool: asyncpg.Pool,
    *,
    contact_id: str,
    channel: str,
    address: str,
    customer_id: str | None,
    customer_class: str,
    agent_id: str,
    reason: str,
    policy: NoticePolicy,
    public_url: str,
    now: datetime,
) -> Planned | None:
    """Plan the contact's survey; None when it has one already (once per contact)."""
    customer = await load_customer(pool, customer_id) if customer_id else None
    route = survey_route(channel, address, customer)
    status = "pending"
    if route.suppressed or route.channel == "chat":  # a chat prompt goes with the completion
        status = "suppressed" if route.suppressed else "sent"
    token = secrets.token_urlsafe(16)
    inserted = await pool.fetchval(
        "INSERT INTO csat_surveys (contact_id, channel, address, customer_id, customer_class,"
        " agent_id, reason, status, status_reason, answer_token, not_before, sent_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " ON CONFLICT (contact_id) DO NOTHING RETURNING contact_id",
        contact_id, route.channel, route.address or address, customer_id, customer_class,
        agent_id, reason, status, route.suppressed, token, send_time(now, customer, policy),
        now if status == "sent" else None,
    )  # fmt: skip
    if inserted is None:
        return None
    outcome = {"pending": "planned"}.get(status, status)
    metrics.CSAT_SURVEYS.labels(channel=route.channel, outcome=outcome).inc()
    return Planned(route.channel, status, survey_link(public_url, contact_id, token))


async def _answer(
    pool: asyncpg.Pool,
    where: str,
    args: list[object],
    answer: Answer,
    message_id: str | None = None,
) -> bool:
    row = await pool.fetchrow(
        "UPDATE csat_surveys SET status = 'answered', score = $1, comment = $2,"
        f" answered_at = now(), answer_message_id = $3 WHERE {where} AND status = 'sent'"
        " RETURNING customer_class, channel, reason,"
        " (SELECT c.channel FROM contacts c WHERE c.contact_id = csat_surveys.contact_id)"
        " AS contact_channel",
        answer.score,
        answer.comment or None,
        message_id,
        *args,
    )
    if row is None:
        return False
    # the channel of the contact surveyed, not the survey's (a call surveyed by SMS is voice)
    channel = row["contact_channel"] or row["channel"]
    labels = {"customer_class": row["customer_class"], "channel": channel}
    metrics.CSAT_ANSWERS.labels(**labels, reason=row["reason"]).inc()
    metrics.CSAT_SCORE.labels(**labels, reason=row["reason"]).inc(answer.score)
    return True


async def answer_by_sms(
    pool: asyncpg.Pool,
    number: str,
    answer: Answer,
    window: timedelta,
    now: datetime,
    message_id: str,
) -> bool:
    """The reply of a number with a survey sent within ``window`` (the latest); False if none.
    The survey remembers ``message_id`` (the SMS's MessageSid): see :func:`answered_by`."""
    return await _answer(
        pool,
        "contact_id = (SELECT contact_id FROM csat_surveys WHERE address = $4 AND status = 'sent'"
        " AND channel = 'sms' AND sent_at >= $5 ORDER BY sent_at DESC LIMIT 1)",
        [number, now - window],
        answer,
        message_id,
    )


async def answered_by(pool: asyncpg.Pool, message_id: str) -> bool:
    """Whether this message answered a survey already (a provider's retry of the answer)."""
    found = await pool.fetchval(
        "SELECT 1 FROM csat_surveys WHERE answer_message_id = $1", message_id
    )
    return found is not None


async def answer_by_link(pool: asyncpg.Pool, contact_id: str, token: str, answer: Answer) -> bool:
    return await _answer(pool, "contact_id = $4 AND answer_token = $5", [contact_id, token], answer)
