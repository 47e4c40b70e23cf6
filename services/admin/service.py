"""The admin operations, shared by the HTTP API and ``contactcenter admin``: each change is
stored with its audit row, then reaches routing as a routing input (``schemas.control``) —
never a write to routing's tables, never a restart.

Stored first, published second: when the broker is away the change is stored and audited and
the caller gets ``PublishFailed`` (503); the same call again publishes again, and routing
ignores a profile or policy it already has (``profile_unchanged``, ``policy_unchanged``), so a
retry is always safe."""

from __future__ import annotations

import hashlib
import secrets

from schemas import control
from schemas.topics import AGENT_EVENTS, ROUTING
from services.admin.model import (
    AgentChanges,
    AgentProfile,
    CannedReplies,
    Change,
    IssuedToken,
    NewAgent,
    PoolPolicyChange,
    PoolView,
    WrapupCodes,
)
from services.admin.ports import AdminStore, PoolUpdate
from services.publisher import Publisher
from streams.platform.metrics import CONTROL_ACTIONS


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AdminService:
    def __init__(self, store: AdminStore, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    # ------------------------------------------------------------ agents
    async def create_agent(self, actor_id: str, new: NewAgent) -> AgentProfile:
        change = Change(actor_id=actor_id, action="agent.create", reason=new.reason)
        created = await self.store.create_agent(new.profile(), change)
        await self._profile_to_routing(created, actor_id)
        CONTROL_ACTIONS.labels(action=change.action).inc()
        return created

    async def update_agent(
        self, actor_id: str, agent_id: str, changes: AgentChanges
    ) -> AgentProfile:
        change = Change(actor_id=actor_id, action="agent.update", reason=changes.reason)
        before, after = await self.store.update_agent(agent_id, changes, change)
        if before.pool_id != after.pool_id:  # leave the old pool; the next login joins the new
            await self._force(before, control.ForcedState.LOGGED_OUT, "moved_pool", actor_id)
        if not after.enabled:
            await self._force(after, control.ForcedState.LOGGED_OUT, "disabled", actor_id)
        else:
            await self._profile_to_routing(after, actor_id)
        CONTROL_ACTIONS.labels(action=change.action).inc()
        return after

    async def issue_token(self, actor_id: str, agent_id: str, reason: str = "") -> IssuedToken:
        token = secrets.token_urlsafe(32)
        change = Change(actor_id=actor_id, action="token.issue", reason=reason)
        await self.store.set_token(agent_id, hash_token(token), change)
        CONTROL_ACTIONS.labels(action=change.action).inc()
        return IssuedToken(agent_id=agent_id, token=token)

    async def revoke_token(self, actor_id: str, agent_id: str, reason: str = "") -> AgentProfile:
        change = Change(actor_id=actor_id, action="token.revoke", reason=reason)
        revoked = await self.store.set_token(agent_id, None, change)
        CONTROL_ACTIONS.labels(action=change.action).inc()
        return revoked

    async def _profile_to_routing(self, profile: AgentProfile, actor_id: str) -> None:
        record = control.AgentProfileChanged(
            pool_id=profile.pool_id,
            agent_id=profile.agent_id,
            skills=dict(profile.skills),
            capacity={str(ch): n for ch, n in profile.capacity.items()},
            actor_id=actor_id,
        )
        await self.publisher.publish(AGENT_EVENTS, profile.agent_id, record)

    async def _force(
        self, profile: AgentProfile, state: control.ForcedState, reason: str, actor_id: str
    ) -> None:
        record = control.ForceAgentState(
            pool_id=profile.pool_id,
            agent_id=profile.agent_id,
            state=state,
            reason=reason,
            actor_id=actor_id,
        )
        await self.publisher.publish(AGENT_EVENTS, profile.agent_id, record)

    # ------------------------------------------------------------ pools
    async def set_policy(self, actor_id: str, pool_id: str, change: PoolPolicyChange) -> PoolView:
        spec = change.spec()
        audited = Change(actor_id=actor_id, action="pool.policy", reason=change.reason)
        _, after = await self.store.update_pool(pool_id, PoolUpdate(policy=spec), audited)
        record = control.PoolPolicyChanged(
            pool_id=pool_id,
            class_weights=spec.class_weights,
            aging_per_second=spec.aging_per_second,
            service_levels=list(spec.service_levels),
            business_hours=list(spec.business_hours),
            time_zone=spec.time_zone,
            actor_id=actor_id,
        )
        await self.publisher.publish(ROUTING, pool_id, record)
        CONTROL_ACTIONS.labels(action=audited.action).inc()
        return after

    async def set_wrapup_codes(self, actor_id: str, pool_id: str, codes: WrapupCodes) -> PoolView:
        change = Change(actor_id=actor_id, action="pool.wrapup_codes", reason=codes.reason)
        _, after = await self.store.update_pool(
            pool_id, PoolUpdate(wrapup_codes=list(codes.codes)), change
        )
        CONTROL_ACTIONS.labels(action=change.action).inc()
        return after

    async def set_canned_replies(
        self, actor_id: str, pool_id: str, replies: CannedReplies
    ) -> PoolView:
        change = Change(actor_id=actor_id, action="pool.canned_replies", reason=replies.reason)
        _, after = await self.store.update_pool(
            pool_id, PoolUpdate(canned_replies=list(replies.replies)), change
        )
        CONTROL_ACTIONS.labels(action=change.action).inc()
        return after
