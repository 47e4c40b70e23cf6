"""What the guide desk needs from storage: runs saved with their audit rows in one step,
optimistically (a save expects the run's last ``seq``; a concurrent change makes it fail)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from streams.guides.domain import AuditEvent, GuideRun


@dataclass(frozen=True)
class StoredRun:
    run: GuideRun
    pool_id: str


@dataclass(frozen=True)
class AuditRow:
    """An audit event as stored, with who did it; ``event_id`` is contact id + seq."""

    event_id: str
    contact_id: str
    guide_id: str
    version: int
    event: AuditEvent
    agent_id: str | None
    pool_id: str


def audit_event_id(contact_id: str, seq: int) -> str:
    return f"{contact_id}:guide:{seq}"


class GuideStore(Protocol):
    async def get(self, contact_id: str) -> StoredRun | None: ...

    async def save(
        self,
        run: GuideRun,
        *,
        expected_seq: int,
        events: Sequence[AuditEvent],
        pool_id: str,
        agent_id: str | None,
        required: Sequence[str],
    ) -> bool:
        """Store the run and its new audit rows; False (nothing stored) when the stored run
        is not at ``expected_seq`` (0: no run yet)."""
        ...

    async def unpublished(self, contact_id: str) -> list[AuditRow]: ...

    async def mark_published(self, event_ids: Sequence[str]) -> None: ...
