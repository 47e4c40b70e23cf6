"""The whole local stack as one supervised group: the local Twilio-shaped REST server and an
SMTP sink in this process; a streams worker, the gateway, the desk and the notifier as child
processes (``contactcenter worker|gateway|desk|notifier``), each logging to its own file.

Supervision: a child that exits while the stack runs is restarted (its log says so), at most
``MAX_RESTARTS`` times; one more exit stops the whole group (``StackFailed``). Stopping sends
SIGTERM to every child (SIGKILL after a grace period), then closes the in-process servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import logging
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import aiohttp
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr

from services.runtime.broker import free_port
from services.runtime.processes import start_command, stop
from services.runtime.twilio_local import TwilioApiServer
from streams.platform.settings import Settings

log = logging.getLogger(__name__)

CHILDREN = ("worker", "gateway", "desk", "notifier")
MAX_RESTARTS = 3
OUR_NUMBER = "+15550000000"


class StackFailed(RuntimeError):
    """A child kept exiting: the group was stopped."""


class SmtpSink:
    """The outbound relay of the local run: keeps every message (notices, e-mail replies) and
    appends it to ``mbox`` when given."""

    def __init__(self, mbox: Path | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.mbox = mbox
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        self.messages.append(parsed)
        if self.mbox is not None:
            with self.mbox.open("ab") as out:
                out.write(b"From sink " + time.asctime().encode() + b"\n" + content + b"\n")
        return "250 OK"

    async def start(self, port: int = 0) -> SmtpSink:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self), "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def port_or_free(port: int) -> int:
    """``port`` when it can be bound on 127.0.0.1, else a free one."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port


def stack_settings(
    settings: Settings, home: Path, *, free_ports: bool, twilio_auth_token: str | None = None
) -> Settings:
    """``settings`` for the local group: ports (the configured ones when free, or all fresh),
    URLs that point at them, a generated Twilio auth token, worker state under ``home``."""
    pick = free_port if free_ports else None

    def port(configured: int) -> int:
        return pick() if pick else port_or_free(configured)

    gateway, notifier = port(settings.gateway_port), port(settings.notifier_port)
    token = twilio_auth_token or secrets.token_hex(16)
    return settings.with_values(
        gateway_port=gateway,
        smtp_port=port(settings.smtp_port),
        desk_port=port(settings.desk_port),
        notifier_port=notifier,
        metrics_port=port(settings.metrics_port),
        notifier_metrics_port=port(settings.notifier_metrics_port),
        public_base_url=f"http://127.0.0.1:{gateway}",
        notifier_public_url=f"http://127.0.0.1:{notifier}",
        twilio_auth_token=SecretStr(token),
        # the local site's key for signed chat identities (sample customers chat as themselves)
        chat_identity_secret=settings.chat_identity_secret or SecretStr(secrets.token_hex(16)),
        twilio_from_number=settings.twilio_from_number or OUR_NUMBER,
        state_dir=str(home / "worker"),
    )


@dataclass
class Child:
    name: str
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0


@dataclass
class Stack:
    """Use ``async with Stack(settings, home)``; ``settings`` from ``stack_settings``."""

    settings: Settings
    home: Path
    twilio: TwilioApiServer = field(init=False)
    smtp: SmtpSink = field(init=False)
    children: dict[str, Child] = field(default_factory=dict)

    async def __aenter__(self) -> Stack:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.smtp = await SmtpSink(self.home / "sent-mail.mbox").start()
        self.twilio = await TwilioApiServer(
            account_sid=self.settings.twilio_account_sid,
            auth_token=self.settings.twilio_auth_token.get_secret_value(),
        ).start()
        self.settings = self.settings.with_values(
            twilio_api_base_url=self.twilio.base_url, smtp_relay_port=self.smtp.port
        )
        for name in CHILDREN:
            self.children[name] = Child(name, logs / f"{name}.log")
            self._spawn(self.children[name])
        try:
            await self.wait_ready()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(
            *(asyncio.to_thread(stop, c.process) for c in self.children.values() if c.process)
        )
        await self.twilio.stop()
        await self.smtp.stop()

    def _spawn(self, child: Child) -> None:
        child.process = start_command(child.name, self.settings, child.log_path)

    # ------------------------------------------------------------------ readiness
    def health_urls(self) -> dict[str, str]:
        s = self.settings
        return {
            "worker": f"http://127.0.0.1:{s.metrics_port}/healthz",
            "gateway": f"http://127.0.0.1:{s.gateway_port}/healthz",
            "desk": f"http://127.0.0.1:{s.desk_port}/healthz",
            "notifier": f"http://127.0.0.1:{s.notifier_metrics_port}/healthz",
        }

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Every child answers /healthz (and none exited meanwhile), and the worker has joined
        its group: it holds the routing partitions, so what is published now is routed."""
        deadline = time.monotonic() + timeout
        pending = dict(self.health_urls())
        routing = f"http://127.0.0.1:{self.settings.metrics_port}/metrics"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while pending:
                self.check_alive(restart=False)
                for name, url in list(pending.items()):
                    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                        async with http.get(routing if name == "routing" else url) as response:
                            text = await response.text()
                            if response.status == 200 and (name != "routing" or _routes(text)):
                                del pending[name]
                                if name == "worker":
                                    pending["routing"] = routing
                if pending and time.monotonic() > deadline:
                    raise StackFailed(f"not ready after {timeout:.0f} s: {', '.join(pending)}")
                await asyncio.sleep(0.2)

    # ------------------------------------------------------------------ supervision
    def check_alive(self, *, restart: bool = True) -> None:
        for child in self.children.values():
            code = child.process.poll() if child.process else None
            if code is None:
                continue
            if not restart or child.restarts >= MAX_RESTARTS:
                raise StackFailed(
                    f"{child.name} exited with {code} (restarted {child.restarts} times);"
                    f" see {child.log_path}"
                )
            child.restarts += 1
            log.warning("%s exited with %s; restarting it (%d)", child.name, code, child.restarts)
            with child.log_path.open("a") as out:
                out.write(f"\n--- exited with {code}; restart {child.restarts} ---\n")
            self._spawn(child)

    async def supervise(self, stopping: asyncio.Event, interval: float = 0.5) -> None:
        """Restart children that exit until ``stopping`` is set; raise ``StackFailed`` when one
        keeps exiting."""
        while not stopping.is_set():
            self.check_alive()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)


def _routes(metrics_page: str) -> bool:
    """The worker holds at least one routing partition (its assignment gauge)."""
    for line in metrics_page.splitlines():
        if line.startswith('contactcenter_assigned_partitions{topic="routing"}'):
            return float(line.rsplit(" ", 1)[1]) > 0
    return False
