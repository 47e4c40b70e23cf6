"""``contactcenter sign-webhook PATH NAME=VALUE ...``: the X-Twilio-Signature Twilio would send
for a form POST to ``CC_PUBLIC_BASE_URL`` + PATH, signed with ``CC_TWILIO_AUTH_TOKEN``; with
``--send`` the request is posted to the gateway and its answer printed."""

from __future__ import annotations

import argparse
import asyncio
import secrets

import aiohttp

from services.runtime.twilio_local import sign
from streams.platform.settings import Settings


def add_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("path", help="e.g. /twilio/sms or /twilio/voice")
    command.add_argument("params", nargs="*", metavar="NAME=VALUE", help="form parameters")
    command.add_argument("--send", action="store_true", help="post it and print the answer")


def webhook_form(path: str, pairs: list[str], account_sid: str, our_number: str) -> dict[str, str]:
    """The form Twilio would post: the given pairs, plus the ids Twilio always sends."""
    form = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"{pair!r} is not NAME=VALUE")
        form[name] = value
    form.setdefault("AccountSid", account_sid)
    form.setdefault("To", our_number)
    if path.startswith("/twilio/sms"):
        form.setdefault("MessageSid", "SM" + secrets.token_hex(16))
    if path.startswith("/twilio/voice"):
        form.setdefault("CallSid", "CA" + secrets.token_hex(16))
    return form


async def post(url: str, form: dict[str, str], signature: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=form, headers={"X-Twilio-Signature": signature}) as response,
    ):
        return response.status, await response.text()


def run(args: argparse.Namespace, settings: Settings) -> int:
    token = settings.twilio_auth_token.get_secret_value()
    if not token:
        print(f"{Settings.env_name('twilio_auth_token')} is not set (see contactcenter up)")
        return 2
    path = args.path if args.path.startswith("/") else "/" + args.path
    try:
        form = webhook_form(
            path, args.params, settings.twilio_account_sid, settings.twilio_from_number
        )
    except ValueError as exc:
        print(exc)
        return 2
    url = settings.public_base_url.rstrip("/") + path
    signature = sign(token, url, form)
    print(f"POST {url}")
    print(f"X-Twilio-Signature: {signature}")
    print("&".join(f"{k}={v}" for k, v in form.items()))
    if not args.send:
        return 0
    status, body = asyncio.run(post(url, form, signature))
    print(f"→ {status} {body}")
    return 0 if status < 400 else 1
