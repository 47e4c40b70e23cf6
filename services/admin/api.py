"""The admin API (``/api/admin/…``, admin role): agents, tokens, pools, wrap-up codes, canned
replies and the audit, each a route of the table below (see ``services.admin.routes``)."""

from __future__ import annotations

from services.admin.model import (
    AgentChanges,
    AgentList,
    AgentProfile,
    AuditList,
    CannedReplies,
    IssuedToken,
    NewAgent,
    PoolList,
    PoolPolicyChange,
    PoolView,
    ReasonBody,
    Role,
    WrapupCodes,
)
from services.admin.ports import NotFound
from services.admin.routes import POOL_ID, Call, QueryParam, Route, refuse
from services.admin.service import AdminService
from services.desk.keys import DESK

MAX_AUDIT = 1000


def _service(call: Call) -> AdminService:
    service = call.request.app[DESK].admin
    if service is None:
        raise refuse(503, "the admin API is not configured on this desk")
    return service


def _actor(call: Call) -> str:
    return call.principal.agent_id


async def list_agents(call: Call) -> AgentList:
    pool_id = call.query.get("pool_id")
    if pool_id is not None and not POOL_ID.match(pool_id):
        raise refuse(400, "'pool_id' is not a pool id")
    return AgentList(agents=await _service(call).store.agents(pool_id))


async def create_agent(call: Call) -> AgentProfile:
    return await _service(call).create_agent(_actor(call), call.body)


async def get_agent(call: Call) -> AgentProfile:
    found = await _service(call).store.agent(call.params["agent_id"])
    if found is None:
        raise NotFound(f"no agent {call.params['agent_id']!r}")
    return found


async def update_agent(call: Call) -> AgentProfile:
    return await _service(call).update_agent(_actor(call), call.params["agent_id"], call.body)


async def issue_token(call: Call) -> IssuedToken:
    return await _service(call).issue_token(_actor(call), call.params["agent_id"], call.body.reason)


async def revoke_token(call: Call) -> AgentProfile:
    return await _service(call).revoke_token(
        _actor(call), call.params["agent_id"], call.body.reason
    )


async def list_pools(call: Call) -> PoolList:
    return PoolList(pools=await _service(call).store.pools())


async def get_pool(call: Call) -> PoolView:
    pool_id = call.params["pool_id"]
    return await _service(call).store.pool(pool_id) or PoolView(pool_id=pool_id)


async def set_policy(call: Call) -> PoolView:
    return await _service(call).set_policy(_actor(call), call.params["pool_id"], call.body)


async def set_wrapup_codes(call: Call) -> PoolView:
    return await _service(call).set_wrapup_codes(_actor(call), call.params["pool_id"], call.body)


async def set_canned_replies(call: Call) -> PoolView:
    return await _service(call).set_canned_replies(_actor(call), call.params["pool_id"], call.body)


async def audit(call: Call) -> AuditList:
    try:
        limit = int(call.query.get("limit", "100"))
    except ValueError:
        raise refuse(400, "'limit' must be an integer") from None
    if not 1 <= limit <= MAX_AUDIT:
        raise refuse(400, f"'limit' must be between 1 and {MAX_AUDIT}")
    entries = await _service(call).store.audit(
        call.query.get("subject_kind"), call.query.get("subject_id"), limit
    )
    return AuditList(entries=entries)


ADMIN = Role.ADMIN
AGENT = "/api/admin/agents/{agent_id}"
POOL = "/api/admin/pools/{pool_id}"
ADMIN_ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/api/admin/agents",
        "listAgents",
        "Every agent, supervisor and admin (or those of one pool)",
        ADMIN,
        list_agents,
        answer=AgentList,
        query=(QueryParam("pool_id", "only the agents of this pool"),),
    ),
    Route(
        "POST",
        "/api/admin/agents",
        "createAgent",
        "Create an agent with skills, capacity, language and role",
        ADMIN,
        create_agent,
        body=NewAgent,
        answer=AgentProfile,
        status=201,
    ),
    Route("GET", AGENT, "getAgent", "One agent", ADMIN, get_agent, answer=AgentProfile),
    Route(
        "PATCH",
        AGENT,
        "updateAgent",
        "Change an agent's name, pool, role, skills, capacity, language; disable or enable",
        ADMIN,
        update_agent,
        body=AgentChanges,
        answer=AgentProfile,
    ),
    Route(
        "POST",
        AGENT + "/token",
        "issueToken",
        "Issue a new token (shown once; the old one stops working)",
        ADMIN,
        issue_token,
        body=ReasonBody,
        answer=IssuedToken,
        status=201,
    ),
    Route(
        "DELETE",
        AGENT + "/token",
        "revokeToken",
        "Revoke the agent's token",
        ADMIN,
        revoke_token,
        body=ReasonBody,
        answer=AgentProfile,
    ),
    Route(
        "GET",
        "/api/admin/pools",
        "listPools",
        "Every configured pool",
        ADMIN,
        list_pools,
        answer=PoolList,
    ),
    Route(
        "GET",
        POOL,
        "getPool",
        "A pool's policy, codes and replies",
        ADMIN,
        get_pool,
        answer=PoolView,
        pools=("pool_id",),
    ),
    Route(
        "PUT",
        POOL + "/policy",
        "setPoolPolicy",
        "Set a pool's class weights, aging, service-level targets and business hours",
        ADMIN,
        set_policy,
        body=PoolPolicyChange,
        answer=PoolView,
        pools=("pool_id",),
    ),
    Route(
        "PUT",
        POOL + "/wrapup-codes",
        "setWrapupCodes",
        "Set the wrap-up codes agents of the pool choose from",
        ADMIN,
        set_wrapup_codes,
        body=WrapupCodes,
        answer=PoolView,
        pools=("pool_id",),
    ),
    Route(
        "PUT",
        POOL + "/canned-replies",
        "setCannedReplies",
        "Set the canned replies offered to agents of the pool",
        ADMIN,
        set_canned_replies,
        body=CannedReplies,
        answer=PoolView,
        pools=("pool_id",),
    ),
    Route(
        "GET",
        "/api/admin/audit",
        "listAudit",
        "Recent changes and actions, latest first",
        ADMIN,
        audit,
        answer=AuditList,
        query=(
            QueryParam("subject_kind", "agent, pool, contact"),
            QueryParam("subject_id", "an agent, pool or contact id"),
            QueryParam("limit", "at most this many (1-1000)", {"type": "integer"}),
        ),
    ),
)
