"""Transfer and consult from the conversation.

* ``GET /api/transfer-targets``: where the agent may hand a contact on — the pool's queues
  (the skills its agents have) and its other agents with routing's state of each.
* ``POST /api/contacts/{contact_id}/transfer`` ``{"to_agent_id" | "to_skill", "note", "id"?}``:
  the note is stored for the next agent (their offer's screen pop shows it with the whole
  thread), a chat or SMS customer is told ("You are being transferred to …"), and
  ``ContactTransferred`` goes to routing: the contact keeps its arrival time; a named agent gets
  the offer when they are ready with room for it, else the contact waits in the queue. The
  page's ``id`` makes a retry the same transfer (same event id, the customer told once). A
  contact in wrap-up (the customer ended, or the agent began it) is not transferred (409).
* ``POST /api/consults`` ``{"to_agent_id", "note", "contact_id"?, "reply_to"?}``: a note to a
  colleague of the pool, shown on their desk as the stream's ``consult`` event; they answer
  with ``reply_to``. Nothing enters the customer's thread and nothing is handed over."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web

from schemas import agents as ag
from services.desk import wrapups
from services.desk.auth import Agent
from services.desk.desk import Desk
from services.desk.keys import AGENT, DESK
from services.http_input import read_json_object

OwnContact = Callable[[web.Request], Awaitable[tuple[Desk, Agent, str]]]
NOTE_LIMIT = 200  # routing's reason field carries the note too
TOLD_ON = frozenset({"chat", "sms"})


def _text(body: dict[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise web.HTTPBadRequest(text=f"{name!r} must be a string of at most {limit} characters")
    return value.strip()


async def pool_agents(pool: asyncpg.Pool, pool_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT a.agent_id, a.name, a.skills, r.status FROM agents a LEFT JOIN routing_agents r"
        " ON r.pool_id = a.pool_id AND r.agent_id = a.agent_id WHERE a.pool_id = $1"
        " ORDER BY a.agent_id",
        pool_id,
    )
    return [
        {
            "agent_id": r["agent_id"],
            "name": r["name"],
            "skills": _skills(r["skills"]),
            "state": r["status"] or "logged_out",
        }
        for r in rows
    ]


def _skills(value: Any) -> dict[str, int]:
    skills = json.loads(value) if isinstance(value, str) else (value or {})
    return {str(k): int(v) for k, v in skills.items()}


async def transfer_note(pool: asyncpg.Pool, contact_id: str) -> dict[str, Any] | None:
    """The latest transfer of the contact, for the next agent's screen pop."""
    row = await pool.fetchrow(
        "SELECT t.*, a.name AS from_name FROM desk_transfers t LEFT JOIN agents a"
        " ON a.agent_id = t.from_agent_id WHERE t.contact_id = $1"
        " ORDER BY t.created_at DESC LIMIT 1",
        contact_id,
    )
    if row is None:
        return None
    return {
        "from_agent_id": row["from_agent_id"],
        "from_name": row["from_name"],
        "to_agent_id": row["to_agent_id"],
        "to_skill": row["to_skill"],
        "note": row["note"],
        "at": row["created_at"].isoformat(),
    }


def add_transfer_routes(app: web.Application, own_contact: OwnContact) -> None:
    async def targets(request: web.Request) -> web.Response:
        desk, agent = request.app[DESK], request[AGENT]
        agents = await pool_agents(desk.pool, agent.pool_id)
        queues = sorted({s for a in agents for s in a["skills"]})
        others = [
            {"agent_id": a["agent_id"], "name": a["name"], "state": a["state"]}
            for a in agents
            if a["agent_id"] != agent.agent_id
        ]
        return web.json_response({"queues": queues, "agents": others})

    async def transfer(request: web.Request) -> web.Response:
        desk, agent, contact_id = await own_contact(request)
        body = await read_json_object(request)
        to_agent_id = _text(body, "to_agent_id", 200) or None
        to_skill = _text(body, "to_skill", 100) or None
        note = _text(body, "note", NOTE_LIMIT)
        client_id = _text(body, "id", 100) or uuid.uuid4().hex
        if (to_agent_id is None) == (to_skill is None):
            raise web.HTTPBadRequest(text="name either to_agent_id or to_skill")
        agents = {a["agent_id"]: a for a in await pool_agents(desk.pool, agent.pool_id)}
        if to_agent_id is not None and (to_agent_id == agent.agent_id or to_agent_id not in agents):
            raise web.HTTPBadRequest(text=f"{to_agent_id} is not another agent of the pool")
        if to_skill is not None and not any(to_skill in a["skills"] for a in agents.values()):
            raise web.HTTPBadRequest(text=f"no agent of the pool has the skill {to_skill!r}")
        conversation = await desk.conversations.get(contact_id)
        pool_id = conversation.pool_id if conversation else agent.pool_id
        event_id = f"{contact_id}:transfer:{client_id}"[:200]
        retried = await desk.pool.fetchval(
            "SELECT 1 FROM desk_transfers WHERE event_id = $1", event_id
        )
        ended = conversation is not None and conversation.status != "open"
        if not retried and (ended or await wrapups.started(desk.pool, [contact_id])):
            raise web.HTTPConflict(text="the contact is in wrap-up: complete it instead")
        await desk.pool.execute(
            "INSERT INTO desk_transfers (event_id, contact_id, pool_id, from_agent_id,"
            " to_agent_id, to_skill, note) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT DO NOTHING",
            event_id,
            contact_id,
            pool_id,
            agent.agent_id,
            to_agent_id,
            to_skill,
            note,
        )
        told = None
        if conversation is not None and conversation.channel in TOLD_ON:
            if to_agent_id is not None:
                whom = agents[to_agent_id]["name"] or to_agent_id
            else:
                whom = f"our {str(to_skill).replace('_', ' ')} team"
            told_id = f"transfer:{client_id}"[:100]
            told = await desk.actions.sent_before(contact_id, agent, told_id)
            if told is None and conversation.status == "open":
                told = await desk.actions.reply(
                    conversation, agent, f"You are being transferred to {whom}.", told_id
                )
        await desk.publish(
            agent,
            ag.ContactTransferred(
                event_id=event_id,
                pool_id=pool_id,
                agent_id=agent.agent_id,
                contact_id=contact_id,
                skills={to_skill: 1} if to_skill is not None else {},
                reason=note,
                to_agent_id=to_agent_id,
            ),
        )
        desk.hub.assigned.pop(contact_id, None)
        return web.json_response(
            {
                "status": "transferred",
                "contact_id": contact_id,
                "to_agent_id": to_agent_id,
                "to_skill": to_skill,
                "customer_message_id": told,
            }
        )

    async def consult(request: web.Request) -> web.Response:
        desk, agent = request.app[DESK], request[AGENT]
        body = await read_json_object(request)
        to_agent_id = _text(body, "to_agent_id", 200, required=True)
        note = _text(body, "note", 2000, required=True)
        contact_id = _text(body, "contact_id", 200) or None
        reply_to = _text(body, "reply_to", 100) or None
        colleagues = {a["agent_id"]: a for a in await pool_agents(desk.pool, agent.pool_id)}
        if to_agent_id == agent.agent_id or to_agent_id not in colleagues:
            raise web.HTTPBadRequest(text=f"{to_agent_id} is not another agent of the pool")
        if reply_to is not None:
            asked = await desk.pool.fetchrow(
                "SELECT from_agent_id, to_agent_id, contact_id FROM desk_consults"
                " WHERE consult_id = $1",
                reply_to,
            )
            if asked is None or asked["to_agent_id"] != agent.agent_id:
                raise web.HTTPBadRequest(text="reply_to names no consult asked of you")
            if asked["from_agent_id"] != to_agent_id:
                raise web.HTTPBadRequest(text="an answer goes to the agent who asked")
            contact_id = asked["contact_id"]
        consult_id = uuid.uuid4().hex
        row = await desk.pool.fetchrow(
            "INSERT INTO desk_consults (consult_id, pool_id, from_agent_id, to_agent_id,"
            " contact_id, reply_to, note) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " RETURNING created_at",
            consult_id,
            agent.pool_id,
            agent.agent_id,
            to_agent_id,
            contact_id,
            reply_to,
            note,
        )
        event = {
            "consult_id": consult_id,
            "from_agent_id": agent.agent_id,
            "from_name": agent.name,
            "to_agent_id": to_agent_id,
            "contact_id": contact_id,
            "reply_to": reply_to,
            "note": note,
            "at": row["created_at"].isoformat(),
        }
        desk.hub.push(to_agent_id, {"type": "consult", "consult": event})
        return web.json_response({"status": "sent", **event})

    app.router.add_get("/api/transfer-targets", targets)
    app.router.add_post("/api/contacts/{contact_id}/transfer", transfer)
    app.router.add_post("/api/consults", consult)
