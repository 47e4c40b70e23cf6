"""Open chat sockets of this gateway by contact id, and the delivery of agent messages to
them (each once per socket)."""

from __future__ import annotations

import contextlib
from collections import deque
from typing import Any

from aiohttp import web

from schemas.contacts import ContactMessageSent


class ChatHub:
    """Open chat sockets by contact id; delivers each agent message once per socket."""

    def __init__(self) -> None:
        self.sockets: dict[str, set[web.WebSocketResponse]] = {}
        self.open: set[web.WebSocketResponse] = set()  # every socket, with a chat or not yet
        self._seen: deque[str] = deque(maxlen=10_000)
        self._seen_set: set[str] = set()

    def join(self, contact_id: str, socket: web.WebSocketResponse) -> None:
        self.sockets.setdefault(contact_id, set()).add(socket)

    def leave(self, contact_id: str, socket: web.WebSocketResponse) -> bool:
        """Forget the socket; True when it was the contact's last one here."""
        sockets = self.sockets.get(contact_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.sockets[contact_id]
        return contact_id not in self.sockets

    async def deliver(self, record: ContactMessageSent, agent_name: str | None = None) -> int:
        if record.event_id in self._seen_set:
            return 0
        if len(self._seen) == self._seen.maxlen:
            self._seen_set.discard(self._seen[0])
        self._seen.append(record.event_id)
        self._seen_set.add(record.event_id)
        payload = {
            "type": "message",
            "from": "agent",
            "agent_id": record.agent_id,
            "agent_name": agent_name or record.agent_id,
            "text": record.body,
            "id": record.message_id or record.event_id,
            "at": record.occurred_at.isoformat(),
        }
        return await self._send(record.contact_id, payload)

    async def notify(self, contact_id: str, frame: dict[str, Any]) -> int:
        """A frame of the moment (the agent typing) to the chat's sockets here."""
        return await self._send(contact_id, frame)

    async def end(self, contact_id: str, by: str) -> int:
        """The chat ended (``by`` the agent): tell its sockets here and forget them."""
        sent = await self._send(contact_id, {"type": "ended", "by": by})
        self.sockets.pop(contact_id, None)
        return sent

    async def close_all(self) -> None:
        """The gateway is stopping: close every socket (going away), so pages reconnect."""
        for socket in list(self.open):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await socket.close(code=1001, message=b"gateway stopping")

    async def _send(self, contact_id: str, payload: dict[str, Any]) -> int:
        sent = 0
        for socket in list(self.sockets.get(contact_id, ())):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await socket.send_json(payload)
                sent += 1
        return sent
