"""The local Twilio-shaped REST server (services/runtime/twilio_local.py) for tests: a fixture
and the notifier settings that point at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from services.runtime.twilio_local import (  # noqa: F401  (re-exported for tests)
    RecordedRequest,
    TwilioApiServer,
    error,
    sign,
    signed_headers,
)
from streams.platform.settings import Settings


@pytest.fixture
async def twilio_api() -> AsyncIterator[TwilioApiServer]:
    """Import this fixture into a test module to get a running server per test."""
    async with TwilioApiServer() as server:
        yield server


def notifier_settings(settings: Settings, twilio: TwilioApiServer, **more: object) -> Settings:
    """``settings`` with the notifier's Twilio client pointed at ``twilio``, no quiet hours
    and a fast poll (plus ``more``): notices go out as soon as they are due."""
    return settings.model_copy(
        update={
            "twilio_api_base_url": twilio.base_url,
            "twilio_account_sid": twilio.account_sid,
            "twilio_auth_token": SecretStr(twilio.auth_token),
            "twilio_from_number": "+15550009999",
            "notice_quiet_hours": "",
            "notifier_poll_interval": 0.2,
            **more,
        }
    )
