"""Secrets in the settings never show in their text forms, and configuration errors and
start-up warnings about the Twilio token do not carry it (docs/security.md)."""

from __future__ import annotations

import logging

import pytest

from services.twilio_client import signature_check
from streams.platform.settings import ConfigurationError, Settings

SECRETS = {
    "DATABASE_URL": "postgresql://cc:pg-s3cret-pw@db.internal:5432/cc",
    "twilio_auth_token": "tw-s3cret-token",
    "smtp_relay_password": "smtp-s3cret-pw",
}


def test_the_settings_repr_and_dumps_hide_every_secret() -> None:
    settings = Settings(**SECRETS)  # type: ignore[arg-type]
    shown = [repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())]
    for text in shown:
        for secret in ("pg-s3cret-pw", "tw-s3cret-token", "smtp-s3cret-pw"):
            assert secret not in text
    assert settings.twilio_auth_token.get_secret_value() == "tw-s3cret-token"  # still usable


def test_the_missing_token_error_names_the_variables() -> None:
    with pytest.raises(ConfigurationError) as refused:
        signature_check(Settings(twilio_auth_token=""), "gateway")  # type: ignore[arg-type]
    assert "CC_TWILIO_AUTH_TOKEN" in str(refused.value)
    assert "CC_ALLOW_UNSIGNED_WEBHOOKS_FOR_DEVELOPMENT" in str(refused.value)
    assert Settings.env_name("twilio_auth_token") == "CC_TWILIO_AUTH_TOKEN"
    assert Settings.env_name("database_url") == "DATABASE_URL"


def test_the_development_flag_with_a_token_checks_signatures_and_never_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(
        twilio_auth_token="tw-s3cret-token",  # type: ignore[arg-type]
        allow_unsigned_webhooks_for_development=True,
    )
    with caplog.at_level(logging.DEBUG):
        check = signature_check(settings, "gateway")
    assert not check.unsigned
    assert not check.genuine("https://example.com/x", {"a": "b"}, "")
    assert "ignored" in caplog.text and "tw-s3cret-token" not in caplog.text
