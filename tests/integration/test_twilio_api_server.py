"""The local Twilio-shaped server answers the official SDK like Twilio does."""

from __future__ import annotations

import asyncio

import pytest
from twilio.base.exceptions import TwilioRestException

from services.twilio_client import (
    make_async_twilio_client,
    make_twilio_client,
    rewrite_url,
    signature_check,
)
from streams.platform.settings import Settings
from tests.support.twilio_api import TwilioApiServer, sign, twilio_api  # noqa: F401


def _settings(server: TwilioApiServer, token: str | None = None) -> Settings:
    return Settings(
        twilio_api_base_url=server.base_url,
        twilio_account_sid=server.account_sid,
        twilio_auth_token=token or server.auth_token,
    )


def test_rewrite_url() -> None:
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=%2B1"
    assert rewrite_url(url, None) == url
    assert (
        rewrite_url(url, "http://127.0.0.1:9/tw")
        == "http://127.0.0.1:9/tw/2010-04-01/Accounts/AC1/Messages.json?To=%2B1"
    )
    assert rewrite_url("https://example.com/x", "http://h") == "https://example.com/x"


async def test_messages_calls_and_errors(twilio_api: TwilioApiServer) -> None:  # noqa: F811
    twilio_api.opted_out.add("+15550000002")
    twilio_api.invalid.add("+1")
    client = make_async_twilio_client(_settings(twilio_api))
    try:
        message = await client.messages.create_async(
            to="+15550000001", from_="+15550009999", body="hello", status_callback="http://cb/x"
        )
        assert message.sid.startswith("SM") and message.status == "queued"
        assert twilio_api.created_messages()[0]["StatusCallback"] == "http://cb/x"
        with pytest.raises(TwilioRestException) as opted_out:
            await client.messages.create_async(to="+15550000002", from_="+1555", body="x")
        assert (opted_out.value.status, opted_out.value.code) == (400, 21610)
        with pytest.raises(TwilioRestException) as invalid:
            await client.messages.create_async(to="+1", from_="+1555", body="x")
        assert invalid.value.code == 21211
        twilio_api.fail_next(2, 503)
        for _ in range(2):
            with pytest.raises(TwilioRestException) as transient:
                await client.messages.create_async(to="+15550000001", from_="+1555", body="x")
            assert transient.value.status == 503
        listed = await client.messages.list_async(to="+15550000001", limit=10)
        assert [m.sid for m in listed] == [message.sid]
        call = await client.calls.create_async(
            to="+15550000001", from_="+1555", twiml="<Response/>"
        )
        assert call.sid.startswith("CA")
        updated = await client.calls(call.sid).update_async(
            twiml="<Response><Say>x</Say></Response>"
        )
        assert updated.sid == call.sid
        assert twilio_api.requests[-1].form["Twiml"].startswith("<Response>")
    finally:
        await client.http_client.close()
    blocking = make_twilio_client(_settings(twilio_api))
    fetched = await asyncio.to_thread(blocking.messages(message.sid).fetch)
    assert fetched.body == "hello"


async def test_basic_auth_is_checked(twilio_api: TwilioApiServer) -> None:  # noqa: F811
    client = make_async_twilio_client(_settings(twilio_api, token="wrong"))
    try:
        with pytest.raises(TwilioRestException) as denied:
            await client.messages.create_async(to="+15550000001", from_="+1555", body="x")
        assert denied.value.status == 401
        assert not twilio_api.messages
    finally:
        await client.http_client.close()


def test_sign_matches_the_sdk_validator() -> None:
    settings = Settings(twilio_auth_token="secret")
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signature = sign("secret", "https://example.com/cb?n=1", params)
    check = signature_check(settings, "test")
    assert check.genuine("https://example.com/cb?n=1", params, signature)
    assert not check.genuine("https://example.com/cb?n=2", params, signature)
    assert not check.genuine("https://example.com/cb?n=1", params, "")
