"""The OpenAPI 3.1 document of the admin and supervisor APIs, generated from their route tables
(paths, methods, least role, request and answer records as JSON Schema), merged into the desk's
document served at ``/openapi.json`` (``services.desk.api_doc``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from services.admin.model import Problem
from services.admin.routes import Route

REF = "#/components/schemas/{model}"
ERRORS = {
    "400": "the body or a parameter does not validate (each problem named)",
    "401": "no token, or an unknown or disabled one",
    "403": "the token's role is below the route's, or the pool is not one the caller supervises",
    "404": "no such agent, pool or contact",
    "409": "the subject is not in a state the change applies to",
    "413": "the body is larger than the route takes",
    "503": "the broker did not take the routing input (the change is stored; call again)",
}

PLAIN = frozenset({"400", "401", "403", "413"})


def _models(routes: tuple[Route, ...]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {Problem.__name__: Problem}
    for route in routes:
        for model in (route.body, route.answer):
            if model is not None:
                found[model.__name__] = model
    return [found[name] for name in sorted(found)]


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": ref}}}


def _error(code: str, refs: dict[str, str]) -> dict[str, Any]:
    """A Problem; the desk's middleware and aiohttp answer some refusals before the route
    (a URL that cannot be stored, no token, a page's change without its header, a body over the
    app's limit) with a plain-text reason."""
    content = _json(refs[Problem.__name__])
    if code in PLAIN:
        content["text/plain"] = {"schema": {"type": "string"}}
    return content


def _operation(route: Route, refs: dict[str, str]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in route.parameters
    ]
    parameters += [
        {
            "name": q.name,
            "in": "query",
            "required": False,
            "description": q.description,
            "schema": q.schema,
        }
        for q in route.query
    ]
    if route.answer is not None:
        content = _json(refs[route.answer.__name__])
    else:
        content = {"text/event-stream": {"schema": {"type": "string"}}}
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "description": f"Least role: {route.role.value}.",
        "security": [{"bearer": []}, {"session": []}],
        "parameters": parameters,
        "responses": {
            str(route.status): {"description": "done", "content": content},
            **{
                code: {"description": why, "content": _error(code, refs)}
                for code, why in ERRORS.items()
            },
        },
    }
    if route.body is not None:
        operation["requestBody"] = {"required": False, "content": _json(refs[route.body.__name__])}
    return operation


def openapi_document(routes: tuple[Route, ...], version: str = "1") -> dict[str, Any]:
    refs_by_key, top = models_json_schema(
        [(model, "validation") for model in _models(routes)], ref_template=REF
    )
    refs = {key[0].__name__: value["$ref"] for key, value in refs_by_key.items()}
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "contactcenter admin and supervisor API",
            "version": version,
            "description": "Agents, tokens, pools and the audit (admin); the floor and its"
            " actions (supervisor). Generated from the route tables.",
        },
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "cc_desk_session"},
            },
        },
    }
