"""``contactcenter up``: the local broker and PostgreSQL, then the supervised group (worker,
gateway, desk, notifier, the Twilio-shaped REST server and an SMTP sink) and, when Debian's
``prometheus`` is installed, a Prometheus with the alert rules scraping every process of the
group (each registers its port in a target directory); prints every URL, the environment for
other shells and, with ``--seed``, sample data and desk tokens."""

from __future__ import annotations

import asyncio
import shlex
import shutil
from pathlib import Path

import asyncpg

from services.gateway.chat_sessions import identity_hash
from services.runtime.local import local_prometheus, local_runtime
from services.runtime.processes import stop_on_signals
from services.runtime.prometheus import PrometheusServer
from services.stack.seed import (
    load_agents,
    load_customers,
    load_floor_staff,
    sample_agents,
    sample_customers,
)
from services.stack.stack import Stack, StackFailed, stack_settings
from streams.platform.settings import Settings, child_environment

SEED_CUSTOMERS = 40
SEED_AGENTS = 6
SEED_VIP_SHARE = 0.2
# what another shell needs to talk to this stack (the rest keeps its defaults)
SHARED_FIELDS = (
    "kafka_bootstrap_servers",
    "database_url",
    "topic_prefix",
    "twilio_account_sid",
    "twilio_auth_token",
    "chat_identity_secret",
    "twilio_api_base_url",
    "twilio_from_number",
    "public_base_url",
    "gateway_port",
    "smtp_port",
    "desk_port",
    "notifier_port",
    "notifier_public_url",
    "smtp_relay_port",
    "prometheus_targets_dir",
)


def environment_lines(settings: Settings) -> list[str]:
    env = child_environment(settings)
    names = [
        "DATABASE_URL"
        if f == "database_url"
        else "KAFKA_BOOTSTRAP_SERVERS"
        if f == "kafka_bootstrap_servers"
        else f"CC_{f.upper()}"
        for f in SHARED_FIELDS
    ]
    return [f"export {name}={shlex.quote(env[name])}" for name in names if name in env]


def banner(stack: Stack, tokens: dict[str, str], prometheus: PrometheusServer | None = None) -> str:
    s = stack.settings
    gateway, desk = s.public_base_url, f"http://127.0.0.1:{s.desk_port}"
    lines = [
        "contactcenter is up",
        "",
        "Twilio webhooks (signed with the auth token below):",
        f"  voice          {gateway}/twilio/voice",
        f"  voice status   {gateway}/twilio/voice/status",
        f"  SMS            {gateway}/twilio/sms",
        f"  SMS status     {s.notifier_public_url}/twilio/sms-status  (notifier)",
        f"web chat page    {gateway}/chat   (WebSocket {gateway.replace('http', 'ws')}/chat/ws)",
        f"inbound e-mail   smtp://127.0.0.1:{s.smtp_port}",
        f"agent desk       {desk}/   (supervisors and admins sign in there too: the floor)",
        f"supervisor floor {desk}/supervisor   admin API {desk}/api/admin  ({desk}/openapi.json)",
        "metrics:",
        f"  worker         http://127.0.0.1:{s.metrics_port}/metrics",
        f"  gateway        {gateway}/metrics",
        f"  desk           {desk}/metrics",
        f"  notifier       http://127.0.0.1:{s.notifier_metrics_port}/metrics",
        (
            f"Prometheus       {prometheus.url}  (alert rules loaded; scrapes every process"
            f" registered in {stack.settings.prometheus_targets_dir})"
            if prometheus is not None
            else "Prometheus       not started (Debian's prometheus package is not installed)"
        ),
        f"Twilio-shaped REST API (where SMS and calls go)  {stack.twilio.base_url}",
        f"SMTP sink (outbound e-mail)  127.0.0.1:{stack.smtp.port}  → {stack.smtp.mbox}",
        f"logs             {stack.home / 'logs'}",
        f"Twilio auth token for this run: {s.twilio_auth_token.get_secret_value()}",
        "",
        "environment for other shells (also in " + str(stack.home / "env.sh") + "):",
        *(f"  {line}" for line in environment_lines(s)),
    ]
    if tokens:
        lines += ["", "desk tokens of the sample people (Authorization: Bearer <token>):"]
        lines += [f"  {agent}  {token}" for agent, token in tokens.items()]
        lines += chat_as_sample_customers(s)
    lines += [
        "",
        "send a signed test webhook (after the exports above):",
        "  contactcenter sign-webhook --send /twilio/sms From=+15550000001 Body=Hello",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def chat_as_sample_customers(settings: Settings) -> list[str]:
    """How to chat as a sample customer: the identity the shop's site would sign for them."""
    secret = settings.chat_identity_secret
    if secret is None:
        return []
    lines = ["", "chat as a sample customer (open the chat page, then in its console):"]
    for customer in sample_customers(SEED_CUSTOMERS, SEED_VIP_SHARE, seed=1)[:3]:
        signed = identity_hash(secret.get_secret_value(), customer.customer_id)
        lines.append(
            f"  {customer.name} ({customer.tier}, {customer.language}):"
            f"  ccChat.identify('{customer.customer_id}', '{signed}')"
        )
    return lines


async def seed(settings: Settings) -> dict[str, str]:
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=2)
    try:
        await load_customers(pool, sample_customers(SEED_CUSTOMERS, SEED_VIP_SHARE, seed=1))
        agents = sample_agents(SEED_AGENTS, sorted(set(settings.ivr_choices.values())), seed=1)
        tokens = await load_agents(pool, agents, settings.gateway_pool_id)
        tokens.update(await load_floor_staff(pool, settings.gateway_pool_id))
        return tokens
    finally:
        await pool.close()


async def _up(ready: Settings, home: Path, with_seed: bool, free_ports: bool) -> int:
    stopping = stop_on_signals()
    targets = home / "prometheus" / "targets"
    # every child registers its metrics port in the target directory while it runs
    settings = stack_settings(ready, home, free_ports=free_ports).with_values(
        prometheus_targets_dir=str(targets)
    )
    prometheus: PrometheusServer | None = None
    try:
        async with Stack(settings, home) as stack:
            prometheus = local_prometheus(stack.settings, home / "prometheus", targets)
            if prometheus is not None:
                await asyncio.to_thread(prometheus.start)
            tokens = await seed(stack.settings) if with_seed else {}
            (home / "env.sh").write_text("\n".join(environment_lines(stack.settings)) + "\n")
            print(banner(stack, tokens, prometheus), flush=True)
            await stack.supervise(stopping)
            print("stopping ...", flush=True)
    except StackFailed as exc:
        print(f"contactcenter up: {exc}; the group was stopped", flush=True)
        return 1
    finally:
        if prometheus is not None:
            prometheus.stop()
    print("stopped", flush=True)
    return 0


def run_up(settings: Settings, home: Path, *, with_seed: bool, free_ports: bool) -> int:
    """Data and logs under ``home``; PostgreSQL's data is fresh each run (the broker keeps its
    topics in memory, so stored routing offsets of an earlier run would not match)."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(home / "postgres", ignore_errors=True)
    shutil.rmtree(home / "prometheus", ignore_errors=True)  # no target of an earlier run
    print(f"starting the local broker and PostgreSQL (data and logs under {home}) ...", flush=True)
    with local_runtime(settings, data_dir=home / "postgres" / "pgdata") as ready:
        return asyncio.run(_up(ready, home, with_seed, free_ports))
