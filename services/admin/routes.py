"""A route table for the typed JSON APIs (admin, supervisor): each route declares its method,
path, least role, request and answer records; the same table mounts the aiohttp handlers and
generates the OpenAPI document (``services.admin.openapi``), so the document cannot drift from
what is served.

Every call is authenticated by the desk's middleware (401 without a known, enabled token);
here a role below the route's gets 403, a supervisor acting on a pool they do not supervise
gets 403, a body or parameter that does not validate gets 400 naming each problem."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from services.admin.model import Problem, Role
from services.admin.ports import AlreadyExists, NotFound, Principal
from services.desk.keys import AGENT
from services.http_input import BadInput, check_value

POOL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Call:
    """One authorised call: who makes it, its validated body, its path and query values."""

    request: web.Request
    principal: Principal
    body: Any
    params: Mapping[str, str]
    query: Mapping[str, str]


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class QueryParam:
    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    operation_id: str
    summary: str
    role: Role
    handler: Handler
    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None  # None: a stream of server-sent events
    status: int = 200
    pools: tuple[str, ...] = ()  # path or body fields naming pools the caller must supervise
    query: tuple[QueryParam, ...] = ()
    tag: str = "admin"

    @property
    def parameters(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


def problem(status: int, error: str, details: list[str] | None = None) -> web.Response:
    body = Problem(error=error, details=details or [])
    return web.json_response(body.model_dump(mode="json"), status=status)


async def _body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise _Refused(413, f"the body exceeds {MAX_BODY} bytes")
    if not raw.strip():
        raw = b"{}"
    try:  # text PostgreSQL cannot store (NUL, lone surrogates) is refused, never a 500
        check_value(json.loads(raw), "body")
    except BadInput as exc:
        raise _Refused(400, "invalid request body", [str(exc)]) from None
    except (ValueError, RecursionError):
        pass  # not JSON: the record's validation names the problem
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        details = [
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise _Refused(400, "invalid request body", details) from None


class _Refused(Exception):
    def __init__(self, status: int, error: str, details: list[str] | None = None) -> None:
        super().__init__(error)
        self.status, self.error, self.details = status, error, details or []


def _authorise(route: Route, principal: Principal, params: Mapping[str, str], body: Any) -> None:
    """The role first, then every pool the call names (path parameters before the body is
    read: a caller who may not act learns nothing of the body's validation)."""
    if not principal.may(route.role):
        raise _Refused(403, f"this route needs the {route.role.value} role")
    for name in route.pools:
        pool_id = params.get(name) if body is None else getattr(body, name, None)
        if pool_id is None:
            continue
        if not POOL_ID.match(str(pool_id)):
            raise _Refused(400, f"{name!r} is not a pool id")
        if route.role is not Role.ADMIN and not principal.supervises(str(pool_id)):
            raise _Refused(403, f"you do not supervise pool {pool_id!r}")


def wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        principal: Principal = request[AGENT].principal
        params = dict(request.match_info)
        try:
            _authorise(route, principal, params, None)  # before reading the body
            body = await _body(request, route.body) if route.body is not None else None
            if body is not None:
                _authorise(route, principal, params, body)
            call = Call(request, principal, body, params, dict(request.query))
            answer = await route.handler(call)
        except _Refused as exc:
            return problem(exc.status, exc.error, exc.details)
        except NotFound as exc:
            return problem(404, str(exc))
        except AlreadyExists as exc:
            return problem(409, str(exc))
        if isinstance(answer, web.StreamResponse):
            return answer
        assert route.answer is not None and isinstance(answer, route.answer), route.operation_id
        return web.Response(
            text=json.dumps(answer.model_dump(mode="json")),
            status=route.status,
            content_type="application/json",
        )

    return handle


def refuse(status: int, error: str) -> _Refused:
    """An exception a handler raises to answer ``status`` with ``error``."""
    return _Refused(status, error)


def install(app: web.Application, routes: tuple[Route, ...]) -> None:
    for route in routes:
        app.router.add_route(route.method, route.path, wrap(route), name=route.operation_id)
