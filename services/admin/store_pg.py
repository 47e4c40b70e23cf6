"""The admin store in PostgreSQL: ``agents`` (with roles, deploy/migrations/015), ``admin_pools``
and ``admin_audit``; each change and its audit row in one transaction, the subject locked."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from services.admin.model import (
    AgentChanges,
    AgentProfile,
    AuditEntry,
    Change,
    PoolPolicySpec,
    PoolView,
    Role,
)
from services.admin.ports import AlreadyExists, NotFound, PoolUpdate, Principal

AGENT_COLUMNS = (
    "agent_id, pool_id, name, role, enabled, language, skills, capacity, supervised_pools,"
    " token_hash IS NOT NULL AS has_token"
)
POOL_COLUMNS = "pool_id, policy, wrapup_codes, canned_replies"

AUDIT = """
INSERT INTO admin_audit
    (actor_id, action, subject_kind, subject_id, pool_id, reason, before, after)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)
"""


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _profile(row: asyncpg.Record) -> AgentProfile:
    return AgentProfile(
        agent_id=row["agent_id"],
        pool_id=row["pool_id"],
        name=row["name"],
        role=Role(row["role"]),
        enabled=row["enabled"],
        language=row["language"],
        skills=_json(row["skills"]) or {},
        capacity=_json(row["capacity"]) or {},
        supervised_pools=list(row["supervised_pools"]),
        has_token=row["has_token"],
    )


def _pool(row: asyncpg.Record) -> PoolView:
    return PoolView(
        pool_id=row["pool_id"],
        policy=PoolPolicySpec.model_validate(_json(row["policy"]) or {}),
        wrapup_codes=list(row["wrapup_codes"]),
        canned_replies=list(row["canned_replies"]),
    )


def _dump(value: AgentProfile | PoolView | None) -> str | None:
    return None if value is None else json.dumps(value.model_dump(mode="json"), sort_keys=True)


class PostgresAdminStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _audit(
        self,
        connection: asyncpg.Connection,
        change: Change,
        kind: str,
        subject: str,
        pool_id: str | None,
        before: str | None,
        after: str | None,
    ) -> None:
        await connection.execute(
            AUDIT,
            change.actor_id,
            change.action,
            kind,
            subject,
            pool_id,
            change.reason,
            before,
            after,
        )

    async def create_agent(self, profile: AgentProfile, change: Change) -> AgentProfile:
        async with self._pool.acquire() as connection, connection.transaction():
            inserted = await connection.fetchrow(
                "INSERT INTO agents (agent_id, pool_id, name, role, enabled, language, skills,"
                " capacity, supervised_pools) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb,"
                " $8::jsonb, $9::text[]) ON CONFLICT (agent_id) DO NOTHING"
                f" RETURNING {AGENT_COLUMNS}",
                *_agent_values(profile),
            )
            if inserted is None:
                raise AlreadyExists(f"agent {profile.agent_id!r} exists")
            created = _profile(inserted)
            await self._audit(
                connection, change, "agent", created.agent_id, created.pool_id, None, _dump(created)
            )
            return created

    async def update_agent(
        self, agent_id: str, changes: AgentChanges, change: Change
    ) -> tuple[AgentProfile, AgentProfile]:
        async with self._pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                f"SELECT {AGENT_COLUMNS} FROM agents WHERE agent_id = $1 FOR UPDATE", agent_id
            )
            if row is None:
                raise NotFound(f"no agent {agent_id!r}")
            before = _profile(row)
            after = changes.applied_to(before)
            await connection.execute(
                "UPDATE agents SET pool_id = $2, name = $3, role = $4, enabled = $5,"
                " language = $6, skills = $7::jsonb, capacity = $8::jsonb,"
                " supervised_pools = $9::text[], updated_at = now() WHERE agent_id = $1",
                *_agent_values(after),
            )
            await self._audit(
                connection, change, "agent", agent_id, after.pool_id, _dump(before), _dump(after)
            )
            return before, after

    async def set_token(
        self, agent_id: str, token_hash: str | None, change: Change
    ) -> AgentProfile:
        async with self._pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                f"SELECT {AGENT_COLUMNS} FROM agents WHERE agent_id = $1 FOR UPDATE", agent_id
            )
            if row is None:
                raise NotFound(f"no agent {agent_id!r}")
            before = _profile(row)
            await connection.execute(
                "UPDATE agents SET token_hash = $2, updated_at = now() WHERE agent_id = $1",
                agent_id,
                token_hash,
            )
            after = before.model_copy(update={"has_token": token_hash is not None})
            await self._audit(
                connection,
                change,
                "agent",
                agent_id,
                after.pool_id,
                json.dumps({"has_token": before.has_token}),
                json.dumps({"has_token": after.has_token}),
            )
            return after

    async def agent(self, agent_id: str) -> AgentProfile | None:
        row = await self._pool.fetchrow(
            f"SELECT {AGENT_COLUMNS} FROM agents WHERE agent_id = $1", agent_id
        )
        return None if row is None else _profile(row)

    async def agents(self, pool_id: str | None = None) -> list[AgentProfile]:
        rows = await self._pool.fetch(
            f"SELECT {AGENT_COLUMNS} FROM agents WHERE $1::text IS NULL OR pool_id = $1"
            " ORDER BY agent_id",
            pool_id,
        )
        return [_profile(row) for row in rows]

    async def principal(self, token_hash: str) -> Principal | None:
        row = await self._pool.fetchrow(
            "SELECT agent_id, pool_id, role, supervised_pools FROM agents"
            " WHERE token_hash = $1 AND enabled",
            token_hash,
        )
        if row is None:
            return None
        return Principal(
            row["agent_id"], row["pool_id"], Role(row["role"]), tuple(row["supervised_pools"])
        )

    async def update_pool(
        self, pool_id: str, update: PoolUpdate, change: Change
    ) -> tuple[PoolView, PoolView]:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO admin_pools (pool_id) VALUES ($1) ON CONFLICT DO NOTHING", pool_id
            )
            row = await connection.fetchrow(
                f"SELECT {POOL_COLUMNS} FROM admin_pools WHERE pool_id = $1 FOR UPDATE", pool_id
            )
            before = _pool(row)
            after = PoolView(
                pool_id=pool_id,
                policy=before.policy if update.policy is None else update.policy,
                wrapup_codes=(
                    before.wrapup_codes if update.wrapup_codes is None else update.wrapup_codes
                ),
                canned_replies=(
                    before.canned_replies
                    if update.canned_replies is None
                    else update.canned_replies
                ),
            )
            await connection.execute(
                "UPDATE admin_pools SET policy = $2::jsonb, wrapup_codes = $3::text[],"
                " canned_replies = $4::text[], updated_at = now() WHERE pool_id = $1",
                pool_id,
                json.dumps(after.policy.model_dump(mode="json")),
                after.wrapup_codes,
                after.canned_replies,
            )
            await self._audit(
                connection, change, "pool", pool_id, pool_id, _dump(before), _dump(after)
            )
            return before, after

    async def pool(self, pool_id: str) -> PoolView | None:
        row = await self._pool.fetchrow(
            f"SELECT {POOL_COLUMNS} FROM admin_pools WHERE pool_id = $1", pool_id
        )
        return None if row is None else _pool(row)

    async def pools(self) -> list[PoolView]:
        rows = await self._pool.fetch(f"SELECT {POOL_COLUMNS} FROM admin_pools ORDER BY pool_id")
        return [_pool(row) for row in rows]

    async def record(
        self,
        change: Change,
        subject_kind: str,
        subject_id: str,
        pool_id: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        async with self._pool.acquire() as connection:
            await self._audit(
                connection,
                change,
                subject_kind,
                subject_id,
                pool_id,
                None if before is None else json.dumps(before, sort_keys=True),
                None if after is None else json.dumps(after, sort_keys=True),
            )

    async def audit(
        self, subject_kind: str | None = None, subject_id: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        rows = await self._pool.fetch(
            "SELECT audit_id, at, actor_id, action, subject_kind, subject_id, pool_id, reason,"
            " before, after FROM admin_audit"
            " WHERE ($1::text IS NULL OR subject_kind = $1)"
            " AND ($2::text IS NULL OR subject_id = $2)"
            " ORDER BY audit_id DESC LIMIT $3",
            subject_kind,
            subject_id,
            limit,
        )
        return [
            AuditEntry(
                **{**dict(row), "before": _json(row["before"]), "after": _json(row["after"])}
            )
            for row in rows
        ]


def _agent_values(profile: AgentProfile) -> tuple[Any, ...]:
    return (
        profile.agent_id,
        profile.pool_id,
        profile.name,
        profile.role.value,
        profile.enabled,
        profile.language,
        json.dumps(profile.skills, sort_keys=True),
        json.dumps({str(k): v for k, v in profile.capacity.items()}, sort_keys=True),
        list(profile.supervised_pools),
    )


__all__ = ["PostgresAdminStore"]
