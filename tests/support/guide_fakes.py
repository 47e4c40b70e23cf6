"""An in-memory guide store: the same contract as the PostgreSQL one (tests/integration/
test_guide_store_contract.py)."""

from __future__ import annotations

from collections.abc import Sequence

from streams.guides.domain import AuditEvent, GuideRun
from streams.guides.ports import AuditRow, StoredRun, audit_event_id


class MemoryGuideStore:
    def __init__(self) -> None:
        self.runs: dict[str, StoredRun] = {}
        self.audit: dict[str, AuditRow] = {}
        self.published: set[str] = set()

    async def get(self, contact_id: str) -> StoredRun | None:
        return self.runs.get(contact_id)

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
        stored = self.runs.get(run.contact_id)
        if (stored.run.seq if stored else 0) != expected_seq or (stored and not expected_seq):
            return False
        self.runs[run.contact_id] = StoredRun(run, pool_id)
        for event in events:
            event_id = audit_event_id(run.contact_id, event.seq)
            self.audit.setdefault(
                event_id,
                AuditRow(
                    event_id, run.contact_id, run.guide_id, run.version, event, agent_id, pool_id
                ),
            )
        return True

    async def unpublished(self, contact_id: str) -> list[AuditRow]:
        rows = [r for r in self.audit.values() if r.contact_id == contact_id]
        return sorted(
            (r for r in rows if r.event_id not in self.published), key=lambda r: r.event.seq
        )

    async def mark_published(self, event_ids: Sequence[str]) -> None:
        self.published.update(event_ids)
