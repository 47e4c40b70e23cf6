"""Agents working through the desk's HTTP API: log in for their shift, take offers from the SSE
stream (accept; now and then reject or let one expire), reply on the contact's channel,
complete with a disposition, take a break, log out at the end of the shift."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import zlib
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from services.day.customers import Customers
from services.day.plan import Shift
from services.desk.client import DeskClient

log = logging.getLogger(__name__)

REJECT_SHARE = 0.03
IGNORE_SHARE = 0.01
DISPOSITIONS = ("resolved", "resolved", "resolved", "follow_up", "refund_offered", "escalated")
REPLIES = {
    "chat": "Thanks for waiting, let me look at your order.",
    "sms": "Hello, this is support: we are on it.",
    "email": "Hello, thank you for writing. We have refunded the duplicate charge.",
}


@dataclass
class DeskAgent:
    agent_id: str
    token: str
    desk_url: str
    http: aiohttp.ClientSession
    customers: Customers
    scale: float
    seed: int
    handled: int = 0
    rejected: int = 0
    ignored: int = 0
    on_break: bool = False
    on_shift: bool = False
    work: set[asyncio.Task[None]] = field(default_factory=set)
    desk: DeskClient = field(init=False)

    def __post_init__(self) -> None:
        self.desk = DeskClient(self.http, self.desk_url, self.token)

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return await self.desk.call(method, path, body)

    async def wait(self, day_seconds: float) -> None:
        await asyncio.sleep(max(0.0, day_seconds / self.scale))

    def _rng(self, key: str) -> random.Random:
        return random.Random(zlib.crc32(f"{self.seed}:{self.agent_id}:{key}".encode()))

    # ------------------------------------------------------------------ the shift
    async def work_shift(self, shift: Shift, day_clock: Any) -> None:
        """Log in at ``shift.login`` (day time), break, log out at ``shift.logout``."""
        await day_clock.until(shift.login)
        listener = asyncio.create_task(self._listen())
        try:
            await self.call("POST", "/api/login")
            self.on_shift = True
            await self.call("POST", "/api/state", {"state": "ready"})
            await day_clock.until(shift.break_at)
            self.on_break = True
            await self.call("POST", "/api/state", {"state": "not_ready", "reason": "break"})
            await self.wait(shift.break_length)
            self.on_break = False
            await self.call("POST", "/api/state", {"state": "ready"})
            await day_clock.until(shift.logout)
            self.on_shift = False
            await self.call("POST", "/api/state", {"state": "not_ready", "reason": "end_of_shift"})
            if self.work:
                await asyncio.wait(self.work)
            await self.call("POST", "/api/state", {"state": "logged_out"})
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        async for kind, event in self.desk.events():
            if kind == "offer":
                task = asyncio.create_task(self._guard(self.take(event["offer"])))
                self.work.add(task)
                task.add_done_callback(self.work.discard)
            elif kind == "agent_state_changed":
                record = event.get("record", {})
                # routing made the agent not ready (missed offers): back to ready
                if record.get("state") == "not_ready" and self.on_shift and not self.on_break:
                    reason = str(record.get("reason", ""))
                    if reason not in ("break", "end_of_shift"):
                        await self.call("POST", "/api/state", {"state": "ready"})

    async def _guard(self, job: Any) -> None:
        try:
            await job
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("%s: desk call failed: %r", self.agent_id, exc)

    # ------------------------------------------------------------------ one offer
    async def take(self, offer: dict[str, Any]) -> None:
        offer_id, contact_id = offer["offer_id"], offer["contact_id"]
        rng = self._rng(offer_id)
        choice = rng.random()
        if not self.on_shift or choice < REJECT_SHARE:
            self.rejected += 1
            await self.wait(rng.uniform(1, 4))
            await self.call("POST", f"/api/offers/{offer_id}/reject", {"reason": "busy"})
            return
        if choice < REJECT_SHARE + IGNORE_SHARE:
            self.ignored += 1  # the offer expires
            return
        await self.wait(rng.uniform(1, 3))
        status, body = await self.call("POST", f"/api/offers/{offer_id}/accept")
        line = self.customers.lines.get(contact_id)
        if status not in (200, 202):
            # e.g. the caller hung up as the call was being connected: when routing assigned
            # it anyway, the agent wraps it up
            if (await self.call("GET", f"/api/contacts/{contact_id}"))[0] == 200:
                await self.complete(contact_id, "customer_left", rng)
            return
        if line is not None:
            line.answered.set()
            if line.finished.is_set():  # gone already
                await self.complete(contact_id, "customer_left", rng)
                return
        channel = offer.get("channel", "")
        handle = self.customers.handle_time(contact_id, channel, rng)
        if channel in REPLIES:
            await self.wait(min(60.0, handle / 3))
            await self.call("POST", f"/api/contacts/{contact_id}/reply", {"text": REPLIES[channel]})
            await self.wait(handle * 2 / 3)
        else:
            await self.wait(handle)
        if channel == "voice" and line is not None:
            callback_sid = (
                body.get("call_sid") if line.callback and isinstance(body, dict) else None
            )
            await self.customers.hang_up(contact_id, callback_sid)
        await self.complete(contact_id, rng.choice(DISPOSITIONS), rng)
        if line is not None:
            line.finished.set()

    async def complete(self, contact_id: str, disposition: str, rng: random.Random) -> None:
        await self.wait(rng.uniform(10, 40))  # wrap-up
        await self.call(
            "POST", f"/api/contacts/{contact_id}/complete", {"disposition": disposition}
        )
        self.handled += 1
