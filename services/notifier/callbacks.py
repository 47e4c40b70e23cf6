"""Twilio message status callbacks: signature checked with the SDK's RequestValidator
(bad or missing → 403, nothing recorded), then the notice row and an attempt row updated.
A callback for a row still in ``sending`` (the notifier died before recording the send)
records it as sent and writes NoticeSent to the outbox.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web

from schemas.base import utc_now
from schemas.topics import NOTICES
from services.http_input import check_url, read_form
from services.notifier.messages import sent_record
from services.twilio_client import SignatureCheck
from streams.notices.outbox import add_to_outbox

log = logging.getLogger(__name__)

FINAL = {"delivered": "delivered", "undelivered": "undelivered", "failed": "undelivered"}


def callback_app(
    pool: asyncpg.Pool,
    signatures: SignatureCheck,
    public_url: str,
    clock: Callable[[], datetime] = utc_now,
    notices_topic: str = NOTICES.full_name(""),
) -> web.Application:
    async def sms_status(request: web.Request) -> web.Response:
        check_url(request)
        form = await read_form(request)
        url = public_url.rstrip("/") + request.raw_path  # the URL exactly as Twilio signed it
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signatures.genuine(url, form, signature):
            log.warning("status callback with a bad signature for %s", request.raw_path)
            return web.Response(status=403, text="invalid signature")
        notice_id = request.query.get("notice", "")
        sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
        await record_status(
            pool, notice_id, sid, status, form.get("ErrorCode"), clock(), notices_topic
        )
        return web.Response(status=200, text="")

    app = web.Application()
    app.router.add_post("/twilio/sms-status", sms_status)
    return app


async def record_status(
    pool: asyncpg.Pool,
    notice_id: str,
    sid: str,
    status: str,
    error_code: str | None,
    now: datetime,
    notices_topic: str = NOTICES.full_name(""),
) -> bool:
    async with pool.acquire() as conn, conn.transaction():
        before = await conn.fetchval(
            "SELECT status FROM notices WHERE notice_id = $1 FOR UPDATE", notice_id
        )
        row: Any = await conn.fetchrow(
            """
            UPDATE notices SET provider_status = $3,
                   status = CASE WHEN status IN ('delivered', 'undelivered') THEN status
                                 WHEN $4::text IS NOT NULL THEN $4::text
                                 WHEN status = 'sending' THEN 'sent' ELSE status END,
                   provider_id = COALESCE(provider_id, $2),
                   sent_at = COALESCE(sent_at, $6),
                   error_code = COALESCE($5, error_code), updated_at = $6
            WHERE notice_id = $1 AND channel = 'sms' AND (provider_id IS NULL OR provider_id = $2)
            RETURNING *
            """,
            notice_id,
            sid,
            status,
            FINAL.get(status),
            error_code,
            now,
        )
        if row is None:
            log.info("status callback for unknown notice %s / %s", notice_id, sid)
            return False
        if before == "sending":
            record = sent_record(dict(row), sid, row["attempts"], now)
            await add_to_outbox(conn, notices_topic, record.customer_id, record)
        await conn.execute(
            "INSERT INTO notice_attempts (notice_id, attempt, outcome, provider_id, error_code,"
            " detail, started_at, finished_at)"
            " VALUES ($1, $2, 'status', $3, $4, $5::jsonb, $6, $6)",
            notice_id,
            row["attempts"],
            sid,
            error_code,
            json.dumps({"MessageStatus": status}),
            now,
        )
    return True
