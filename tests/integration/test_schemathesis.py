"""The gateway's and the desk's OpenAPI documents, taken at their word: schemathesis loads each
``/openapi.json`` from the live service (real broker and PostgreSQL) and sends the requests
the document allows — and wrong ones — to every operation. No answer is a 500, every status is
one the operation declares, and every answer's content type and body match what it declares.

The desk's calls carry a valid agent token; the Twilio webhooks are signed as Twilio signs
them; the chat routes carry a chat session's cookie. The endless event streams are left out
(their first bytes are tested in the desk's own tests)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from twilio.request_validator import RequestValidator

from schemas.routing import OfferMade
from schemas.topics import OFFERS
from services.bus import open_bus
from services.desk.app import RunningDesk, running_desk
from services.desk.auth import issue_token
from services.gateway.app import RunningGateway, running_gateway
from services.runtime.broker import LocalBroker
from streams.platform.settings import Settings
from tests.support.channels import PUBLIC_BASE
from tests.support.environment import isolated_settings
from tests.support.workers import eventually

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

TOKEN = "schema-twilio-token"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 8  # per operation and generation mode: about 60 operations in under a minute


@pytest.fixture(scope="module")
async def schema_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    return await isolated_settings(
        broker,
        postgres_server_url,
        twilio_auth_token=TOKEN,
        public_base_url=PUBLIC_BASE,
        gateway_port=0,
        smtp_port=0,
        desk_port=0,
        desk_accept_wait_seconds=0.05,
    )


@pytest.fixture(scope="module")
async def gateway(schema_settings: Settings) -> AsyncIterator[RunningGateway]:
    async with running_gateway(schema_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def desk(schema_settings: Settings) -> AsyncIterator[RunningDesk]:
    async with running_desk(schema_settings) as running:
        yield running


def _sign(case: Case, prepared: requests.PreparedRequest) -> None:
    """Sign a Twilio webhook's form as Twilio does: over the public URL and the parameters."""
    params = (
        {str(k): str(v) for k, v in (case.body or {}).items()}
        if isinstance(case.body, dict)
        else {}
    )
    url = PUBLIC_BASE + (prepared.path_url or "")
    prepared.headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(url, params)


@dataclass(frozen=True)
class Target:
    """A live service, and what its requests carry."""

    base_url: str
    headers: dict[str, str]
    cookies: Callable[[Case], dict[str, str]]
    sign: Callable[[Case], bool]
    http: requests.Session = field(default_factory=requests.Session)


def _run_pass(
    target: Target,
    operation: Any,
    mode: GenerationMode,
    path_parameters: dict[str, str] | None,
    statuses: set[int],
) -> None:
    """Send the operation's generated cases; raise what the first failing case fails."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def check(case: Case) -> None:
        kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=target.base_url)
        kwargs["headers"] = {**kwargs.get("headers", {}), **target.headers}
        kwargs["cookies"] = {**kwargs.get("cookies", {}), **target.cookies(case)}
        prepared = target.http.prepare_request(requests.Request(**_request_fields(kwargs)))
        if target.sign(case):
            _sign(case, prepared)
        response = target.http.send(prepared, timeout=10, allow_redirects=False)
        statuses.add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    check()


def _exercise(
    target: Target, fixed: dict[str, str] | None = None
) -> tuple[list[str], dict[tuple[str, str], set[int]]]:
    """Every operation of the service's document, positive and negative cases (and positive
    ones on the ``fixed`` path parameters): the failures, and the statuses each answered."""
    schema = schemathesis.openapi.from_url(target.base_url + "/openapi.json")
    failures: list[str] = []
    seen: dict[tuple[str, str], set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        sse = any(
            "text/event-stream" in (answer.get("content") or {})
            for answer in operation.definition.raw.get("responses", {}).values()
        )
        if sse:  # endless: the stream's first events are tested with the desk
            continue
        statuses = seen.setdefault(key, set())
        passes: list[tuple[GenerationMode, dict[str, str] | None]] = [
            (GenerationMode.POSITIVE, None),
            (GenerationMode.NEGATIVE, None),
        ]
        names = set(re.findall(r"{(\w+)}", operation.path))
        if fixed and names and names <= set(fixed):  # the seeded contact, not just 404s
            passes.append((GenerationMode.POSITIVE, {name: fixed[name] for name in names}))
        for mode, path_parameters in passes:
            try:
                _run_pass(target, operation, mode, path_parameters, statuses)
            except Unsatisfiable:  # no parameter or body to get wrong
                assert mode is GenerationMode.NEGATIVE
            except Exception as exc:
                failures.append(f"{key[0]} {key[1]} ({mode.value}): {exc}")
    return failures, seen


def _request_fields(kwargs: dict[str, Any]) -> dict[str, Any]:
    fields = ("method", "url", "headers", "files", "data", "params", "auth", "cookies", "json")
    return {k: v for k, v in kwargs.items() if k in fields}


async def test_the_gateway_answers_as_its_document_says(gateway: RunningGateway) -> None:
    base_url = f"http://127.0.0.1:{gateway.http_port}"

    def start_chat() -> str:
        answer = requests.post(base_url + "/chat/sessions", json={"name": "schema"}, timeout=10)
        assert answer.status_code == 200
        return answer.cookies["cc_chat"]

    def cookies(case: Case) -> dict[str, str]:  # a session of its own: some end theirs
        return {"cc_chat": start_chat()} if case.path.startswith("/chat/") else {}

    def signed(case: Case) -> bool:
        return case.path.startswith("/twilio/") and isinstance(case.body, dict)

    failures, seen = await asyncio.to_thread(_exercise, Target(base_url, {}, cookies, signed))
    assert not failures, "\n\n".join(failures)
    signed = set().union(*(v for (_m, path), v in seen.items() if path.startswith("/twilio/")))
    assert signed & {200, 204}, "no signed webhook reached its handler"
    assert 200 in seen[("POST", "/chat/sessions")]
    assert 200 in seen[("GET", "/chat/config")]


async def test_the_desk_answers_as_its_document_says(
    desk: RunningDesk, schema_settings: Settings
) -> None:
    base_url = f"http://127.0.0.1:{desk.port}"
    pool = desk.desk.pool
    token = await issue_token(pool, "schema-root", "p1")
    await pool.execute("UPDATE agents SET role = 'admin' WHERE agent_id = 'schema-root'")
    await pool.execute(
        "INSERT INTO channel_conversations (contact_id, pool_id, channel, address)"
        " VALUES ('c-schema', 'p1', 'chat', 'schema-web')"
    )
    await pool.execute(
        "INSERT INTO contacts (contact_id, pool_id, agent_id, answered_at)"
        " VALUES ('c-schema', 'p1', 'schema-root', now())"
    )
    async with open_bus(
        schema_settings.kafka_bootstrap_servers, schema_settings.topic_prefix
    ) as bus:
        await bus.publish(
            OFFERS,
            "schema-root",
            OfferMade(
                pool_id="p1",
                cause_event_id="schema",
                offer_id="c-offered:1",
                contact_id="c-offered",
                agent_id="schema-root",
                attempt=1,
                expires_at=datetime.now(UTC) + timedelta(hours=1),
            ),
        )

    async def offered() -> bool:
        return "c-offered:1" in desk.desk.hub.offers

    await eventually(offered, 15, "the offer on the desk")
    headers = {"Authorization": f"Bearer {token}", "X-Desk-Page": "1"}

    target = Target(base_url, headers, lambda _case: {}, lambda _case: False)
    failures, seen = await asyncio.to_thread(
        _exercise, target, {"contact_id": "c-schema", "pool_id": "p1", "offer_id": "c-offered:1"}
    )
    assert not failures, "\n\n".join(failures)
    assert 200 in seen[("GET", "/api/me")]
    assert 200 in seen[("GET", "/api/contacts/{contact_id}")]  # the seeded contact
    assert 201 in seen[("POST", "/api/admin/agents")]
    assert {202, 409} & seen[
        ("POST", "/api/offers/{offer_id}/accept")
    ]  # the seeded offer  # the admin token's routes reached
    assert ("GET", "/api/stream") not in seen
