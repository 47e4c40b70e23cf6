"""The admin store contract, run against the in-memory fake and the real PostgreSQL: agents,
tokens (hashes only), roles, pools, and an audit row for every change."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from schemas.contacts import Channel
from services.admin.model import AgentChanges, AgentProfile, Change, PoolPolicySpec, Role
from services.admin.ports import AdminStore, AlreadyExists, NotFound, PoolUpdate, Principal
from services.admin.store_pg import PostgresAdminStore
from services.runtime.postgres import create_database
from streams.platform.migrations import migrate
from tests.support.admin_fakes import MemoryAdminStore

BY_ROOT = Change(actor_id="root", action="agent.create", reason="new hire")


@pytest.fixture(params=["memory", "postgres"])
async def store(
    request: pytest.FixtureRequest, postgres_server_url: str
) -> AsyncIterator[AdminStore]:
    if request.param == "memory":
        yield MemoryAdminStore()
        return
    url = await create_database(postgres_server_url)
    await migrate(url)
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        yield PostgresAdminStore(pool)
    finally:
        await pool.close()


def ann() -> AgentProfile:
    return AgentProfile(
        agent_id="ann",
        pool_id="p1",
        name="Ann",
        skills={"billing": 5},
        capacity={Channel.CHAT: 2},
        language="fr",
    )


async def test_a_created_agent_reads_back_and_is_audited(store: AdminStore) -> None:
    created = await store.create_agent(ann(), BY_ROOT)
    assert created == ann() and not created.has_token
    assert await store.agent("ann") == created
    assert [a.agent_id for a in await store.agents("p1")] == ["ann"]
    assert await store.agents("p2") == []
    with pytest.raises(AlreadyExists):
        await store.create_agent(ann(), BY_ROOT)
    (entry,) = await store.audit("agent", "ann")
    assert (entry.actor_id, entry.action, entry.reason) == ("root", "agent.create", "new hire")
    assert entry.before is None and entry.after is not None
    assert entry.after["skills"] == {"billing": 5} and entry.after["capacity"] == {"chat": 2}


async def test_changes_keep_what_they_do_not_name_and_audit_before_and_after(
    store: AdminStore,
) -> None:
    await store.create_agent(ann(), BY_ROOT)
    change = Change(actor_id="root", action="agent.update")
    before, after = await store.update_agent(
        "ann", AgentChanges(skills={"billing": 7, "fr": 4}, enabled=False), change
    )
    assert before == ann()
    assert after == ann().model_copy(update={"skills": {"billing": 7, "fr": 4}, "enabled": False})
    assert await store.agent("ann") == after
    latest = (await store.audit("agent", "ann"))[0]
    assert latest.before is not None and latest.before["skills"] == {"billing": 5}
    assert latest.after is not None and latest.after["enabled"] is False
    with pytest.raises(NotFound):
        await store.update_agent("nobody", AgentChanges(name="x"), change)


async def test_a_token_is_found_by_its_hash_until_revoked_or_disabled(store: AdminStore) -> None:
    boss = ann().model_copy(
        update={"agent_id": "boss", "role": Role.SUPERVISOR, "supervised_pools": ["p1", "p2"]}
    )
    await store.create_agent(boss, BY_ROOT)
    issued = await store.set_token("boss", "hash-1", Change(actor_id="root", action="token.issue"))
    assert issued.has_token
    principal = await store.principal("hash-1")
    assert principal == Principal("boss", "p1", Role.SUPERVISOR, ("p1", "p2"))
    assert principal.supervises("p2") and not principal.supervises("p3")
    assert principal.may(Role.SUPERVISOR) and not principal.may(Role.ADMIN)
    assert await store.principal("hash-2") is None
    entry = (await store.audit("agent", "boss"))[0]
    assert entry.after == {"has_token": True}  # never the hash
    await store.update_agent("boss", AgentChanges(enabled=False), BY_ROOT)
    assert await store.principal("hash-1") is None
    await store.update_agent("boss", AgentChanges(enabled=True), BY_ROOT)
    assert await store.principal("hash-1") is not None
    revoked = await store.set_token("boss", None, Change(actor_id="root", action="token.revoke"))
    assert not revoked.has_token and await store.principal("hash-1") is None
    with pytest.raises(NotFound):
        await store.set_token("nobody", "h", BY_ROOT)


async def test_a_pool_is_created_by_its_first_change_and_keeps_what_is_not_replaced(
    store: AdminStore,
) -> None:
    assert await store.pool("p1") is None
    policy = PoolPolicySpec(class_weights={"vip": 10.0, "standard": 50.0}, aging_per_second=0.5)
    change = Change(actor_id="root", action="pool.policy")
    before, after = await store.update_pool("p1", PoolUpdate(policy=policy), change)
    assert before.policy == PoolPolicySpec() and after.policy == policy
    _, after = await store.update_pool(
        "p1", PoolUpdate(wrapup_codes=["resolved", "refund"]), change
    )
    assert after.policy == policy and after.wrapup_codes == ["resolved", "refund"]
    assert await store.pool("p1") == after
    assert [p.pool_id for p in await store.pools()] == ["p1"]
    entries = await store.audit("pool", "p1")
    assert len(entries) == 2 and entries[0].after is not None
    assert entries[0].after["wrapup_codes"] == ["resolved", "refund"]


async def test_recorded_actions_come_latest_first(store: AdminStore) -> None:
    for n in range(3):
        await store.record(
            Change(actor_id="sup", action="contact.end", reason=f"stuck {n}"),
            "contact",
            f"c{n}",
            "p1",
            {"status": "assigned"},
            {"requested": "end"},
        )
    entries = await store.audit(limit=2)
    assert [e.subject_id for e in entries] == ["c2", "c1"]
    assert entries[0].before == {"status": "assigned"} and entries[0].pool_id == "p1"
