"""The operations endpoints of running processes: /healthz, /readyz, /metrics over HTTP."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from tests.support.workers import eventually


def get_json(port: int, path: str) -> tuple[int, Any]:
    """(status, JSON body) of ``GET http://127.0.0.1:port/path``; 4xx and 5xx included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def readiness(port: int) -> tuple[int, Any]:
    return await asyncio.to_thread(get_json, port, "/readyz")


async def wait_serving(port: int, what: str, timeout: float = 30) -> None:
    """Wait until the process answers its liveness probe."""

    async def serving() -> bool:
        try:
            return (await asyncio.to_thread(get_json, port, "/healthz"))[0] == 200
        except OSError:
            return False

    await eventually(serving, timeout, f"{what} to serve /healthz")


async def wait_readiness(port: int, status: int, what: str, timeout: float = 30) -> Any:
    """Wait until ``/readyz`` answers ``status``; return its body."""
    seen: list[Any] = []

    async def answers() -> bool:
        code, body = await readiness(port)
        seen[:] = [body]
        return code == status

    await eventually(answers, timeout, f"{what} /readyz {status}")
    return seen[0]
