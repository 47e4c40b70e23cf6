"""A client of the desk's HTTP API with an agent's token: the calls, and the agent's event
stream (Server-Sent Events) decoded. For programs that work as agents: the working day's
simulated agents and the tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp


class DeskClient:
    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self.http = http
        self.base_url = base_url
        self.token = token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """The status and the decoded JSON answer (the text when it is not JSON)."""
        async with self.http.request(
            method, self.base_url + path, json=body, headers=self.headers
        ) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except json.JSONDecodeError:
                return response.status, text

    async def events(
        self, on_open: Callable[[], None] | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The agent's stream, one (event type, data) at a time; ``on_open`` once it is open."""
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with self.http.get(
            self.base_url + "/api/stream", headers=self.headers, timeout=timeout
        ) as response:
            response.raise_for_status()
            if on_open is not None:
                on_open()
            kind, data = None, []
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif not line and kind:
                    yield kind, json.loads("".join(data))
                    kind, data = None, []
