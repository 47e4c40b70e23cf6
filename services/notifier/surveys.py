"""The notifier's survey pass: sends due surveys (SMS through Twilio, e-mail through SMTP) with
the notices' rules checked again at send time — consent (an opt-out since the contact wins) and
quiet hours (deferred, not dropped). At most once per contact: a send interrupted by a crash is
recorded as failed, never sent twice; a transient failure is retried with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from schemas.base import utc_now
from services.notifier.config import NotifierConfig
from services.notifier.messages import render_html
from services.notifier.senders import (
    EmailSender,
    PermanentError,
    SmsSender,
    TransientError,
    UncertainError,
    build_email,
)
from services.surveys import survey_link
from streams.notices.policy import NoticePolicy
from streams.notices.store_pg import load_customer
from streams.platform import metrics
from streams.surveys.rules import EMAIL_SUBJECT, SMS_TEXT, email_text, send_time, survey_route

log = logging.getLogger(__name__)

CLAIM = """
UPDATE csat_surveys s SET status = 'sending', attempts = s.attempts + 1, not_before = $1
FROM (SELECT contact_id FROM csat_surveys WHERE status = 'pending' AND not_before <= $1
      ORDER BY not_before LIMIT $2 FOR UPDATE SKIP LOCKED) due
WHERE s.contact_id = due.contact_id
RETURNING s.*
"""


class SurveySender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        sms: SmsSender,
        email: EmailSender,
        policy: NoticePolicy,
        config: NotifierConfig,
        public_url: str,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.pool, self.sms, self.email = pool, sms, email
        self.policy, self.config, self.public_url, self.clock = policy, config, public_url, clock

    async def run_forever(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("survey pass failed: %s", exc)
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)

    async def run_once(self) -> int:
        now = self.clock()
        interrupted = await self.pool.execute(
            "UPDATE csat_surveys SET status = 'failed', status_reason = 'send interrupted'"
            " WHERE status = 'sending' AND not_before < $1",
            now - self.config.send_lease,
        )
        rows = await self.pool.fetch(CLAIM, now, self.config.batch_size)
        for row in rows:
            try:
                await self._send(dict(row), now)
            except Exception:
                log.exception("survey %s: unexpected error", row["contact_id"])
                metrics.ERRORS.labels(component="notifier", kind="unexpected").inc()
                await self._finish(row["contact_id"], "failed", "unexpected error")
        return len(rows) + int(interrupted.split()[-1])

    async def _send(self, row: dict[str, Any], now: datetime) -> None:
        contact_id, channel = row["contact_id"], row["channel"]
        customer = (
            await load_customer(self.pool, row["customer_id"]) if row["customer_id"] else None
        )
        route = survey_route("sms" if channel == "sms" else channel, row["address"], customer)
        if route.suppressed:  # consent withdrawn since the contact (e.g. STOP)
            await self._finish(contact_id, "suppressed", route.suppressed)
            return
        when = send_time(now, customer, self.policy)
        if when > now:
            await self.pool.execute(
                "UPDATE csat_surveys SET status = 'pending', not_before = $2,"
                " attempts = attempts - 1 WHERE contact_id = $1",
                contact_id,
                when,
            )
            metrics.CSAT_SURVEYS.labels(channel=channel, outcome="deferred").inc()
            return
        try:
            if channel == "sms":
                await self.sms.send(row["address"], SMS_TEXT, None)
            else:
                link = survey_link(self.public_url, contact_id, row["answer_token"])
                text = email_text(link)
                await self.email.send(
                    build_email(
                        sender=self.config.from_email,
                        to=row["address"],
                        subject=EMAIL_SUBJECT,
                        text=text,
                        html=render_html(EMAIL_SUBJECT, text),
                        message_id=f"<survey.{contact_id}@{self.config.from_email.split('@')[-1]}>",
                        reference=f"survey:{contact_id}",
                    )
                )
        except TransientError as exc:
            if row["attempts"] >= self.config.max_attempts:
                await self._finish(contact_id, "failed", f"gave up: {exc}")
                return
            delay = min(self.config.backoff_max, self.config.backoff_base * 2 ** row["attempts"])
            await self.pool.execute(
                "UPDATE csat_surveys SET status = 'pending', not_before = $2,"
                " status_reason = $3 WHERE contact_id = $1",
                contact_id,
                now + timedelta(seconds=delay),
                str(exc),
            )
            return
        except (PermanentError, UncertainError) as exc:  # never sent twice: recorded
            await self._finish(contact_id, "failed", str(exc))
            return
        await self.pool.execute(
            "UPDATE csat_surveys SET status = 'sent', sent_at = $2, status_reason = ''"
            " WHERE contact_id = $1 AND status = 'sending'",
            contact_id,
            now,
        )
        metrics.CSAT_SURVEYS.labels(channel=channel, outcome="sent").inc()

    async def _finish(self, contact_id: str, status: str, reason: str) -> None:
        row = await self.pool.fetchrow(
            "UPDATE csat_surveys SET status = $2, status_reason = $3"
            " WHERE contact_id = $1 AND status = 'sending' RETURNING channel",
            contact_id,
            status,
            reason[:500],
        )
        if row is not None:
            metrics.CSAT_SURVEYS.labels(channel=row["channel"], outcome=status).inc()
