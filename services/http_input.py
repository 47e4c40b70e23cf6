"""What an HTTP client sent, read strictly, for every service (gateway, desk, notifier).

Nothing here trusts the client: a body is decoded with the charset it declares (UTF-8 when it
declares none), an unknown charset is 415, bytes that are not of it are 400, and so are a form
or JSON that does not parse. Text that PostgreSQL or the broker cannot carry (NUL characters,
lone surrogates) is refused as well, in bodies and in the URL, so a bad request is answered
with a reason and never reaches storage.
"""

from __future__ import annotations

import codecs
import json
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


class BadInput(ValueError):
    """Input refused; the message says why."""


def unfit_text(text: str) -> str | None:
    """Why ``text`` cannot be stored or published, or None when it can."""
    if "\x00" in text:
        return "NUL characters are not accepted"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "lone surrogate characters are not accepted"
    return None


def check_value(value: Any, where: str) -> None:
    """Every string in ``value`` (a decoded JSON value: keys included) fits; else BadInput."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            reason = unfit_text(item)
            if reason is not None:
                raise BadInput(f"{where}: {reason}")
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def json_object(text: str, where: str = "body") -> dict[str, Any]:
    """A JSON object from ``text`` (a body, a WebSocket frame); BadInput otherwise."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, too many digits, too deep
        raise BadInput(f"{where} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadInput(f"{where} must be a JSON object")
    check_value(value, where)
    return value


def check_url(request: web.Request) -> None:
    """400 when the decoded path or query holds text that cannot be stored."""
    for name, text in (("path", request.path), ("query", request.query_string)):
        reason = unfit_text(text)
        if reason is not None:
            raise web.HTTPBadRequest(text=f"URL {name}: {reason}")


def _charset(request: web.Request) -> str:
    charset = request.charset or "utf-8"
    try:
        text_encoding = getattr(codecs.lookup(charset), "_is_text_encoding", True)
    except (LookupError, ValueError):
        text_encoding = False
    if not text_encoding:  # unknown, or a bytes-to-bytes codec such as hex or base64
        raise web.HTTPUnsupportedMediaType(text=f"unsupported charset {charset!r}")
    return charset


async def read_text(request: web.Request) -> str:
    """The body as text: 415 for an unknown charset, 400 for bytes not of it, 413 when larger
    than the application's ``client_max_size``."""
    charset = _charset(request)
    raw = await request.read()
    try:
        text = raw.decode(charset)
    except (UnicodeError, LookupError) as exc:
        raise web.HTTPBadRequest(text=f"body is not valid {charset}: {exc}") from None
    reason = unfit_text(text)
    if reason is not None:
        raise web.HTTPBadRequest(text=f"body: {reason}")
    return text


async def read_form(request: web.Request) -> dict[str, str]:
    """The parameters of a form post (the last value of a repeated name): 400 when the body is
    not ``application/x-www-form-urlencoded`` or a value is not of the charset."""
    if request.content_type != FORM_TYPE:
        raise web.HTTPBadRequest(text=f"expected {FORM_TYPE}, got {request.content_type!r}")
    charset = _charset(request)
    text = await read_text(request)
    try:
        pairs = parse_qsl(text.rstrip(), keep_blank_values=True, encoding=charset, errors="strict")
    except (UnicodeError, LookupError, ValueError) as exc:
        raise web.HTTPBadRequest(text=f"form value is not valid {charset}: {exc}") from None
    params = dict(pairs)
    try:
        check_value(params, "form")
    except BadInput as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return params


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The JSON object in the body, ``{}`` without a body: 415 when the body is not JSON by
    its content type, 400 when it does not parse or is not an object."""
    if not request.can_read_body:
        return {}
    content_type = request.content_type
    if content_type != JSON_TYPE and not content_type.endswith("+json"):
        raise web.HTTPUnsupportedMediaType(text=f"expected {JSON_TYPE}, got {content_type!r}")
    text = await read_text(request)
    try:
        return json_object(text)
    except BadInput as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
