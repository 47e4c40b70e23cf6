"""What a notice looks like when it goes out (HTML body, e-mail Message-ID) and the record of
its being sent."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from schemas.notices import NoticeSent


def sent_record(row: dict[str, Any], provider_id: str, attempts: int, now: datetime) -> NoticeSent:
    return NoticeSent(
        event_id=f"{row['notice_id']}:sent",
        notice_id=row["notice_id"],
        customer_id=row["customer_id"],
        channel=row["channel"],
        provider_id=provider_id,
        attempts=max(1, attempts),
        occurred_at=now,
    )


def email_message_id(reference: str, from_email: str) -> str:
    domain = from_email.rpartition("@")[2] or "localhost"
    return f"<notice.{reference.lower()}@{domain}>"


def render_html(subject: str, text: str) -> str:
    return (
        "<!doctype html><html><body>"
        f"<h2>{html.escape(subject)}</h2><p>{html.escape(text)}</p>"
        "</body></html>"
    )
