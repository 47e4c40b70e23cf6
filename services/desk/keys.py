"""The desk application's keys: its Desk, and the agent a request was authenticated as."""

from __future__ import annotations

from aiohttp import web

from services.desk.auth import Agent
from services.desk.desk import Desk

DESK: web.AppKey[Desk] = web.AppKey("desk", Desk)
AGENT: web.RequestKey[Agent] = web.RequestKey("agent", Agent)
