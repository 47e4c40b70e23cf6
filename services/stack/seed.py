"""Sample data for a local run: customers (tiers, languages, phones, e-mails, chat ids, time
zones), agents with skills matching the IVR choices, and a desk token per agent."""

from __future__ import annotations

import contextlib
import json
import random
import secrets
from dataclasses import dataclass

import asyncpg

from services.admin.model import Change, NewAgent, Role
from services.admin.ports import AlreadyExists
from services.admin.service import hash_token
from services.admin.store_pg import PostgresAdminStore
from services.desk.auth import issue_token

LANGUAGES = (("en", 0.8), ("fr", 0.12), ("es", 0.08))
TIME_ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Taipei")
FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")


@dataclass(frozen=True)
class SampleCustomer:
    customer_id: str
    name: str
    tier: str
    language: str
    phone: str
    email: str
    chat_id: str
    time_zone: str
    preferred_channel: str


@dataclass(frozen=True)
class SampleAgent:
    agent_id: str
    name: str
    skills: dict[str, int]


def sample_customers(count: int, vip_share: float, seed: int) -> list[SampleCustomer]:
    rng = random.Random(seed)
    customers = []
    for n in range(count):
        language = rng.choices([code for code, _ in LANGUAGES], [w for _, w in LANGUAGES])[0]
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        customers.append(
            SampleCustomer(
                customer_id=f"cust-{n:04d}",
                name=name,
                tier="vip" if rng.random() < vip_share else "standard",
                language=language,
                phone=f"+1555{n:07d}",
                email=f"customer{n:04d}@example.com",
                chat_id=f"chat-{n:04d}",
                time_zone=rng.choice(TIME_ZONES),
                preferred_channel="email" if rng.random() < 0.4 else "sms",
            )
        )
    return customers


def sample_agents(count: int, ivr_skills: list[str], seed: int) -> list[SampleAgent]:
    """Agents who each know most of the IVR skills (proficiency 3 to 9); one in four speaks
    French, one in four Spanish (``lang_<code>`` skills, as the gateway asks for them), spread
    over the shifts; every other one makes outbound calls."""
    rng = random.Random(seed)
    agents = []
    for n in range(count):
        speaks = n % 4 in (1, 2)  # French or Spanish, below: they take every IVR choice
        skills = {
            skill: rng.randint(3, 9)
            for skill in ivr_skills
            if n < 2 or speaks or rng.random() < 0.8
        }
        if not skills:
            skills[ivr_skills[n % len(ivr_skills)]] = 5
        if n % 4 == 1:
            skills["lang_fr"] = rng.randint(5, 10)
        if n % 4 == 2:
            skills["lang_es"] = rng.randint(5, 10)
        if n % 2 == 0:  # takes the outbound-call tasks (a VIP's severe shipment delay)
            skills["outbound"] = 5
        agents.append(SampleAgent(f"agent-{n + 1:02d}", f"Agent {n + 1:02d}", skills))
    return agents


async def load_customers(pool: asyncpg.Pool, customers: list[SampleCustomer]) -> None:
    await pool.executemany(
        "INSERT INTO customers (customer_id, name, tier, language, phone, email, chat_id,"
        " time_zone, preferred_channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (customer_id) DO NOTHING",
        [
            (
                c.customer_id,
                c.name,
                c.tier,
                c.language,
                c.phone,
                c.email,
                c.chat_id,
                c.time_zone,
                c.preferred_channel,
            )
            for c in customers
        ],
    )


async def load_agents(
    pool: asyncpg.Pool, agents: list[SampleAgent], pool_id: str
) -> dict[str, str]:
    """Insert the agents into ``pool_id``; their new desk tokens by agent id."""
    tokens = {}
    for agent in agents:
        await pool.execute(
            "INSERT INTO agents (agent_id, pool_id, name, skills) VALUES ($1, $2, $3, $4::jsonb)"
            " ON CONFLICT (agent_id) DO UPDATE SET pool_id = EXCLUDED.pool_id,"
            " name = EXCLUDED.name, skills = EXCLUDED.skills",
            agent.agent_id,
            pool_id,
            agent.name,
            json.dumps(agent.skills),
        )
        tokens[agent.agent_id] = await issue_token(pool, agent.agent_id)
    return tokens


async def load_floor_staff(pool: asyncpg.Pool, pool_id: str) -> dict[str, str]:
    """A supervisor of ``pool_id`` and an admin, made through the admin store (audited as
    ``seed``); their new tokens by id."""
    store = PostgresAdminStore(pool)
    tokens = {}
    for new in (
        NewAgent(
            agent_id="supervisor-01",
            pool_id="ops",
            name="Supervisor 01",
            role=Role.SUPERVISOR,
            supervised_pools=[pool_id],
        ),
        NewAgent(agent_id="admin-01", pool_id="ops", name="Admin 01", role=Role.ADMIN),
    ):
        with contextlib.suppress(AlreadyExists):  # a second --seed on the same database
            await store.create_agent(new.profile(), Change(actor_id="seed", action="agent.create"))
        token = secrets.token_urlsafe(32)
        change = Change(actor_id="seed", action="token.issue")
        await store.set_token(new.agent_id, hash_token(token), change)
        tokens[new.agent_id] = token
    return tokens
