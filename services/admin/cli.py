"""``contactcenter admin …``: the admin API's operations from the command line, through the same
service layer (``AdminService``) against ``DATABASE_URL`` and the broker, audited as
``--actor`` (default ``cli``). Answers are printed as JSON; a new token is printed once."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from pydantic import BaseModel, ValidationError

from services.admin.model import (
    AgentChanges,
    AgentList,
    AuditList,
    CannedReplies,
    NewAgent,
    PoolPolicyChange,
    PoolView,
    WrapupCodes,
)
from services.admin.ports import AlreadyExists, NotFound
from services.admin.service import AdminService
from services.admin.store_pg import PostgresAdminStore
from services.publisher import BrokerPublisher, PublishFailed
from streams.platform.settings import DeskSettings


def _pairs(text: str) -> dict[str, str]:
    """``a=1,b=2`` (or repeated options) → {"a": "1", "b": "2"}."""
    found: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {part!r}")
        found[name.strip()] = value.strip()
    return found


def _merged(values: list[dict[str, str]] | None) -> dict[str, str] | None:
    if values is None:
        return None
    merged: dict[str, str] = {}
    for value in values:
        merged.update(value)
    return merged


def _agent_options(command: argparse.ArgumentParser, *, new: bool) -> None:
    command.add_argument("agent_id")
    command.add_argument("--pool", required=new, help="the agent's pool")
    command.add_argument("--name")
    command.add_argument("--role", choices=["agent", "supervisor", "admin"])
    command.add_argument("--language")
    command.add_argument("--skill", type=_pairs, action="append", help="NAME=LEVEL (1-10), ...")
    command.add_argument(
        "--capacity", type=_pairs, action="append", help="CHANNEL=N, ... (voice, chat, email, sms)"
    )
    command.add_argument("--supervises", help="comma-separated pools (a supervisor's)")
    command.add_argument("--reason", default="")
    if not new:
        state = command.add_mutually_exclusive_group()
        state.add_argument("--disable", action="store_true")
        state.add_argument("--enable", action="store_true")


def add_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--actor", default="cli", help="who the audit names (default: cli)")
    sub = command.add_subparsers(dest="admin_command", required=True, metavar="WHAT")
    _agent_options(sub.add_parser("agent-create", help="create an agent"), new=True)
    _agent_options(sub.add_parser("agent-update", help="change an agent"), new=False)
    listing = sub.add_parser("agent-list", help="list agents")
    listing.add_argument("--pool")
    sub.add_parser("agent-show", help="one agent").add_argument("agent_id")
    for name, text in (("token-issue", "issue a token (printed once)"), ("token-revoke", "")):
        token = sub.add_parser(name, help=text or "revoke the agent's token")
        token.add_argument("agent_id")
        token.add_argument("--reason", default="")
    policy = sub.add_parser("pool-policy", help="set a pool's policy (routing applies it at once)")
    policy.add_argument("pool_id")
    policy.add_argument("--class-weights", type=_pairs, help="CLASS=WEIGHT, ...")
    policy.add_argument("--aging", type=float, help="priority gained per second waited")
    policy.add_argument(
        "--service-level", action="append", default=[], help="CLASS=SECONDS@TARGET, e.g. vip=30@0.9"
    )
    policy.add_argument(
        "--hours", action="append", default=[], help="WEEKDAY=HH:MM-HH:MM (0 = Monday)"
    )
    policy.add_argument("--time-zone", default="UTC")
    policy.add_argument("--reason", default="")
    sub.add_parser("pool-show", help="a pool's policy, codes and replies").add_argument("pool_id")
    codes = sub.add_parser("wrapup-codes", help="set a pool's wrap-up codes")
    codes.add_argument("pool_id")
    codes.add_argument("codes", nargs="+")
    replies = sub.add_parser("canned-replies", help="set a pool's canned replies")
    replies.add_argument("pool_id")
    replies.add_argument("replies", nargs="+")
    audit = sub.add_parser("audit", help="recent changes, latest first")
    audit.add_argument("--subject-kind")
    audit.add_argument("--subject-id")
    audit.add_argument("--limit", type=int, default=50)


def _agent_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": args.reason}
    for field, value in (
        ("pool_id", args.pool),
        ("name", args.name),
        ("role", args.role),
        ("language", args.language),
        ("skills", _merged(args.skill)),
        ("capacity", _merged(args.capacity)),
    ):
        if value is not None:
            body[field] = value
    if args.supervises is not None:
        body["supervised_pools"] = [p.strip() for p in args.supervises.split(",") if p.strip()]
    return body


def _policy_body(args: argparse.Namespace) -> dict[str, Any]:
    levels = []
    for text in args.service_level:
        cls, _, rest = text.partition("=")
        seconds, _, target = rest.partition("@")
        levels.append({"customer_class": cls, "threshold_seconds": seconds, "target": target})
    hours = []
    for text in args.hours:
        day, _, span = text.partition("=")
        opens, _, closes = span.partition("-")
        hours.append({"weekday": day, "opens": opens, "closes": closes})
    return {
        "class_weights": args.class_weights,
        "aging_per_second": args.aging,
        "service_levels": levels,
        "business_hours": hours,
        "time_zone": args.time_zone,
        "reason": args.reason,
    }


Operation = Callable[[AdminService, argparse.Namespace], Awaitable[BaseModel]]


async def _agent_update(service: AdminService, args: argparse.Namespace) -> BaseModel:
    body = _agent_body(args)
    if args.disable or args.enable:
        body["enabled"] = bool(args.enable)
    return await service.update_agent(args.actor, args.agent_id, AgentChanges(**body))


async def _agent_show(service: AdminService, args: argparse.Namespace) -> BaseModel:
    found = await service.store.agent(args.agent_id)
    if found is None:
        raise NotFound(f"no agent {args.agent_id!r}")
    return found


async def _pool_show(service: AdminService, args: argparse.Namespace) -> BaseModel:
    return await service.store.pool(args.pool_id) or PoolView(pool_id=args.pool_id)


OPERATIONS: dict[str, Operation] = {
    "agent-create": lambda s, a: s.create_agent(
        a.actor, NewAgent(**_agent_body(a), agent_id=a.agent_id)
    ),
    "agent-update": _agent_update,
    "agent-list": lambda s, a: _agent_list(s, a.pool),
    "agent-show": _agent_show,
    "token-issue": lambda s, a: s.issue_token(a.actor, a.agent_id, a.reason),
    "token-revoke": lambda s, a: s.revoke_token(a.actor, a.agent_id, a.reason),
    "pool-policy": lambda s, a: s.set_policy(
        a.actor, a.pool_id, PoolPolicyChange(**_policy_body(a))
    ),
    "pool-show": _pool_show,
    "wrapup-codes": lambda s, a: s.set_wrapup_codes(a.actor, a.pool_id, WrapupCodes(codes=a.codes)),
    "canned-replies": lambda s, a: s.set_canned_replies(
        a.actor, a.pool_id, CannedReplies(replies=a.replies)
    ),
    "audit": lambda s, a: _audit(s, a),
}


async def _agent_list(service: AdminService, pool_id: str | None) -> BaseModel:
    return AgentList(agents=await service.store.agents(pool_id))


async def _audit(service: AdminService, args: argparse.Namespace) -> BaseModel:
    entries = await service.store.audit(args.subject_kind, args.subject_id, args.limit)
    return AuditList(entries=entries)


async def _run(args: argparse.Namespace, settings: DeskSettings) -> int:
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=2)
    publisher = BrokerPublisher(
        settings.kafka_bootstrap_servers, settings.topic_prefix, settings.gateway_publish_timeout
    )
    try:
        service = AdminService(PostgresAdminStore(pool), publisher)
        answer = await OPERATIONS[args.admin_command](service, args)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(input)"
            print(f"invalid {where}: {err['msg']}", file=sys.stderr)
        return 2
    except (NotFound, AlreadyExists) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except PublishFailed as exc:
        print(
            f"stored and audited, but routing was not told ({exc}); run it again", file=sys.stderr
        )
        return 3
    finally:
        await publisher.close()
        await pool.close()
    print(json.dumps(answer.model_dump(mode="json"), indent=2, sort_keys=True))
    return 0


def run(args: argparse.Namespace, settings: DeskSettings) -> int:
    return asyncio.run(_run(args, settings))
