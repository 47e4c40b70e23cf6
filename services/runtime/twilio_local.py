"""A local HTTP server that answers like Twilio's REST API (2010-04-01) for what the project uses.

    async with TwilioApiServer() as twilio:
        settings = Settings(twilio_api_base_url=twilio.base_url,
                            twilio_account_sid=twilio.account_sid,
                            twilio_auth_token=twilio.auth_token)
        ...
        assert twilio.messages[0]["To"] == "+15550001111"

Endpoints: create/list/fetch Messages, create/fetch Calls, update a live Call (Twiml/Url).
HTTP basic auth is checked (401 with Twilio's error body otherwise). ``opted_out`` numbers get
21610, ``invalid`` numbers 21211; ``fail_next(n, status)`` makes the next n requests fail with
a 5xx; ``delay_next_response(seconds)`` holds the answer to the next request after it has been
handled (a message created, then the answer held: a client killed meanwhile never learns the
SID). Every request is kept in ``requests`` (method, path, query, form params).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from twilio.request_validator import RequestValidator

API = "/2010-04-01"


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    authorized: bool


@dataclass
class TwilioApiServer:
    account_sid: str = "AC" + "1" * 32
    auth_token: str = "test-auth-token"
    from_numbers: frozenset[str] | None = None
    opted_out: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    host: str = "127.0.0.1"
    delay: float = 0.0  # seconds before each answer, to widen races in tests

    def __post_init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self._failures: list[tuple[int, int | None]] = []
        self._held: list[tuple[str, float]] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ----------------------------------------------------------------- scripting
    def fail_next(self, count: int = 1, status: int = 503, code: int | None = None) -> None:
        """The next ``count`` authorised API requests answer ``status`` (e.g. 500, 503, 429)."""
        self._failures.extend([(status, code)] * count)

    def delay_next_response(self, seconds: float, count: int = 1, method: str = "POST") -> None:
        """Answer the next ``count`` authorised ``method`` requests only ``seconds`` after
        handling them (cut short when the server stops)."""
        self._held.extend([(method, seconds)] * count)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def created_messages(self) -> list[dict[str, Any]]:
        """The form params of every message accepted, in order."""
        return [dict(m["_form"]) for m in self.messages.values()]

    def created_calls(self) -> list[dict[str, Any]]:
        return [dict(c["_form"]) for c in self.calls.values()]

    def inbound_call(self, from_: str, to: str) -> str:
        """A live inbound call, as Twilio knows it when it calls the voice webhook; its sid."""
        sid = "CA" + secrets.token_hex(16)
        now = _rfc2822()
        self.calls[sid] = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "direction": "inbound",
            "from": from_,
            "to": to,
            "sid": sid,
            "status": "in-progress",
            "uri": self._uri("Calls", sid),
            "_form": {"From": from_, "To": to},
        }
        return sid

    def set_message_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        self.messages[sid]["status"] = status
        self.messages[sid]["error_code"] = error_code

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> TwilioApiServer:
        app = web.Application()
        base = API + "/Accounts/{account}"
        app.router.add_post(base + "/Messages.json", self._create_message)
        app.router.add_get(base + "/Messages.json", self._list_messages)
        app.router.add_get(base + "/Messages/{sid}.json", self._fetch_message)
        app.router.add_post(base + "/Messages/{sid}.json", self._update_message)
        app.router.add_post(base + "/Calls.json", self._create_call)
        app.router.add_get(base + "/Calls/{sid}.json", self._fetch_call)
        app.router.add_post(base + "/Calls/{sid}.json", self._update_call)
        app.middlewares.append(self._middleware)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        self._closing.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> TwilioApiServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------- helpers
    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(
            password, self.auth_token
        )

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        form = {k: str(v) for k, v in (await request.post()).items()}
        authorized = self._authorized(request)
        self.requests.append(
            RecordedRequest(request.method, request.path, dict(request.query), form, authorized)
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if not authorized:
            return error(401, 20003, "Authenticate")
        if request.match_info.get("account") != self.account_sid:
            return error(404, 20404, "The requested resource was not found")
        if self._failures:
            status, code = self._failures.pop(0)
            return error(status, code, "Service unavailable, try again")
        request["form"] = form
        response: web.StreamResponse = await handler(request)
        held = next((i for i, (m, _) in enumerate(self._held) if m == request.method), None)
        if held is not None:
            _, seconds = self._held.pop(held)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)
        return response

    def _uri(self, kind: str, sid: str) -> str:
        return f"{API}/Accounts/{self.account_sid}/{kind}/{sid}.json"

    # ----------------------------------------------------------------- messages
    async def _create_message(self, request: web.Request) -> web.Response:
        form: dict[str, str] = request["form"]
        to, sender = form.get("To", ""), form.get("From") or form.get("MessagingServiceSid")
        if not to:
            return error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body") and not form.get("MediaUrl"):
            return error(400, 21602, "Message body is required.")
        if to in self.invalid:
            return error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self.opted_out:
            return error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = "SM" + secrets.token_hex(16)
        now = _rfc2822()
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": self._uri("Messages", sid)[:-5] + "/Media.json"},
            "to": to,
            "uri": self._uri("Messages", sid),
        }
        self.messages[sid] = {**message, "_form": form}
        return web.json_response(message, status=201)

    def _public(self, message: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in message.items() if not k.startswith("_")}

    async def _fetch_message(self, request: web.Request) -> web.Response:
        message = self.messages.get(request.match_info["sid"])
        if message is None:
            return error(404, 20404, "The requested resource was not found")
        return web.json_response(self._public(message))

    async def _update_message(self, request: web.Request) -> web.Response:
        message = self.messages.get(request.match_info["sid"])
        if message is None:
            return error(404, 20404, "The requested resource was not found")
        if "Body" in request["form"]:
            message["body"] = request["form"]["Body"]
        return web.json_response(self._public(message))

    async def _list_messages(self, request: web.Request) -> web.Response:
        query = request.query
        found = [
            self._public(m)
            for m in reversed(list(self.messages.values()))  # newest first, like Twilio
            if ("To" not in query or m["to"] == query["To"])
            and ("From" not in query or m["from"] == query["From"])
        ]
        page_size = int(query.get("PageSize", "50"))
        uri = f"{API}/Accounts/{self.account_sid}/Messages.json?{urlencode(dict(query))}"
        return web.json_response(
            {
                "messages": found[:page_size],
                "end": max(0, min(page_size, len(found)) - 1),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": page_size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )

    # ----------------------------------------------------------------- calls
    async def _create_call(self, request: web.Request) -> web.Response:
        form: dict[str, str] = request["form"]
        to = form.get("To", "")
        if not to:
            return error(400, 21201, "No 'To' number is specified")
        if not form.get("From"):
            return error(400, 21213, "No 'From' number is specified")
        if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
            return error(400, 21205, "Url parameter is required.")
        if to in self.invalid:
            return error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        sid = "CA" + secrets.token_hex(16)
        now = _rfc2822()
        call = {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": form["From"],
            "from_formatted": form["From"],
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + "0" * 32,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "subresource_uris": {
                "notifications": self._uri("Calls", sid)[:-5] + "/Notifications.json",
                "recordings": self._uri("Calls", sid)[:-5] + "/Recordings.json",
            },
            "to": to,
            "to_formatted": to,
            "trunk_sid": None,
            "uri": self._uri("Calls", sid),
        }
        self.calls[sid] = {**call, "_form": form}
        return web.json_response(call, status=201)

    async def _fetch_call(self, request: web.Request) -> web.Response:
        call = self.calls.get(request.match_info["sid"])
        if call is None:
            return error(404, 20404, "The requested resource was not found")
        return web.json_response(self._public(call))

    async def _update_call(self, request: web.Request) -> web.Response:
        call = self.calls.get(request.match_info["sid"])
        if call is None:
            return error(404, 20404, "The requested resource was not found")
        form: dict[str, str] = request["form"]
        if call["status"] in {"completed", "canceled", "failed", "busy", "no-answer"}:
            return error(400, 21220, "Call is not in-progress. Cannot redirect.")
        for name in ("Twiml", "Url", "Method"):
            if name in form:
                call["_" + name.lower()] = form[name]
        if form.get("Status") in {"completed", "canceled"}:
            call["status"] = form["Status"]
        call["date_updated"] = _rfc2822()
        return web.json_response(self._public(call))


def error(status: int, code: int | None, message: str) -> web.Response:
    """An error body in Twilio's shape."""
    more_info = f"https://www.twilio.com/docs/errors/{code}" if code else None
    return web.json_response(
        {"code": code, "message": message, "more_info": more_info, "status": status},
        status=status,
    )


def _rfc2822() -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0))


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for a form POST to ``url``."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))


def signed_headers(auth_token: str, url: str, params: Mapping[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": sign(auth_token, url, params)}
