"""How the notifier sends: sender address, callback URL, attempts and backoff, lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from schemas.topics import NOTICES


@dataclass(frozen=True)
class NotifierConfig:
    from_email: str = "notices@example.com"
    public_url: str = "http://127.0.0.1:8095"
    max_attempts: int = 6
    backoff_base: float = 2.0
    backoff_max: float = 300.0
    send_lease: timedelta = timedelta(seconds=60)
    batch_size: int = 20
    topic_prefix: str = ""

    @property
    def notices_topic(self) -> str:
        return NOTICES.full_name(self.topic_prefix)

    def status_callback(self, notice_id: str) -> str:
        # ':' left as is: clients and proxies would not re-encode it, so the signed URL holds
        return (
            f"{self.public_url.rstrip('/')}/twilio/sms-status?notice={quote(notice_id, safe=':')}"
        )
