"""The admin store in memory: the same contract as ``services.admin.store_pg``."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from services.admin.model import AgentChanges, AgentProfile, AuditEntry, Change, PoolView
from services.admin.ports import AlreadyExists, NotFound, PoolUpdate, Principal


class MemoryAdminStore:
    def __init__(self) -> None:
        self.profiles: dict[str, AgentProfile] = {}
        self.token_hashes: dict[str, str] = {}  # agent id → hash
        self.pool_views: dict[str, PoolView] = {}
        self.entries: list[AuditEntry] = []
        self._ids = itertools.count(1)

    def _audit(
        self,
        change: Change,
        kind: str,
        subject: str,
        pool_id: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        self.entries.append(
            AuditEntry(
                audit_id=next(self._ids),
                at=datetime.now(UTC),
                actor_id=change.actor_id,
                action=change.action,
                subject_kind=kind,
                subject_id=subject,
                pool_id=pool_id,
                reason=change.reason,
                before=before,
                after=after,
            )
        )

    async def create_agent(self, profile: AgentProfile, change: Change) -> AgentProfile:
        if profile.agent_id in self.profiles:
            raise AlreadyExists(f"agent {profile.agent_id!r} exists")
        created = profile.model_copy(update={"has_token": False})
        self.profiles[created.agent_id] = created
        self._audit(
            change,
            "agent",
            created.agent_id,
            created.pool_id,
            None,
            created.model_dump(mode="json"),
        )
        return created

    async def update_agent(
        self, agent_id: str, changes: AgentChanges, change: Change
    ) -> tuple[AgentProfile, AgentProfile]:
        before = self.profiles.get(agent_id)
        if before is None:
            raise NotFound(f"no agent {agent_id!r}")
        after = changes.applied_to(before)
        self.profiles[agent_id] = after
        self._audit(
            change,
            "agent",
            agent_id,
            after.pool_id,
            before.model_dump(mode="json"),
            after.model_dump(mode="json"),
        )
        return before, after

    async def set_token(
        self, agent_id: str, token_hash: str | None, change: Change
    ) -> AgentProfile:
        before = self.profiles.get(agent_id)
        if before is None:
            raise NotFound(f"no agent {agent_id!r}")
        if token_hash is None:
            self.token_hashes.pop(agent_id, None)
        else:
            self.token_hashes[agent_id] = token_hash
        after = before.model_copy(update={"has_token": token_hash is not None})
        self.profiles[agent_id] = after
        self._audit(
            change,
            "agent",
            agent_id,
            after.pool_id,
            {"has_token": before.has_token},
            {"has_token": after.has_token},
        )
        return after

    async def agent(self, agent_id: str) -> AgentProfile | None:
        return self.profiles.get(agent_id)

    async def agents(self, pool_id: str | None = None) -> list[AgentProfile]:
        return [
            p for _id, p in sorted(self.profiles.items()) if pool_id is None or p.pool_id == pool_id
        ]

    async def principal(self, token_hash: str) -> Principal | None:
        for agent_id, stored in self.token_hashes.items():
            profile = self.profiles[agent_id]
            if stored == token_hash and profile.enabled:
                return Principal(
                    agent_id, profile.pool_id, profile.role, tuple(profile.supervised_pools)
                )
        return None

    async def update_pool(
        self, pool_id: str, update: PoolUpdate, change: Change
    ) -> tuple[PoolView, PoolView]:
        before = self.pool_views.get(pool_id) or PoolView(pool_id=pool_id)
        after = PoolView(
            pool_id=pool_id,
            policy=before.policy if update.policy is None else update.policy,
            wrapup_codes=(
                before.wrapup_codes if update.wrapup_codes is None else update.wrapup_codes
            ),
            canned_replies=(
                before.canned_replies if update.canned_replies is None else update.canned_replies
            ),
        )
        self.pool_views[pool_id] = after
        self._audit(
            change,
            "pool",
            pool_id,
            pool_id,
            before.model_dump(mode="json"),
            after.model_dump(mode="json"),
        )
        return before, after

    async def pool(self, pool_id: str) -> PoolView | None:
        return self.pool_views.get(pool_id)

    async def pools(self) -> list[PoolView]:
        return [view for _id, view in sorted(self.pool_views.items())]

    async def record(
        self,
        change: Change,
        subject_kind: str,
        subject_id: str,
        pool_id: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        self._audit(change, subject_kind, subject_id, pool_id, before, after)

    async def audit(
        self, subject_kind: str | None = None, subject_id: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        found = [
            e
            for e in reversed(self.entries)
            if subject_kind in (None, e.subject_kind) and subject_id in (None, e.subject_id)
        ]
        return found[:limit]
