"""Twilio webhook plumbing: signature check over the public URL, required parameters, TwiML."""

from __future__ import annotations

from aiohttp import web

from services.gateway.context import CONTEXT
from services.http_input import read_form

TWIML_TYPE = "application/xml"
# Twilio's SIDs are 34 characters and its numbers and statuses short; longer values are not
# Twilio's and would not fit the ids derived from them (contact and event ids)
MAX_SID = 64
MAX_REQUIRED = 256


def public_url(request: web.Request) -> str:
    """The URL Twilio called and signed: the configured public base plus path and query (a
    proxy in front of the gateway changes scheme and host, so they are configuration)."""
    base = request.app[CONTEXT].settings.public_base_url.rstrip("/")
    return base + str(request.rel_url)


async def verified_form(request: web.Request, *required: str) -> dict[str, str]:
    """The POST parameters of a genuine Twilio request: 400 when it is not a form (or not of
    its charset) or misses a required parameter, 415 for an unknown charset, 403 when
    X-Twilio-Signature is missing or wrong, 413 when too large."""
    params = await read_form(request)
    signature = request.headers.get("X-Twilio-Signature", "")
    if not request.app[CONTEXT].signatures.genuine(public_url(request), params, signature):
        raise web.HTTPForbidden(text="missing or invalid X-Twilio-Signature")
    missing = [name for name in required if not params.get(name)]
    if missing:
        raise web.HTTPBadRequest(text=f"missing parameter(s): {', '.join(missing)}")
    for name in required:
        limit = MAX_SID if name.endswith("Sid") else MAX_REQUIRED
        if len(params[name]) > limit:
            raise web.HTTPBadRequest(text=f"parameter {name} is longer than {limit} characters")
    return params


def twiml(document: object) -> web.Response:
    return web.Response(text=str(document), content_type=TWIML_TYPE)
