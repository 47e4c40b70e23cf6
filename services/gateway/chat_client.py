"""A web-chat customer as a program (the day's simulated customers, the tests): a browser's
cookie jar of its own, which holds the session's secret, and the chat socket."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import aiohttp

from services.gateway.chat_sessions import identity_hash


class ChatCustomer:
    """One browser: ``start`` a session (anonymous, or as a customer the site signed), then
    ``socket()``; ``resume`` is a page load (the secret rotates)."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        # unsafe: keep cookies of an IP address host (the local gateway is 127.0.0.1)
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.http.close()

    async def start(
        self,
        *,
        name: str | None = None,
        email: str | None = None,
        customer_id: str | None = None,
        site_secret: str | None = None,
        identity: str | None = None,
    ) -> dict[str, Any]:
        """Open a session; with ``customer_id`` and the site's secret (or the ``identity`` hash
        the site computed with it), as that customer."""
        body: dict[str, Any] = {"name": name, "email": email}
        if customer_id is not None:
            body["customer_id"] = customer_id
            body["identity_hash"] = identity or identity_hash(site_secret or "", customer_id)
        async with self.http.post(self.base + "/chat/sessions", json=body) as answer:
            answer.raise_for_status()
            result: dict[str, Any] = await answer.json()
            return result

    async def resume(self) -> dict[str, Any]:
        async with self.http.post(self.base + "/chat/session/resume") as answer:
            answer.raise_for_status()
            result: dict[str, Any] = await answer.json()
            return result

    def socket(self) -> Any:
        """``async with customer.socket() as ws``: the chat's WebSocket."""
        return self.http.ws_connect(self.base + "/chat/ws")

    def secret(self) -> str | None:
        """The cookie's value, for tests that play a second browser that stole nothing."""
        for cookie in self.http.cookie_jar:
            if cookie.key == "cc_chat":
                return cookie.value
        return None
