"""Sends due notices, exactly once in effect.

State machine of a ``notices`` row: deferred/pending → sending (claimed; the attempt row is
committed before the provider is called) → sent | failed | pending (transient error, retried
with exponential backoff and jitter) | suppressed (no consent) | unknown (an email whose send
was interrupted: SMTP cannot be asked afterwards, so it is left for an operator, never resent).

A row left in ``sending`` (the notifier died during the provider call) is reconciled after the
send lease: for SMS the notifier asks Twilio for messages to that number carrying the notice's
reference; found → recorded as sent, not found → the message never reached Twilio and is sent.
Twilio status callbacks (signature checked) update the row as well.

The per-customer rate limit is checked, and the send committed to, under a transaction-level
advisory lock on the customer, so several notifiers cannot each let one more notice through.
Every outcome (sent, deferred, failed) is written to ``notice_outbox`` in the transaction that
records it and published to the notices topic after the commit (``streams.notices.outbox``).

One module for one state machine: its SQL statements are its transitions, each in the
transaction that makes it safe, so they stay next to each other rather than behind a port; the
rules it applies (consent, quiet hours, rate limit, channel choice) are pure and live in
``streams.notices.policy``. That is also why the module is longer than most: splitting it would
separate transitions that are only correct together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from aiokafka.errors import KafkaError

from schemas.base import utc_now
from schemas.notices import NoticeDeferred, NoticeFailed, NoticeRecord
from services.notifier.config import NotifierConfig
from services.notifier.messages import email_message_id, render_html, sent_record
from services.notifier.senders import (
    EmailSender,
    PermanentError,
    SmsSender,
    TransientError,
    UncertainError,
    build_email,
)
from streams.notices.outbox import Send, add_to_outbox, publish_outbox
from streams.notices.policy import (
    NoticePolicy,
    choose_channel,
    earliest_send_time,
)
from streams.notices.store_pg import insert_notice_row, load_customer
from streams.platform import metrics
from streams.platform.retry import backoff_delay

log = logging.getLogger(__name__)

WRITER = "notifier"  # the writer label of its PostgreSQL metrics

# pg_advisory_xact_lock(namespace, hashtext(customer id)): one rate-limit decision at a time
CUSTOMER_LOCK_NAMESPACE = 0x4E4F5443  # "NOTC"

# sends that count against the rate limit: sent within the window, and sends under way (the
# attempt committed, the provider not yet answered), counted as of now
RATE_LIMIT_SQL = """
SELECT sent_at FROM notices WHERE customer_id = $1 AND sent_at > $2 AND notice_id <> $3
UNION ALL
SELECT $4::timestamptz FROM notices n
JOIN notice_attempts a ON a.notice_id = n.notice_id AND a.attempt = n.attempts
WHERE n.customer_id = $1 AND n.status = 'sending' AND n.notice_id <> $3
  AND a.outcome IN ('started', 'uncertain')
"""


class Notifier:
    def __init__(
        self,
        pool: asyncpg.Pool,
        sms: SmsSender,
        email: EmailSender,
        policy: NoticePolicy,
        config: NotifierConfig,
        *,
        clock: Callable[[], datetime] = utc_now,
        rand: Callable[[], float] = random.random,
        worker_id: str | None = None,
        publish: Send | None = None,
    ) -> None:
        self.pool = pool
        self.sms = sms
        self.email = email
        self.policy = policy
        self.config = config
        self.clock = clock
        self.rand = rand
        self.worker_id = worker_id or f"{socket.gethostname()}:{id(self):x}"
        self.publish = publish  # None: outcomes stay in the outbox for another publisher

    # ------------------------------------------------------------------ loop
    async def run_once(self) -> int:
        """Reconcile interrupted sends, then send what is due; return notices handled."""
        handled = await self.reconcile()
        now = self.clock()
        started = time.monotonic()
        rows = await self.pool.fetch(
            """
            UPDATE notices n SET status = 'sending', attempts = n.attempts + 1,
                   claimed_at = $1, claimed_by = $2, updated_at = $1
            FROM (SELECT notice_id FROM notices
                  WHERE status IN ('pending', 'deferred') AND next_attempt_at <= $1
                  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
            WHERE n.notice_id = due.notice_id
            RETURNING n.*
            """,
            now,
            self.worker_id,
            self.config.batch_size,
        )
        metrics.DB_WRITE_DURATION.labels(writer=WRITER).observe(time.monotonic() - started)
        metrics.DB_WRITE_BATCH_SIZE.labels(writer=WRITER).observe(len(rows))
        metrics.DB_UP.labels(writer=WRITER).set(1)
        for row in rows:
            try:
                await self._process(dict(row))
            except Exception:
                log.exception("notice %s: unexpected error", row["notice_id"])
                metrics.ERRORS.labels(component="notifier", kind="unexpected").inc()
                await self._retry_later(dict(row), "internal", "unexpected error", None)
        await self.publish_outcomes()
        return handled + len(rows)

    async def publish_outcomes(self) -> int:
        """Publish the outbox (outcomes of this and earlier passes, also after a crash)."""
        if self.publish is None:
            return 0
        try:
            return await publish_outbox(self.pool, self.publish)
        except (OSError, KafkaError) as exc:
            log.warning("publishing notice outcomes failed (kept for the next pass): %s", exc)
            return 0

    async def run_forever(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("notifier pass failed: %s", exc)
                metrics.DB_WRITE_FAILURES.labels(writer=WRITER).inc()
                metrics.DB_UP.labels(writer=WRITER).set(0)
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)

    # ------------------------------------------------------------------ one notice
    async def _process(self, row: dict[str, Any]) -> None:
        now = self.clock()
        notice_id, channel = row["notice_id"], row["channel"]
        customer = await load_customer(self.pool, row["customer_id"])
        usable = None if customer is None else choose_channel(customer)
        allowed = customer is not None and (
            (channel == "sms" and customer.sms_consent and bool(customer.phone))
            or (channel == "email" and customer.email_consent and bool(customer.email))
        )
        if not allowed or customer is None:
            await self._suppress(row, f"no consent or address for {channel}")
            if customer is not None and usable is not None and usable != channel:
                await self._fall_back(row, usable)
            return
        address = customer.phone if channel == "sms" else customer.email
        assert address is not None
        attempt = row["attempts"]
        message_id = email_message_id(row["reference"], self.config.from_email)
        async with self.pool.acquire() as conn, conn.transaction():
            # the check and the commitment to send under one lock per customer: another
            # notifier's check waits, then counts this send as under way
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                CUSTOMER_LOCK_NAMESPACE,
                customer.customer_id,
            )
            if attempt == 1:
                recent = await conn.fetch(
                    RATE_LIMIT_SQL,
                    customer.customer_id,
                    now - self.policy.rate_limit_window,
                    notice_id,
                    now,
                )
                when = earliest_send_time(
                    now, customer, self.policy, [r["sent_at"] for r in recent]
                )
                if when > now:
                    quiet = earliest_send_time(now, customer, self.policy) > now
                    reason = "quiet hours" if quiet else "rate limit"
                    await self._defer(row, when, reason, conn)
                    return
            attempt_id = await conn.fetchval(
                "INSERT INTO notice_attempts (notice_id, attempt, outcome, started_at)"
                " VALUES ($1, $2, 'started', $3) RETURNING attempt_id",
                notice_id,
                attempt,
                now,
            )
            await conn.execute(
                "UPDATE notices SET address = $2,"
                " provider_id = CASE WHEN channel = 'email' THEN $3 ELSE provider_id END"
                " WHERE notice_id = $1",
                notice_id,
                address,
                message_id,
            )
        # committed: from here a crash leaves the row in 'sending' for reconcile()
        try:
            if channel == "sms":
                provider_id = await self.sms.send(
                    address, row["body_text"], self.config.status_callback(notice_id)
                )
            else:
                provider_id = await self.email.send(
                    build_email(
                        sender=self.config.from_email,
                        to=address,
                        subject=row["subject"],
                        text=row["body_text"],
                        html=render_html(row["subject"], row["body_text"]),
                        message_id=message_id,
                        reference=row["reference"],
                    )
                )
        except UncertainError as exc:
            # Twilio may have the message: left in 'sending' for reconcile() after the lease
            await self._finish_attempt(attempt_id, "uncertain", None, exc.code, exc.message)
            metrics.NOTICES.labels(channel=channel, outcome="uncertain").inc()
            log.warning(
                "notice %s: no answer from the provider (%s); looked up later", notice_id, exc
            )
            return
        except TransientError as exc:
            await self._finish_attempt(attempt_id, "transient", None, exc.code, exc.message)
            await self._retry_later(row, exc.code, exc.message, attempt_id)
            return
        except PermanentError as exc:
            await self._finish_attempt(attempt_id, "permanent", None, exc.code, exc.message)
            await self._fail(row, exc.code, exc.message)
            return
        await self._mark_sent(row, provider_id, attempt_id, "sent")

    async def _finish_attempt(
        self,
        attempt_id: int,
        outcome: str,
        provider_id: str | None,
        code: str | None,
        error: str | None,
        conn: Any = None,
    ) -> None:
        await (conn or self.pool).execute(
            "UPDATE notice_attempts SET outcome = $2, provider_id = $3, error_code = $4,"
            " error = $5, finished_at = $6 WHERE attempt_id = $1",
            attempt_id,
            outcome,
            provider_id,
            code,
            error,
            self.clock(),
        )

    async def _mark_sent(
        self, row: dict[str, Any], provider_id: str, attempt_id: int, outcome: str
    ) -> None:
        now = self.clock()
        async with self.pool.acquire() as conn, conn.transaction():
            await self._finish_attempt(attempt_id, outcome, provider_id, None, None, conn)
            attempts = await conn.fetchval(
                "UPDATE notices SET status = 'sent', provider_id = $2, sent_at = $3,"
                " error_code = NULL, error = NULL, next_attempt_at = NULL, updated_at = $3"
                " WHERE notice_id = $1 AND status = 'sending' RETURNING attempts",
                row["notice_id"],
                provider_id,
                now,
            )
            if attempts is not None:
                await self._outcome(conn, sent_record(row, provider_id, attempts, now))
        metrics.NOTICES.labels(channel=row["channel"], outcome="sent").inc()

    async def _retry_later(
        self, row: dict[str, Any], code: str, error: str, attempt_id: int | None
    ) -> None:
        attempt = int(row["attempts"])
        if attempt >= self.config.max_attempts:
            await self._fail(row, code, f"gave up after {attempt} attempts: {error}")
            return
        delay = backoff_delay(
            attempt, base=self.config.backoff_base, cap=self.config.backoff_max, rand=self.rand()
        )
        now = self.clock()
        await self.pool.execute(
            "UPDATE notices SET status = 'pending', next_attempt_at = $2, error_code = $3,"
            " error = $4, updated_at = $5 WHERE notice_id = $1 AND status = 'sending'",
            row["notice_id"],
            now + timedelta(seconds=delay),
            code,
            error,
            now,
        )
        metrics.NOTICES.labels(channel=row["channel"], outcome="retried").inc()

    async def _fail(self, row: dict[str, Any], code: str, error: str) -> None:
        now = self.clock()
        async with self.pool.acquire() as conn, conn.transaction():
            attempts = await conn.fetchval(
                "UPDATE notices SET status = 'failed', error_code = $2, error = $3,"
                " next_attempt_at = NULL, updated_at = $4 WHERE notice_id = $1"
                " RETURNING attempts",
                row["notice_id"],
                code,
                error,
                now,
            )
            if attempts is not None:
                record = NoticeFailed(
                    event_id=f"{row['notice_id']}:failed",
                    notice_id=row["notice_id"],
                    customer_id=row["customer_id"],
                    channel=row["channel"],
                    error_code=code,
                    error=error,
                    attempts=attempts,
                    occurred_at=now,
                )
                await self._outcome(conn, record)
        metrics.NOTICES.labels(channel=row["channel"], outcome="failed").inc()
        log.warning("notice %s failed permanently: %s", row["notice_id"], code)

    async def _suppress(self, row: dict[str, Any], reason: str) -> None:
        await self.pool.execute(
            "UPDATE notices SET status = 'suppressed', error = $2, attempts = attempts - 1,"
            " next_attempt_at = NULL, updated_at = $3 WHERE notice_id = $1",
            row["notice_id"],
            reason,
            self.clock(),
        )
        metrics.NOTICES.labels(channel=row["channel"], outcome="suppressed").inc()

    async def _fall_back(self, row: dict[str, Any], channel: str) -> None:
        """Consent changed since the notice was decided: the same notice on the other channel
        (its own idempotency key)."""
        base = row["notice_id"].rsplit(":", 1)[0]
        copy = {**row, "notice_id": f"{base}:{channel}", "channel": channel}
        await insert_notice_row(self.pool, copy, status="pending", not_before=self.clock())

    async def _defer(self, row: dict[str, Any], when: datetime, reason: str, conn: Any) -> None:
        """Within the caller's transaction (the one holding the customer's lock)."""
        now = self.clock()
        await conn.execute(
            "UPDATE notices SET status = 'deferred', attempts = attempts - 1,"
            " next_attempt_at = $2, not_before = $2, updated_at = $3 WHERE notice_id = $1",
            row["notice_id"],
            when,
            now,
        )
        record = NoticeDeferred(
            event_id=f"{row['notice_id']}:deferred:{when.isoformat()}",
            notice_id=row["notice_id"],
            customer_id=row["customer_id"],
            channel=row["channel"],
            not_before=when,
            reason=reason,
            occurred_at=now,
        )
        await self._outcome(conn, record)
        metrics.NOTICES.labels(channel=row["channel"], outcome="deferred").inc()

    async def _outcome(self, conn: Any, record: NoticeRecord) -> None:
        """The record goes out on the notices topic (key: customer id) after the commit."""
        await add_to_outbox(conn, self.config.notices_topic, record.customer_id, record)

    # ------------------------------------------------------------------ crash recovery
    async def reconcile(self) -> int:
        """Rows left in 'sending' longer than the send lease: find out what happened."""
        now = self.clock()
        rows = await self.pool.fetch(
            """
            UPDATE notices n SET claimed_at = $1, claimed_by = $2, updated_at = $1
            FROM (SELECT notice_id, claimed_at FROM notices
                  WHERE status = 'sending' AND claimed_at <= $3
                  LIMIT $4 FOR UPDATE SKIP LOCKED) stuck
            WHERE n.notice_id = stuck.notice_id
            RETURNING n.*, stuck.claimed_at AS previous_claim
            """,
            now,
            self.worker_id,
            now - self.config.send_lease,
            self.config.batch_size,
        )
        for record in rows:
            row = dict(record)
            attempt_id = await self.pool.fetchval(
                "SELECT attempt_id FROM notice_attempts WHERE notice_id = $1"
                " ORDER BY attempt_id DESC LIMIT 1",
                row["notice_id"],
            )
            if attempt_id is None:  # died before the attempt row: nothing went out
                await self._requeue(row)
                continue
            if row["channel"] == "email":
                await self._finish_attempt(
                    attempt_id,
                    "unknown",
                    row["provider_id"],
                    "interrupted",
                    "interrupted during the SMTP transaction; not resent",
                    None,
                )
                await self.pool.execute(
                    "UPDATE notices SET status = 'unknown', error = 'interrupted during send;"
                    " not resent', updated_at = $2 WHERE notice_id = $1",
                    row["notice_id"],
                    now,
                )
                metrics.NOTICES.labels(channel="email", outcome="unknown").inc()
                continue
            if row["address"] is None:
                await self._requeue(row)
                continue
            try:
                found = await self.sms.find(row["address"], row["reference"], row["previous_claim"])
            except (TransientError, PermanentError) as exc:
                log.warning("reconcile %s: lookup failed (%s); later", row["notice_id"], exc)
                continue  # stays in 'sending'; the next pass tries again after the lease
            if found is not None:
                await self._mark_sent(row, found, attempt_id, "reconciled")
            else:
                await self._finish_attempt(
                    attempt_id, "not_sent", None, "interrupted", "no message found at Twilio"
                )
                await self._requeue(row)
        return len(rows)

    async def _requeue(self, row: dict[str, Any]) -> None:
        await self.pool.execute(
            "UPDATE notices SET status = 'pending', next_attempt_at = $2, updated_at = $2"
            " WHERE notice_id = $1 AND status = 'sending'",
            row["notice_id"],
            self.clock(),
        )
