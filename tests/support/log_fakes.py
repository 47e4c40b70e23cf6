"""In-memory interaction log: the same contract as the PostgreSQL adapter, for fast tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from schemas import routing
from streams.interaction_log.ports import ContactLifecycle, WriteResult
from streams.interaction_log.projection import (
    ContactPatch,
    LogEntry,
    contact_patch,
    merge_patches,
    unique_entries,
)

_COUNTED = (routing.ContactAssigned, routing.ContactRemoved, routing.ContactReleased)


class MemoryInteractionLog:
    def __init__(self) -> None:
        self.events: dict[str, LogEntry] = {}
        self._contacts: dict[str, ContactPatch] = {}
        self._classes: dict[str, str | None] = {}

    async def write(self, entries: Sequence[LogEntry]) -> WriteResult:
        new = [e for e in unique_entries(entries) if e.record.event_id not in self.events]
        for entry in new:
            self.events[entry.record.event_id] = entry
        for patch in filter(None, (contact_patch(e.record) for e in new)):
            seen = self._contacts.get(patch.contact_id)
            (merged,) = merge_patches([seen, patch] if seen else [patch])
            # the class routing queued it with wins; the gateway's only when nothing else
            known = self._classes.get(patch.contact_id)
            self._classes[patch.contact_id] = patch.queue_class or known or patch.arrival_class
            self._contacts[patch.contact_id] = replace(merged, queue_class=None)
        labels = {
            e.record.contact_id: (
                self._classes.get(e.record.contact_id) or "unknown",
                self._contacts[e.record.contact_id].channel or "unknown",
            )
            for e in new
            if isinstance(e.record, _COUNTED)
        }
        return WriteResult(new, labels)

    async def contact(self, contact_id: str) -> ContactLifecycle | None:
        patch = self._contacts.get(contact_id)
        if patch is None:
            return None
        return ContactLifecycle(
            contact_id=patch.contact_id,
            pool_id=patch.pool_id,
            channel=patch.channel,
            customer_class=self._classes.get(contact_id),
            customer_key=patch.customer_key,
            arrived_at=patch.arrived_at,
            first_offered_at=patch.first_offered_at,
            answered_at=patch.answered_at,
            agent_id=patch.agent_id,
            completed_at=patch.completed_at,
            abandoned_at=patch.abandoned_at,
            ended_at=patch.ended_at,
            removed_reason=patch.removed_reason,
            wait_seconds=patch.wait_seconds,
            handle_seconds=patch.handle_seconds,
            disposition=patch.disposition,
            offers=patch.offers,
            rejections=patch.rejections,
            expirations=patch.expirations,
            requeues=patch.requeues,
            callback_requested=patch.callback_requested,
        )
