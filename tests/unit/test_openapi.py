"""The admin and supervisor API's OpenAPI document: generated from the route tables, valid
OpenAPI 3.1, and listing every route with its request and answer records."""

from __future__ import annotations

from openapi_spec_validator import validate

from services.admin.api import ADMIN_ROUTES
from services.admin.openapi import openapi_document
from services.supervisor.api import SUPERVISOR_ROUTES

ROUTES = ADMIN_ROUTES + SUPERVISOR_ROUTES


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_document(ROUTES)
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_admin_and_supervisor_route_is_listed_with_its_records() -> None:
    document = openapi_document(ROUTES)
    schemas = document["components"]["schemas"]
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["operationId"] == route.operation_id
        assert {"401", "403", "400"} <= set(operation["responses"])
        if route.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in schemas
        answer = operation["responses"][str(route.status)]["content"]
        if route.answer is not None:
            assert answer["application/json"]["schema"]["$ref"].endswith(route.answer.__name__)
        else:
            assert "text/event-stream" in answer
        path_names = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert path_names == set(route.parameters)
    admin_paths = {r.path for r in ADMIN_ROUTES}
    assert {"/api/admin/agents", "/api/admin/pools/{pool_id}/policy"} <= admin_paths
    assert len({(r.method, r.path) for r in ROUTES}) == len(ROUTES)


def test_the_records_carry_their_validation_rules() -> None:
    schemas = openapi_document(ROUTES)["components"]["schemas"]
    skills = schemas["NewAgent"]["properties"]["skills"]
    (level,) = skills["patternProperties"].values()
    assert (level["minimum"], level["maximum"]) == (1, 10)
    assert schemas["PoolPolicyChange"]["properties"]["aging_per_second"]["anyOf"][0]["minimum"] == 0
