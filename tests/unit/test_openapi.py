"""The OpenAPI documents: the admin and supervisor APIs' (generated from their route tables), and
the desk's and gateway's (generated from their declaration tables, the admin and supervisor
routes merged into the desk's): valid OpenAPI 3.1, listing exactly the routes each app serves,
with their request and answer records, form parameters and security."""

from __future__ import annotations

from types import SimpleNamespace

from aiohttp import web
from openapi_spec_validator import validate

from services.admin.api import ADMIN_ROUTES
from services.admin.openapi import openapi_document
from services.api_table import declared_routes, registered_routes
from services.desk.api_doc import desk_document
from services.desk.handlers import create_app as create_desk_app
from services.gateway.api_doc import gateway_document
from services.gateway.app import create_app as create_gateway_app
from services.supervisor.api import SUPERVISOR_ROUTES
from streams.platform.settings import DeskSettings, GatewaySettings

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


# ---------------------------------------------------------------- every HTTP surface
def _desk_app() -> web.Application:
    desk = SimpleNamespace(settings=DeskSettings(), guides=object())
    return create_desk_app(desk)  # type: ignore[arg-type]


def _gateway_app() -> web.Application:
    ctx = SimpleNamespace(settings=GatewaySettings())
    return create_gateway_app(ctx)  # type: ignore[arg-type]


def test_the_gateway_and_desk_documents_are_valid_openapi_3_1() -> None:
    for document in (gateway_document(), desk_document()):
        assert document["openapi"] == "3.1.0"
        validate(document)


def test_the_desk_document_lists_exactly_the_routes_the_desk_serves() -> None:
    served, declared = registered_routes(_desk_app()), declared_routes(desk_document())
    assert served == declared, (served - declared, declared - served)
    assert {(r.method, r.path) for r in ROUTES} <= declared  # admin and supervisor merged in
    assert ("GET", "/api/stream") in declared and ("POST", "/session") in declared


def test_the_gateway_document_lists_exactly_the_routes_the_gateway_serves() -> None:
    served, declared = registered_routes(_gateway_app()), declared_routes(gateway_document())
    assert served == declared, (served - declared, declared - served)
    assert {"/twilio/voice", "/twilio/sms", "/chat/ws", "/readyz"} <= {p for _m, p in declared}


def test_the_twilio_webhooks_declare_their_form_and_signature() -> None:
    document = gateway_document()
    sms = document["paths"]["/twilio/sms"]["post"]
    form = sms["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert set(form["required"]) == {"MessageSid", "From"}
    assert "Body" in form["properties"]
    headers = {p["name"] for p in sms["parameters"] if p["in"] == "header"}
    assert "X-Twilio-Signature" in headers
    assert sms["security"] == [{"twilio_signature": []}]
    assert "application/xml" in sms["responses"]["200"]["content"]
    assert {"403", "503"} <= set(sms["responses"])
    status = document["paths"]["/twilio/voice/status"]["post"]
    assert "content" not in status["responses"]["204"]


def test_the_chat_routes_declare_the_cookie_and_the_upgrade() -> None:
    document = gateway_document()
    assert document["components"]["securitySchemes"]["chat_session"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "cc_chat",
    }
    socket = document["paths"]["/chat/ws"]["get"]
    assert {"101", "401"} <= set(socket["responses"])
    start = document["paths"]["/chat/sessions"]["post"]
    ref = start["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert body["additionalProperties"] is False
    assert "Set-Cookie" in start["responses"]["200"]["headers"]


def test_the_desk_api_declares_its_token_and_answers() -> None:
    document = desk_document()
    reply = document["paths"]["/api/contacts/{contact_id}/reply"]["post"]
    assert reply["security"] == [{"bearer": []}, {"session": []}, {"query_token": []}]
    assert {"200", "401", "403", "404", "409", "503"} <= set(reply["responses"])
    stream = document["paths"]["/api/stream"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    admin = document["paths"]["/api/admin/agents"]
    assert admin and all(op["security"] for op in admin.values())
