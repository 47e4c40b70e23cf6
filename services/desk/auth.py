"""Tokens of everyone who signs in (agents, supervisors, admins): issued once, stored as
SHA-256 in ``agents.token_hash``, presented as ``Authorization: Bearer <token>`` (or the
page's cookie); a disabled person's token stops working. The role says what else the token
may do (``services.admin.routes``)."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.admin.model import Role
from services.admin.ports import Principal
from streams.platform.settings import PlatformSettings


@dataclass(frozen=True)
class Agent:
    agent_id: str
    pool_id: str
    name: str | None = None
    skills: dict[str, int] = field(default_factory=dict)
    voice_endpoint: str | None = None
    role: Role = Role.AGENT
    supervised_pools: tuple[str, ...] = ()
    capacity: dict[str, int] = field(default_factory=dict)

    @property
    def principal(self) -> Principal:
        return Principal(self.agent_id, self.pool_id, self.role, self.supervised_pools)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(pool: asyncpg.Pool, agent_id: str, pool_id: str | None = None) -> str:
    """A new token for the agent (the old one stops working). A new agent needs ``pool_id``."""
    token = secrets.token_urlsafe(32)
    if pool_id is not None:
        await pool.execute(
            "INSERT INTO agents (agent_id, pool_id) VALUES ($1, $2)"
            " ON CONFLICT (agent_id) DO UPDATE SET pool_id = EXCLUDED.pool_id",
            agent_id,
            pool_id,
        )
    status = await pool.execute(
        "UPDATE agents SET token_hash = $2 WHERE agent_id = $1", agent_id, hash_token(token)
    )
    if not str(status).endswith(" 1"):
        raise LookupError(f"no agent {agent_id!r}; give its pool to create it")
    return token


async def agent_for_token(pool: asyncpg.Pool, token: str) -> Agent | None:
    if not token or not token.isascii():  # issued tokens are URL-safe ASCII
        return None
    row = await pool.fetchrow(
        "SELECT agent_id, pool_id, name, skills, voice_endpoint, role, supervised_pools,"
        " capacity FROM agents WHERE token_hash = $1 AND enabled",
        hash_token(token),
    )
    if row is None:
        return None
    skills, capacity = (_json(row[name]) for name in ("skills", "capacity"))
    return Agent(
        agent_id=row["agent_id"],
        pool_id=row["pool_id"],
        name=row["name"],
        skills={str(k): int(v) for k, v in skills.items()},
        voice_endpoint=row["voice_endpoint"],
        role=Role(row["role"]),
        supervised_pools=tuple(row["supervised_pools"]),
        capacity={str(k): int(v) for k, v in capacity.items()},
    )


def _json(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value or {})


async def issue_token_command(
    settings: PlatformSettings, agent_id: str, pool_id: str | None
) -> int:
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=1)
    try:
        print(await issue_token(pool, agent_id, pool_id))
    except LookupError as exc:
        print(exc)
        return 1
    finally:
        await pool.close()
    return 0
