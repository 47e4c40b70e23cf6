"""Declaration tables for hand-written aiohttp routes, and the OpenAPI 3.1 document generated
from them. Each service keeps a table next to its routes (method, path, summary, request body
record or form parameters, answers with their status codes and content types, security); a test
compares the table with the routes the service's app registers, so the document cannot drift.

The typed admin and supervisor routes (``services.admin.routes``) describe themselves; a
service's document can take their paths and records in (``merge``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"
JSON = "application/json"
TEXT = "text/plain"
HTML = "text/html"
FORM = "application/x-www-form-urlencoded"


class ErrorBody(BaseModel):
    """A refusal as JSON: its reason, and more fields on some answers."""

    model_config = ConfigDict(extra="allow")
    error: str


@dataclass(frozen=True)
class Body:
    """One content type of an answer: a record (JSON), or a string (text, HTML, XML…)."""

    content_type: str
    model: type[BaseModel] | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    description: str
    bodies: tuple[Body, ...] = ()
    headers: tuple[str, ...] = ()  # names of response headers (strings)


@dataclass(frozen=True)
class Param:
    """A query, header, cookie or form parameter (a string)."""

    name: str
    where: str  # "query", "header", "cookie" or "form"
    description: str
    required: bool = False
    max_length: int | None = None


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    answers: tuple[Answer, ...]
    body: type[BaseModel] | None = None  # a JSON request body
    params: tuple[Param, ...] = ()
    security: tuple[str, ...] = ()  # names of security schemes; any one of them suffices
    description: str = ""

    @property
    def path_names(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


def text_or_json(status: int, description: str) -> Answer:
    """A refusal answered with a plain-text reason or a JSON ``{"error"}``."""
    return Answer(status, description, (Body(TEXT), Body(JSON, ErrorBody)))


def _string(param: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if param.max_length is not None:
        schema["maxLength"] = param.max_length
    return schema


def _content(bodies: tuple[Body, ...], refs: dict[str, str]) -> dict[str, Any]:
    return {
        body.content_type: {
            "schema": {"$ref": refs[body.model.__name__]}
            if body.model is not None
            else {"type": "object" if body.content_type == JSON else "string"}
        }
        for body in bodies
    }


def _operation(op: Operation, refs: dict[str, str]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in op.path_names
    ]
    parameters += [
        {
            "name": p.name,
            "in": p.where,
            "required": p.required,
            "description": p.description,
            "schema": _string(p),
        }
        for p in op.params
        if p.where != "form"
    ]
    responses: dict[str, Any] = {}
    for answer in op.answers:
        entry: dict[str, Any] = {"description": answer.description}
        if answer.bodies:
            entry["content"] = _content(answer.bodies, refs)
        if answer.headers:
            entry["headers"] = {name: {"schema": {"type": "string"}} for name in answer.headers}
        responses[str(answer.status)] = entry
    operation: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": responses,
        "security": [{name: []} for name in op.security],
    }
    if op.description:
        operation["description"] = op.description
    form = [p for p in op.params if p.where == "form"]
    if form:
        operation["requestBody"] = {
            "required": True,
            "content": {
                FORM: {
                    "schema": {
                        "type": "object",
                        "properties": {
                            p.name: {**_string(p), "description": p.description} for p in form
                        },
                        "required": [p.name for p in form if p.required],
                    }
                }
            },
        }
    elif op.body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {JSON: {"schema": {"$ref": refs[op.body.__name__]}}},
        }
    return operation


def _models(operations: tuple[Operation, ...]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for op in operations:
        if op.body is not None:
            found[op.body.__name__] = op.body
        for answer in op.answers:
            for body in answer.bodies:
                if body.model is not None:
                    found[body.model.__name__] = body.model
    return [found[name] for name in sorted(found)]


def openapi_document(
    title: str,
    description: str,
    operations: tuple[Operation, ...],
    security_schemes: dict[str, Any],
    merge: dict[str, Any] | None = None,
    version: str = "1",
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations`` (and of ``merge``'s paths and records)."""
    refs_by_key, top = models_json_schema(
        [(model, "validation") for model in _models(operations)], ref_template=REF
    )
    refs = {key[0].__name__: value["$ref"] for key, value in refs_by_key.items()}
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    schemes = dict(security_schemes)
    if merge is not None:
        for path, methods in merge["paths"].items():
            paths.setdefault(path, {}).update(methods)
        schemas.update(merge["components"].get("schemas", {}))
        schemes.update(merge["components"].get("securitySchemes", {}))
    for op in operations:
        methods = paths.setdefault(op.path, {})
        assert op.method.lower() not in methods, f"{op.method} {op.path} declared twice"
        methods[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": schemes},
    }


def declared_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation in ``document``."""
    return {
        (method.upper(), path)
        for path, methods in document["paths"].items()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    }


def registered_routes(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path) of every route ``app`` registers, but the implicit HEAD of a GET and the
    static file trees (described by the page that loads them)."""
    found = set()
    for route in app.router.routes():
        if isinstance(route.resource, web.StaticResource) or route.method == "HEAD":
            continue
        canonical = route.resource.canonical if route.resource is not None else ""
        found.add((route.method, canonical))
    return found


def add_document_route(app: web.Application, document: dict[str, Any]) -> None:
    """Serve ``document`` at ``GET /openapi.json``."""

    async def serve(_request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/openapi.json", serve)
