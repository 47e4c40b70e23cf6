"""Where the admin API keeps agents, tokens, pools and the audit: PostgreSQL
(``store_pg.PostgresAdminStore``) or, for tests, memory; one contract suite runs against both.

Every change is written with its audit row (who, when, before, after) in one transaction; a
token is stored as its SHA-256 only and appears in no audit row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from services.admin.model import (
    AgentChanges,
    AgentProfile,
    AuditEntry,
    Change,
    PoolPolicySpec,
    PoolView,
    Role,
)


class AlreadyExists(Exception):
    """The agent to create exists already (409)."""


class NotFound(Exception):
    """No such agent or pool (404)."""


@dataclass(frozen=True)
class PoolUpdate:
    """What to replace of a pool (None keeps it)."""

    policy: PoolPolicySpec | None = None
    wrapup_codes: list[str] | None = None
    canned_replies: list[str] | None = None


@dataclass(frozen=True)
class Principal:
    """Who a token belongs to, with what they may do."""

    agent_id: str
    pool_id: str
    role: Role
    supervised_pools: tuple[str, ...] = ()

    def may(self, role: Role) -> bool:
        return self.role.rank >= role.rank

    def supervises(self, pool_id: str) -> bool:
        return self.role is Role.ADMIN or (
            self.role is Role.SUPERVISOR and pool_id in self.supervised_pools
        )


class AdminStore(Protocol):
    async def create_agent(self, profile: AgentProfile, change: Change) -> AgentProfile:
        """Insert a new agent; ``AlreadyExists`` when the id is taken."""

    async def update_agent(
        self, agent_id: str, changes: AgentChanges, change: Change
    ) -> tuple[AgentProfile, AgentProfile]:
        """Apply the changes; (before, after). ``NotFound`` when there is no such agent."""

    async def set_token(
        self, agent_id: str, token_hash: str | None, change: Change
    ) -> AgentProfile:
        """Store a token's hash (None revokes); ``NotFound`` when there is no such agent."""

    async def agent(self, agent_id: str) -> AgentProfile | None: ...

    async def agents(self, pool_id: str | None = None) -> list[AgentProfile]:
        """Every agent, or those of one pool, by id."""

    async def principal(self, token_hash: str) -> Principal | None:
        """The enabled agent holding the token of this hash."""

    async def update_pool(
        self, pool_id: str, update: PoolUpdate, change: Change
    ) -> tuple[PoolView, PoolView]:
        """Replace what ``update`` gives (a pool is created by its first change); (before,
        after)."""

    async def pool(self, pool_id: str) -> PoolView | None: ...

    async def pools(self) -> list[PoolView]:
        """Every pool with a policy, codes or replies set, by id."""

    async def record(
        self,
        change: Change,
        subject_kind: str,
        subject_id: str,
        pool_id: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        """Audit an action that changes nothing here (a supervisor's action for routing)."""

    async def audit(
        self, subject_kind: str | None = None, subject_id: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """The latest entries first."""
