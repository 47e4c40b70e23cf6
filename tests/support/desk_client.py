"""An agent's side of the desk in tests: the SSE stream collected in the background, and calls."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp

from services.desk.client import DeskClient
from tests.support.workers import eventually


class AgentClient:
    def __init__(self, http: aiohttp.ClientSession, base_url: str, agent_id: str, token: str):
        self.desk = DeskClient(http, base_url, token)
        self.http = http
        self.base_url = base_url
        self.agent_id = agent_id
        self.token = token
        self.events: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    @property
    def headers(self) -> dict[str, str]:
        return self.desk.headers

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return await self.desk.call(method, path, body)

    async def start(self) -> AgentClient:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._connected.wait(), 10)
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        async for kind, data in self.desk.events(on_open=self._connected.set):
            self.events.append({"event": kind, **data})

    def offers(self, contact_id: str | None = None) -> list[dict[str, Any]]:
        return [
            e["offer"]
            for e in self.events
            if e["event"] == "offer" and contact_id in (None, e["offer"]["contact_id"])
        ]

    def of(self, event: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e["record"]
            for e in self.events
            if e["event"] == event and all(e["record"].get(k) == v for k, v in match.items())
        ]


async def offer_for(
    agents: list[AgentClient], contact_id: str, timeout: float = 30
) -> tuple[AgentClient, dict[str, Any]]:
    """The agent who got the first offer of ``contact_id``, and the offer with its screen pop."""

    async def offered() -> bool:
        return any(a.offers(contact_id) for a in agents)

    await eventually(offered, timeout, f"an offer of {contact_id}", interval=0.1)
    agent = next(a for a in agents if a.offers(contact_id))
    return agent, agent.offers(contact_id)[0]
