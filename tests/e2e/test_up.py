"""``contactcenter up --seed`` starts the whole stack; a webhook signed by ``contactcenter
sign-webhook`` with the printed environment routes to a sample agent (an offer on the desk);
one SIGINT stops everything."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from services.gateway.chat_client import ChatCustomer
from services.runtime.prometheus import prometheus_binary
from tests.support.desk_client import AgentClient, offer_for
from tests.support.workers import eventually

pytestmark = pytest.mark.e2e


async def _read_until(stream: asyncio.StreamReader, marker: str, timeout: float) -> str:
    lines: list[str] = []

    async def read() -> None:
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError("up exited early:\n" + "".join(lines))
            lines.append(line)
            if marker in line:
                return

    await asyncio.wait_for(read(), timeout)
    return "".join(lines)


def _environment(banner: str) -> dict[str, str]:
    env = dict(os.environ)
    for line in banner.splitlines():
        line = line.strip()
        if line.startswith("export "):
            name, _, value = line[7:].partition("=")
            env[name] = shlex.split(value)[0] if value else ""
    return env


async def every_process_scraped(http: aiohttp.ClientSession, banner: str) -> None:
    """The Prometheus ``up`` started scrapes the worker, gateway, desk and notifier (each
    registered its own port) and has loaded the alert rules."""
    found = re.search(r"^Prometheus\s+(http://\S+)", banner, re.MULTILINE)
    assert found, banner
    api = f"{found.group(1)}/api/v1"
    healthy: dict[str, str] = {}

    async def all_up() -> bool:
        async with http.get(f"{api}/targets") as response:
            targets = (await response.json())["data"]["activeTargets"]
        healthy.clear()
        healthy.update({t["labels"]["job"]: t["health"] for t in targets})
        return healthy == dict.fromkeys(("worker", "gateway", "desk", "notifier"), "up")

    await eventually(all_up, 60, "Prometheus to scrape every process of the stack")
    async with http.get(f"{api}/rules") as response:
        groups = (await response.json())["data"]["groups"]
    assert any(r["name"] == "BrokerUnreachable" for g in groups for r in g["rules"])


async def test_up_seed_routes_a_signed_webhook_to_a_sample_agent(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    home = tmp_path / "up"
    up = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "up",
        "--seed",
        "--free-ports",
        "--dir",
        str(home),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert up.stdout is not None
    try:
        banner = await _read_until(up.stdout, "Ctrl-C stops everything", 120)
        assert "/twilio/voice" in banner and "/chat" in banner and "/metrics" in banner
        tokens = dict(re.findall(r"^\s+(agent-\d+)\s+(\S+)$", banner, re.MULTILINE))
        assert len(tokens) >= 2
        env = _environment(banner)
        assert (home / "logs" / "worker.log").exists() and (home / "env.sh").exists()
        if prometheus_binary() is not None:
            await every_process_scraped(http, banner)

        desk = f"http://127.0.0.1:{env['CC_DESK_PORT']}"
        agents = [await AgentClient(http, desk, a, t).start() for a, t in tokens.items()]
        for agent in agents:
            assert (await agent.call("POST", "/api/login"))[0] == 200
            assert (await agent.call("POST", "/api/state", {"state": "ready"}))[0] == 200
        for agent in agents:

            async def ready(a: AgentClient = agent) -> bool:
                changes = a.of("agent_state_changed")
                return bool(changes) and changes[-1]["state"] == "ready"

            await eventually(ready, 60, f"{agent.agent_id} ready")

        sign = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli",
            "sign-webhook",
            "--send",
            "/twilio/sms",
            "From=+15550000003",
            "Body=Where is my parcel?",
            "MessageSid=SMtest0001",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output = (await sign.communicate())[0].decode()
        assert sign.returncode == 0, output
        assert "X-Twilio-Signature:" in output and "→ 200" in output

        agent, offer = await offer_for(agents, "sms-SMtest0001", timeout=60)
        assert offer["channel"] == "sms"
        assert offer["customer"]["customer_id"] == "cust-0003"

        # the banner's signed identity makes a chat that sample customer's
        customer_id, signed = re.findall(r"ccChat\.identify\('([^']+)', '([0-9a-f]+)'\)", banner)[0]
        async with ChatCustomer(env["CC_PUBLIC_BASE_URL"]) as browser:
            assert (await browser.start(customer_id=customer_id, identity=signed))["known"]
            async with browser.socket() as ws:
                await ws.send_json({"type": "message", "text": "Hello from the banner", "id": "1"})
                ack = await ws.receive_json(timeout=15)
        _agent, offer = await offer_for(agents, ack["contact_id"], timeout=60)
        assert offer["customer"]["customer_id"] == customer_id
        for client in agents:
            await client.stop()
    finally:
        if up.returncode is None:
            os.kill(up.pid, signal.SIGINT)
        rest = (await asyncio.wait_for(up.stdout.read(), 60)).decode()
        await asyncio.wait_for(up.wait(), 30)
    assert up.returncode == 0, rest
    assert "stopped" in rest
