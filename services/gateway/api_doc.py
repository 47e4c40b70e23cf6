"""The gateway's HTTP surface, declared: the Twilio webhooks (form posts signed with
``X-Twilio-Signature``), the web chat (its page, settings, session routes with their HttpOnly
cookie, and the WebSocket's upgrade), and the operations routes. The OpenAPI document served at
``/openapi.json`` is generated from this table; ``tests/unit/test_openapi.py`` checks that it
lists exactly the routes the app registers."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.api_table import (
    HTML,
    JSON,
    TEXT,
    Answer,
    Body,
    Operation,
    Param,
    add_document_route,
    openapi_document,
)
from services.gateway.chat_session_routes import MAX_SESSION_FIELD
from services.gateway.chat_sessions import COOKIE
from services.gateway.webhooks import MAX_REQUIRED, MAX_SID, TWIML_TYPE
from services.http_ops import OPS_OPERATIONS

__all__ = ["GATEWAY_OPERATIONS", "add_gateway_document", "gateway_document"]


class ChatSessionStart(BaseModel):
    """Who starts the chat: all optional; a known customer is named by ``customer_id`` with the
    embedding site's ``identity_hash`` (HMAC-SHA256 of the id with the site's secret)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=MAX_SESSION_FIELD)
    email: str | None = Field(default=None, max_length=MAX_SESSION_FIELD)
    customer_id: str | None = Field(default=None, max_length=MAX_SESSION_FIELD)
    identity_hash: str | None = None


class ChatSessionStarted(BaseModel):
    session_id: str
    known: bool


class ChatSessionResumed(BaseModel):
    session_id: str
    known: bool
    name: str | None
    email: str | None
    open: bool


class ChatConfig(BaseModel):
    greeting: str
    business_hours: str
    prechat_form: bool
    embed_origins: list[str]


SIGNED = ("twilio_signature",)
CHAT = ("chat_session",)
RETRY = ("Retry-After",)


def _refused(status: int, why: str) -> Answer:
    return Answer(status, why, (Body(TEXT),))


UNAVAILABLE = Answer(
    503, "the broker did not take the event (Twilio calls again)", (Body(TEXT),), RETRY
)
WEBHOOK_REFUSALS = (
    _refused(400, "not a form, a value not of its charset, a required parameter missing or long"),
    _refused(403, "X-Twilio-Signature missing or not Twilio's signature of this request"),
    _refused(413, "the body is larger than CC_GATEWAY_MAX_BODY_BYTES"),
    _refused(415, "the form declares a charset that is not a text encoding"),
    UNAVAILABLE,
)
SESSION_REFUSALS = (
    _refused(400, "the body is not a JSON object of the fields below"),
    _refused(401, "no chat session cookie, or an unknown or expired one"),
    _refused(
        403,
        "an Origin that is neither the gateway's nor an embedding site's, or a wrong identity_hash",
    ),
    _refused(413, "the body is larger than CC_GATEWAY_MAX_BODY_BYTES"),
    _refused(415, "the body is not JSON, or declares an unknown charset"),
)
SIGNATURE = Param(
    "X-Twilio-Signature",
    "header",
    "Twilio's HMAC-SHA1 of the public URL and the sorted form parameters, base64",
)
CALL = (
    SIGNATURE,
    Param("CallSid", "form", "the call", required=True, max_length=MAX_SID),
    Param("From", "form", "the caller's number", required=True, max_length=MAX_REQUIRED),
)
TWIML = Answer(200, "TwiML for the call or message", (Body(TWIML_TYPE),))
CALL_ANSWERS = (TWIML, *WEBHOOK_REFUSALS)

GATEWAY_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/twilio/voice",
        "voiceIncoming",
        "An incoming call: greeting and the menu (TwiML)",
        "twilio",
        CALL_ANSWERS,
        params=CALL,
        security=SIGNED,
    ),
    Operation(
        "POST",
        "/twilio/voice/menu",
        "voiceMenu",
        "The caller's menu choice: queued for an agent with the choice's skill (TwiML)",
        "twilio",
        CALL_ANSWERS,
        params=(
            *CALL,
            Param("Digits", "form", "the key pressed"),
            Param("Default", "query", "the choice when no key was pressed"),
        ),
        security=SIGNED,
    ),
    Operation(
        "POST",
        "/twilio/voice/hold",
        "voiceHold",
        "The hold loop: wait announcement, music, the callback offer (TwiML)",
        "twilio",
        CALL_ANSWERS,
        params=(*CALL, Param("Digits", "form", "the key pressed (the callback offer)")),
        security=SIGNED,
    ),
    Operation(
        "POST",
        "/twilio/voice/status",
        "voiceStatus",
        "A call's status callback: the contact ends (or its callback is attempted)",
        "twilio",
        (Answer(204, "recorded, or nothing to record"), *WEBHOOK_REFUSALS),
        params=(
            SIGNATURE,
            Param("CallSid", "form", "the call", required=True, max_length=MAX_SID),
            Param(
                "CallStatus", "form", "Twilio's call status", required=True, max_length=MAX_REQUIRED
            ),
            Param("callback_for", "query", "the contact a callback call was placed for"),
        ),
        security=SIGNED,
    ),
    Operation(
        "POST",
        "/twilio/sms",
        "smsInbound",
        "An inbound SMS or MMS: consent keywords, survey answers, else a message of the contact",
        "twilio",
        CALL_ANSWERS,
        params=(
            SIGNATURE,
            Param("MessageSid", "form", "the message", required=True, max_length=MAX_SID),
            Param("From", "form", "the sender's number", required=True, max_length=MAX_REQUIRED),
            Param("Body", "form", "the text (a message has a body or media)"),
            Param("NumMedia", "form", "how many MediaUrl{n} / MediaContentType{n} follow"),
        ),
        security=SIGNED,
    ),
    Operation(
        "GET",
        "/chat",
        "chatPage",
        "The web chat page",
        "chat",
        (Answer(200, "the page", (Body(HTML),)),),
    ),
    Operation(
        "GET",
        "/chat/config",
        "chatConfig",
        "The chat page's settings: greeting, business hours, pre-chat form, embedding sites",
        "chat",
        (Answer(200, "the settings", (Body(JSON, ChatConfig),)),),
    ),
    Operation(
        "POST",
        "/chat/sessions",
        "chatSessionStart",
        "Start a chat session: its secret is set as an HttpOnly cookie (cc_chat, path /chat)",
        "chat",
        (
            Answer(200, "started", (Body(JSON, ChatSessionStarted),), ("Set-Cookie",)),
            *SESSION_REFUSALS,
        ),
        body=ChatSessionStart,
        params=(Param("Origin", "header", "the page's origin (a browser sends it)"),),
    ),
    Operation(
        "POST",
        "/chat/session/resume",
        "chatSessionResume",
        "A page load: prove the session, rotate its secret (a new cookie), say whether a chat"
        " is open",
        "chat",
        (
            Answer(200, "resumed", (Body(JSON, ChatSessionResumed),), ("Set-Cookie",)),
            *SESSION_REFUSALS,
        ),
        params=(Param("Origin", "header", "the page's origin (a browser sends it)"),),
        security=CHAT,
    ),
    Operation(
        "DELETE",
        "/chat/session",
        "chatSessionEnd",
        "The customer signed out of the embedding site: this browser's session ends",
        "chat",
        (Answer(204, "ended; the cookie is cleared", (), ("Set-Cookie",)), *SESSION_REFUSALS),
        params=(Param("Origin", "header", "the page's origin (a browser sends it)"),),
        security=CHAT,
    ),
    Operation(
        "GET",
        "/chat/ws",
        "chatSocket",
        "The chat's WebSocket (JSON text frames both ways; see docs/channels.md)",
        "chat",
        (
            Answer(101, "Switching Protocols: the WebSocket is open"),
            _refused(400, "not a WebSocket upgrade request"),
            _refused(401, "no chat session cookie, or an unknown or expired one"),
            _refused(403, "an Origin that is neither the gateway's nor an embedding site's"),
        ),
        params=(
            Param("Origin", "header", "the page's origin (a browser sends it)"),
            Param("Upgrade", "header", "websocket"),
            Param("Connection", "header", "Upgrade"),
            Param("Sec-WebSocket-Key", "header", "the client's nonce (RFC 6455)"),
            Param("Sec-WebSocket-Version", "header", "13"),
        ),
        security=CHAT,
        description="Described as the GET that upgrades; the frames are in docs/channels.md.",
    ),
    Operation(
        "GET",
        "/openapi.json",
        "gatewayOpenapi",
        "This document",
        "ops",
        (Answer(200, "the OpenAPI 3.1 document", (Body(JSON),)),),
    ),
    *OPS_OPERATIONS,
)

SECURITY_SCHEMES: dict[str, Any] = {
    "twilio_signature": {"type": "apiKey", "in": "header", "name": "X-Twilio-Signature"},
    "chat_session": {"type": "apiKey", "in": "cookie", "name": COOKIE},
}


def gateway_document() -> dict[str, Any]:
    return openapi_document(
        "contactcenter gateway",
        "Twilio's voice and SMS webhooks, the web chat (page, sessions, WebSocket) and the"
        " operations routes. Generated from services/gateway/api_doc.py.",
        GATEWAY_OPERATIONS,
        SECURITY_SCHEMES,
    )


def add_gateway_document(app: web.Application) -> None:
    add_document_route(app, gateway_document())
