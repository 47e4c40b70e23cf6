"""Every entry point at the edge, fed random and structured-but-wrong input (hypothesis): the
gateway's Twilio webhooks, chat sessions and chat WebSocket, the desk's API with and without a
valid agent token, and the SMTP server. Each input is answered — a 4xx with a reason, an SMTP
5xx, a WebSocket error frame, or a normal answer when it happens to be valid — never a 500, an
internal error or a dropped connection, and the service still serves a valid request after."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import aiosmtplib
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schemas.routing import OfferMade
from schemas.topics import OFFERS
from services.bus import open_bus
from services.desk.app import RunningDesk, running_desk
from services.desk.auth import issue_token
from services.gateway.app import RunningGateway, running_gateway
from services.runtime.broker import LocalBroker
from streams.platform import metrics
from streams.platform.settings import Settings
from tests.support.channels import PUBLIC_BASE, post_webhook
from tests.support.environment import isolated_settings
from tests.support.workers import eventually

pytestmark = pytest.mark.integration

TOKEN = "fuzz-twilio-token"
MAX_MESSAGE = 50_000

fuzz = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ------------------------------------------------------------------ strategies
chars = st.characters(exclude_categories=("Cs",))  # what a client can put on the wire
huge_text = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["x", "é", "\x00", "😀", "%", "<", "=?"]),
    st.integers(300, 70_000),
)
texts = st.one_of(
    st.text(chars, max_size=40),
    st.sampled_from(["", " ", "\x00", "\ufffd", "NaN", "STOP", "completed", "0", "1", "-1"]),
    huge_text,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
content_types = st.sampled_from(
    [
        None,
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/x-www-form-urlencoded; charset=nope",
        "application/x-www-form-urlencoded; charset=hex",
        "application/x-www-form-urlencoded; charset=utf-16",
        "application/x-www-form-urlencoded; charset=idna",
        "application/json",
        "application/json; charset=latin-1",
        "application/json; charset=nope",
        "application/problem+json",
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "text/plain",
        "application/xml",
        "",
        "garbage",
    ]
)
raw_bodies = st.one_of(
    st.binary(max_size=2000),
    st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=4), st.integers(1, 40_000)),
    texts.map(lambda t: t.encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"\xff\xfe", b"{", b"[" * 50_000, b'{"a": 1' + b"1" * 5000 + b"}"]),
)


def twilio_params(*names: str) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional=dict.fromkeys(names, texts))


VOICE_PARAMS = ("CallSid", "From", "To", "Digits", "CallStatus", "AccountSid", "Direction")
SMS_PARAMS = ("MessageSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "MediaContentType0")
GATEWAY_POSTS = [
    "/twilio/voice",
    "/twilio/voice/menu",
    "/twilio/voice/hold",
    "/twilio/voice/status",
    "/twilio/sms",
    "/chat/sessions",
]


# ------------------------------------------------------------------ checks
def unexpected_errors() -> float:
    """Unexpected errors the services handled (a 500, an internal error frame, SMTP 451)."""
    return sum(
        sample.value
        for family in metrics.ERRORS.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


def answered(status: int, text: str) -> None:
    assert status < 500, f"{status}: {text[:300]}"
    if status >= 400:
        assert text.strip(), f"{status} without a reason"


async def request(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    body: bytes | None = None,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    sent = dict(headers or {})
    if content_type is not None:
        sent["Content-Type"] = content_type
    async with http.request(method, url, data=body, headers=sent) as response:
        return response.status, await response.text(errors="replace")


# ------------------------------------------------------------------ services
@pytest.fixture(scope="module")
async def fuzz_settings(broker: LocalBroker, postgres_server_url: str) -> Settings:
    return await isolated_settings(
        broker,
        postgres_server_url,
        twilio_auth_token=TOKEN,
        public_base_url=PUBLIC_BASE,
        gateway_port=0,
        smtp_port=0,
        desk_port=0,
        smtp_max_message_bytes=MAX_MESSAGE,
        desk_accept_wait_seconds=0.05,
    )


@pytest.fixture(scope="module")
async def gateway(fuzz_settings: Settings) -> AsyncIterator[RunningGateway]:
    async with running_gateway(fuzz_settings) as running:
        yield running


@pytest.fixture(scope="module")
async def desk(fuzz_settings: Settings) -> AsyncIterator[RunningDesk]:
    async with running_desk(fuzz_settings) as running:
        yield running


@pytest.fixture(scope="module")
def gateway_url(gateway: RunningGateway) -> str:
    return f"http://127.0.0.1:{gateway.http_port}"


@pytest.fixture(scope="module")
async def chat_token(gateway_url: str, http: aiohttp.ClientSession) -> str:
    """A chat session's secret (the cookie's value)."""
    async with http.post(gateway_url + "/chat/sessions", json={"name": "fuzz"}) as response:
        assert response.status == 200
        return str(response.cookies["cc_chat"].value)


@pytest.fixture(scope="module")
async def agents(desk: RunningDesk, fuzz_settings: Settings) -> dict[str, str]:
    """Tokens of two agents; ann has an open offer and an assigned chat contact."""
    pool = desk.desk.pool
    tokens = {agent: await issue_token(pool, agent, "p1") for agent in ("ann", "ben")}
    await pool.execute(
        "INSERT INTO channel_conversations (contact_id, pool_id, channel, address)"
        " VALUES ('c-fz', 'p1', 'chat', 'fz-web')"
    )
    await pool.execute(
        "INSERT INTO contacts (contact_id, pool_id, agent_id, answered_at)"
        " VALUES ('c-fz', 'p1', 'ann', now())"
    )
    async with open_bus(fuzz_settings.kafka_bootstrap_servers, fuzz_settings.topic_prefix) as bus:
        await bus.publish(
            OFFERS,
            "ann",
            OfferMade(
                pool_id="p1",
                cause_event_id="fz",
                offer_id="c-offer:1",
                contact_id="c-offer",
                agent_id="ann",
                attempt=1,
                expires_at=datetime.now(UTC) + timedelta(hours=1),
            ),
        )

    async def seen() -> bool:
        return "c-offer:1" in desk.desk.hub.offers

    await eventually(seen, 15, "the offer on the desk")
    return tokens


# ------------------------------------------------------------------ gateway HTTP
@fuzz
@given(path=st.sampled_from(GATEWAY_POSTS), body=raw_bodies, content_type=content_types)
async def test_gateway_random_bodies(
    gateway_url: str, http: aiohttp.ClientSession, path: str, body: bytes, content_type: str | None
) -> None:
    errors = unexpected_errors()
    headers = {"X-Twilio-Signature": "Zm9yZ2Vk"}
    answered(*await request(http, "POST", gateway_url + path, body, content_type, headers))
    assert unexpected_errors() == errors


@fuzz
@given(
    path=st.sampled_from(["/twilio/voice", "/twilio/voice/menu", "/twilio/voice/hold"]),
    params=twilio_params(*VOICE_PARAMS),
)
async def test_signed_voice_webhooks_with_wrong_parameters(
    gateway_url: str, http: aiohttp.ClientSession, path: str, params: dict[str, str]
) -> None:
    errors = unexpected_errors()
    answered(*await post_webhook(http, gateway_url, path, params, TOKEN))
    assert unexpected_errors() == errors


@fuzz
@given(
    params=twilio_params(*VOICE_PARAMS),
    status=st.sampled_from(["completed", "no-answer", "busy", "ringing"]) | texts,
    callback_for=st.none() | texts,
)
async def test_signed_status_callbacks_with_wrong_parameters(
    gateway_url: str,
    http: aiohttp.ClientSession,
    params: dict[str, str],
    status: str,
    callback_for: str | None,
) -> None:
    errors = unexpected_errors()
    path = "/twilio/voice/status"
    if callback_for is not None:
        path += "?callback_for=" + quote(callback_for[:2000], safe="")
    params = {**params, "CallStatus": status}
    answered(*await post_webhook(http, gateway_url, path, params, TOKEN))
    assert unexpected_errors() == errors


@fuzz
@given(params=twilio_params(*SMS_PARAMS))
@example(params={"MessageSid": "SM" * 150, "From": "+15550400009", "Body": "a long sid"})
@example(params={"MessageSid": "SMnul", "From": "+15550400009", "Body": "nul \x00"})
async def test_signed_sms_with_wrong_parameters(
    gateway_url: str, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    errors = unexpected_errors()
    answered(*await post_webhook(http, gateway_url, "/twilio/sms", params, TOKEN))
    assert unexpected_errors() == errors


@fuzz
@given(
    body=json_values
    | st.fixed_dictionaries(
        {},
        optional={
            "name": json_values,
            "email": json_values,
            "chat_id": json_values,
            "customer_id": json_values,
            "identity_hash": json_values,
        },
    )
)
async def test_chat_sessions_with_wrong_json(
    gateway_url: str, http: aiohttp.ClientSession, body: Any
) -> None:
    errors = unexpected_errors()
    data = json.dumps(body).encode()
    answered(*await request(http, "POST", gateway_url + "/chat/sessions", data, "application/json"))
    assert unexpected_errors() == errors


@fuzz
@given(cookie=texts, origin=st.none() | texts, method=st.sampled_from(["POST", "DELETE", "GET"]))
async def test_chat_session_routes_with_wrong_cookies_and_origins(
    gateway_url: str, http: aiohttp.ClientSession, cookie: str, origin: str | None, method: str
) -> None:
    """Resume, sign-out and the socket with any cookie and Origin: a 4xx, never a 500."""
    errors = unexpected_errors()
    headers = {"Cookie": "cc_chat=" + "".join(c for c in cookie if c.isprintable() and c != ";")}
    if origin is not None:
        headers["Origin"] = "".join(c for c in origin if c.isprintable())
    path = {"POST": "/chat/session/resume", "DELETE": "/chat/session", "GET": "/chat/ws"}[method]
    try:
        async with http.request(method, gateway_url + path, headers=headers) as response:
            assert 400 <= response.status < 500, (method, headers, response.status)
    except ValueError:  # a header value aiohttp itself will not send
        return
    assert unexpected_errors() == errors


async def test_gateway_still_serves_after_the_fuzz(
    gateway_url: str, http: aiohttp.ClientSession
) -> None:
    params = {"CallSid": "CA-after-fuzz", "From": "+15550400001", "To": "+15559990000"}
    status, body = await post_webhook(http, gateway_url, "/twilio/voice", params, TOKEN)
    assert status == 200 and "<Gather" in body
    async with http.post(gateway_url + "/chat/sessions", json={"name": "after"}) as response:
        assert response.status == 200 and (await response.json())["session_id"]


# ------------------------------------------------------------------ chat WebSocket
frames = st.one_of(
    texts,
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "end", "nope"]) | json_values},
        optional={"text": json_values, "id": json_values},
    ).map(json.dumps),
    st.binary(max_size=200),
)


@fuzz
@given(frame=frames)
@example(frame=b"")
@example(frame='{"type": ["message"]}')
@example(frame='{"type": "message", "text": "nul \\u0000"}')
async def test_chat_socket_answers_every_frame(
    gateway_url: str, http: aiohttp.ClientSession, chat_token: str, frame: str | bytes
) -> None:
    errors = unexpected_errors()
    async with http.ws_connect(
        f"{gateway_url}/chat/ws", headers={"Cookie": f"cc_chat={chat_token}"}, max_msg_size=0
    ) as socket:
        if isinstance(frame, bytes):
            await socket.send_bytes(frame)
        else:
            await socket.send_str(frame)
        while True:
            received = await socket.receive(timeout=10)
            if received.type is aiohttp.WSMsgType.CLOSE:  # a frame above the size limit
                assert received.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG, received
                break
            answer = json.loads(received.data)
            if answer["type"] == "error":
                assert answer["reason"] and "internal" not in answer["reason"], answer
            if answer["type"] in {"error", "ack", "ended"}:
                break
    assert unexpected_errors() == errors


async def test_chat_socket_still_serves_after_the_fuzz(
    gateway_url: str, http: aiohttp.ClientSession, chat_token: str
) -> None:
    cookie = {"Cookie": f"cc_chat={chat_token}"}
    async with http.ws_connect(f"{gateway_url}/chat/ws", headers=cookie) as socket:
        await socket.send_json({"type": "message", "text": "still there?", "id": "after"})
        while (answer := await socket.receive_json(timeout=10))["type"] != "ack":
            assert answer["type"] != "error", answer
        assert answer["id"] == "after"


# ------------------------------------------------------------------ desk API
DESK_ROUTES = [
    ("GET", "/api/me"),
    ("POST", "/api/login"),
    ("POST", "/api/state"),
    ("POST", "/api/offers/{}/accept"),
    ("POST", "/api/offers/{}/reject"),
    ("GET", "/api/contacts/{}"),
    ("POST", "/api/contacts/{}/reply"),
    ("POST", "/api/contacts/{}/complete"),
]
desk_bodies = st.one_of(
    st.none(),
    raw_bodies,
    st.fixed_dictionaries(
        {},
        optional={
            "state": st.sampled_from(["ready", "not_ready", "logged_out"]) | json_values,
            "reason": json_values,
            "text": json_values,
            "disposition": json_values,
        },
    ).map(lambda v: json.dumps(v).encode()),
)


@fuzz
@given(
    route=st.sampled_from(DESK_ROUTES),
    who=st.sampled_from([None, "wrong", "ann", "ben"]),
    ident=st.sampled_from(["c-offer:1", "c-fz", "nope"]) | st.text(chars, max_size=30),
    body=desk_bodies,
    content_type=st.just("application/json") | content_types,
)
async def test_desk_api_with_and_without_tokens(
    desk: RunningDesk,
    agents: dict[str, str],
    http: aiohttp.ClientSession,
    route: tuple[str, str],
    who: str | None,
    ident: str,
    body: bytes | None,
    content_type: str | None,
) -> None:
    errors = unexpected_errors()
    method, template = route
    path = template.format(quote(ident, safe=""))
    headers = {}
    if who is not None:
        headers["Authorization"] = f"Bearer {agents.get(who, who)}"
    url = f"http://127.0.0.1:{desk.port}{path}"
    status, text = await request(http, method, url, body, content_type, headers)
    answered(status, text)
    if "%00" in path:
        assert status == 400  # NUL in the URL, refused before anything else
    elif who in {None, "wrong"}:
        assert status == 401
    elif who == "ben" and (ident, template.split("/")[2]) in OTHERS:
        assert status == 403  # another agent's offer or contact
    assert unexpected_errors() == errors


OTHERS = {("c-offer:1", "offers"), ("c-fz", "contacts")}  # ann's, not ben's
header_bytes = st.binary(max_size=80).filter(lambda b: b"\r" not in b and b"\n" not in b)


@fuzz
@given(
    token=header_bytes, path=st.sampled_from(["/api/me", "/api/stream", "/api/state", "/healthz"])
)
@example(token=b"\xff\xfe", path="/api/me")
async def test_desk_raw_authorization_headers(
    desk: RunningDesk, agents: dict[str, str], token: bytes, path: str
) -> None:
    errors = unexpected_errors()
    reader, writer = await asyncio.open_connection("127.0.0.1", desk.port)
    try:
        writer.write(
            b"GET " + path.encode() + b" HTTP/1.1\r\nHost: desk\r\nConnection: close\r\n"
            b"Authorization: Bearer " + token + b"\r\n\r\n"
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
    status = int(status_line.split()[1])
    assert status < 500, status_line
    if path != "/healthz":
        assert status in {400, 401}, status_line
    assert unexpected_errors() == errors


async def test_desk_still_serves_after_the_fuzz(
    desk: RunningDesk, agents: dict[str, str], http: aiohttp.ClientSession
) -> None:
    headers = {"Authorization": f"Bearer {agents['ann']}"}
    base = f"http://127.0.0.1:{desk.port}"
    async with http.get(base + "/api/me", headers=headers) as response:
        assert response.status == 200 and (await response.json())["agent_id"] == "ann"
    async with http.post(base + "/api/state", json={"state": "ready"}, headers=headers) as answer:
        assert answer.status == 200


# ------------------------------------------------------------------ SMTP
header_names = st.sampled_from(
    [
        "From",
        "To",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "MIME-Version",
        "X-\x00",
        "",
    ]
)
header_values = st.one_of(
    texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=100),
    st.sampled_from(
        [
            b"ann@example.com",
            b'"Ann" <ann@example.com>',
            b"<>",
            b"no address",
            b"=?nope?Q?caf=E9?= <x@example.com>",
            b"=?utf-8?B?////?= <x@example.com>",
            b"caf\xe9 <caf\xe9@example.com>",
            b"<" + b"m" * 3000 + b"@example.com>",
            b"<a\x00b@example.com>",
            b"multipart/mixed",
            b"multipart/mixed; boundary=zz",
            b"text/plain; charset=nope",
            b"text/plain; charset=utf-16",
            b"base64",
            b"quoted-printable",
            b'attachment; filename="\x00.txt"',
        ]
    ),
)
messages = st.one_of(
    st.binary(max_size=3000),
    st.builds(
        lambda headers, body: (
            b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
            + b"\r\n"
            + body
        ),
        st.lists(st.tuples(header_names, header_values), max_size=8),
        st.one_of(
            st.binary(max_size=2000),
            st.sampled_from(
                [b"--zz\r\nContent-Type: text/plain\r\n\r\nhi\x00\r\n--zz--\r\n", b"=00=ZZ"]
            ),
            st.integers(MAX_MESSAGE - 100, MAX_MESSAGE * 2).map(lambda n: b"y" * n),
        ),
    ),
)


@fuzz
@given(message=messages)
@example(message=b"From:\x00@\x00")
@example(message=b"From: a@\r\n\r\nan address the header parser fails on\r\n")
@example(message=b"From: x@[\r\n\r\nanother\r\n")
@example(message=b"From: a@example.com\r\nSubject: nul\r\n\r\nbody \x00\r\n")
@example(message=b"From: caf\xe9 <cafe@example.com>\r\nSubject: caf\xe9\r\n\r\n8-bit\r\n")
@example(message=b"From: a@example.com\r\nMessage-ID: <" + b"m" * 3000 + b"@x>\r\n\r\nhi\r\n")
async def test_smtp_answers_every_message(gateway: RunningGateway, message: bytes) -> None:
    errors = unexpected_errors()
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=gateway.smtp_port, timeout=15)
    await smtp.connect()
    try:
        try:
            await smtp.sendmail("fuzz@example.com", ["support@shop.example"], message)
        except aiosmtplib.SMTPResponseException as refused:
            assert 500 <= refused.code < 600, (refused.code, refused.message)
        code, _ = await smtp.noop()  # the session survives
        assert code == 250
    finally:
        smtp.close()
    assert unexpected_errors() == errors


async def test_smtp_still_serves_after_the_fuzz(gateway: RunningGateway) -> None:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=gateway.smtp_port)
    await smtp.connect()
    try:
        errors, _ = await smtp.sendmail(
            "ann@example.com",
            ["support@shop.example"],
            b"From: Ann <ann@example.com>\r\nSubject: after\r\nMessage-ID: <after@x>\r\n\r\nhi\r\n",
        )
        assert not errors
    finally:
        smtp.close()
