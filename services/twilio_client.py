"""The one place that builds the official Twilio SDK client from the settings.

``twilio_api_base_url`` (e.g. ``http://127.0.0.1:8123``) sends every request meant for a
``*.twilio.com`` host to that base instead: a self-hosted proxy, or the local Twilio-shaped
server the tests use. The path, query, body and basic auth are unchanged, so the SDK's own
serialisation and error handling are what runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from streams.platform.settings import ConfigurationError, TwilioSettings

log = logging.getLogger(__name__)

# The SDK falls back to os.environ (TWILIO_*) when given an empty mapping; everything it needs
# comes from TwilioSettings, so hand it a mapping that is not empty and names nothing it reads.
_NO_ENVIRONMENT = {"CC_TWILIO": "settings"}


def rewrite_url(url: str, base_url: str | None) -> str:
    """``https://api.twilio.com/2010-04-01/...`` → ``{base_url}/2010-04-01/...``."""
    if not base_url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host != "twilio.com" and not host.endswith(".twilio.com"):
        return url
    base = urlsplit(base_url)
    path = base.path.rstrip("/") + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, parts.fragment))


class RebasedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's blocking HTTP client, sending Twilio requests to another base URL."""

    def __init__(self, base_url: str | None, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: object, **kwargs: object) -> Response:
        return super().request(method, rewrite_url(url, self.base_url), *args, **kwargs)


class AsyncRebasedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's asyncio HTTP client (aiohttp), sending Twilio requests to another base URL."""

    def __init__(self, base_url: str | None, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    async def request(self, method: str, url: str, *args: object, **kwargs: object) -> Response:
        if kwargs.get("timeout") is None:
            # the SDK passes None per request, which aiohttp reads as "no timeout at all"
            kwargs["timeout"] = self.timeout
        return await super().request(method, rewrite_url(url, self.base_url), *args, **kwargs)


def _client(
    settings: TwilioSettings, http_client: TwilioHttpClient | AsyncTwilioHttpClient
) -> Client:
    return Client(
        username=settings.twilio_account_sid,
        password=settings.twilio_auth_token.get_secret_value(),
        account_sid=settings.twilio_account_sid,
        http_client=http_client,
        environment=_NO_ENVIRONMENT,
    )


def make_twilio_client(settings: TwilioSettings, *, timeout: float | None = 10.0) -> Client:
    """A blocking SDK client (``client.messages.create(...)``)."""
    return _client(settings, RebasedHttpClient(settings.twilio_api_base_url, timeout))


def make_async_twilio_client(settings: TwilioSettings, *, timeout: float | None = 10.0) -> Client:
    """An asyncio SDK client (``await client.messages.create_async(...)``). It must be created
    inside the running event loop; close it with ``await client.http_client.close()``."""
    return _client(settings, AsyncRebasedHttpClient(settings.twilio_api_base_url, timeout))


class SignatureCheck:
    """X-Twilio-Signature on webhooks and status callbacks, checked with the SDK's
    ``RequestValidator`` over the URL Twilio called and the POST parameters. Without a
    validator (local development only) every request is taken as genuine."""

    def __init__(self, validator: RequestValidator | None) -> None:
        self._validator = validator

    @property
    def unsigned(self) -> bool:
        return self._validator is None

    def genuine(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        if self._validator is None:
            return True
        return bool(signature) and bool(self._validator.validate(url, dict(params), signature))


def signature_check(settings: TwilioSettings, service: str) -> SignatureCheck:
    """The signature check of ``service`` (the gateway, the notifier). Without an auth token
    the service must not start: a key of "" would let anyone sign requests. Only
    ``allow_unsigned_webhooks_for_development`` lets it start then, taking every request."""
    token = settings.twilio_auth_token.get_secret_value()
    flag = TwilioSettings.env_name("allow_unsigned_webhooks_for_development")
    if token:
        if settings.allow_unsigned_webhooks_for_development:
            log.warning("%s: %s is ignored, signatures are checked with the token", service, flag)
        return SignatureCheck(RequestValidator(token))
    if not settings.allow_unsigned_webhooks_for_development:
        raise ConfigurationError(
            f"{service}: {TwilioSettings.env_name('twilio_auth_token')} is not set, so Twilio's"
            " signatures cannot be checked and anyone could forge calls, messages and status"
            f" callbacks; set it to the account's auth token ({flag}=true accepts unsigned"
            " requests, for local development only)"
        )
    log.warning(
        "%s: ACCEPTING UNSIGNED TWILIO WEBHOOKS: %s is not set and %s is true; anyone who"
        " reaches this port can forge calls, messages and status callbacks. Local development"
        " only, never in production.",
        service,
        TwilioSettings.env_name("twilio_auth_token"),
        flag,
    )
    return SignatureCheck(None)
