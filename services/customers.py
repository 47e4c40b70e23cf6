"""Who is calling: the customer behind a phone number, e-mail address or chat id, from PostgreSQL.

The gateway asks on arrival (the tier decides the routing class; language and last agent go on
the ``ContactArrived``); the desk asks again for the screen pop (recent interactions across
channels, open shipment-delay notices). Unknown customers are standard.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

# the notices feature flags customers with an open shipment-delay notice in this table
FLAGS_TABLE = "customer_flags"
_CLOSED_MARKERS = ("cleared_at", "closed_at", "resolved_at", "acknowledged_at")


@dataclass(frozen=True)
class CustomerProfile:
    customer_id: str | None = None
    name: str | None = None
    tier: str = "standard"
    language: str = "en"
    phone: str | None = None
    email: str | None = None
    chat_id: str | None = None
    sms_consent: bool = True
    email_consent: bool = True
    last_agent_id: str | None = None
    last_agent_at: datetime | None = None

    @property
    def known(self) -> bool:
        return self.customer_id is not None

    def routing_class(self, classes: Mapping[str, float]) -> str:
        """The routing class: the tier when routing knows it as a class, else standard."""
        return self.tier if self.tier in classes else "standard"

    def keys(self) -> list[str]:
        """Every key the interaction log may file this customer's contacts under."""
        return [k for k in (self.customer_id, self.phone, self.email, self.chat_id) if k]

    def as_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "name": self.name,
            "tier": self.tier,
            "language": self.language,
            "phone": self.phone,
            "email": self.email,
            "chat_id": self.chat_id,
            "sms_consent": self.sms_consent,
            "email_consent": self.email_consent,
            "known": self.known,
            "last_agent_id": self.last_agent_id,
            "last_agent_at": self.last_agent_at.isoformat() if self.last_agent_at else None,
        }


@dataclass(frozen=True)
class CustomerContext:
    """What the agent sees about the customer when an offer pops."""

    profile: CustomerProfile
    recent: Sequence[dict[str, Any]] = field(default_factory=list)
    notices: Sequence[dict[str, Any]] = field(default_factory=list)


_COLUMNS = (
    "customer_id, name, tier, language, phone, email, chat_id, sms_consent, email_consent,"
    " last_agent_id, last_agent_at"
)


class CustomerDirectory:
    """Customer lookups and consent changes over an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, default_language: str = "en") -> None:
        self.pool = pool
        self.default_language = default_language

    async def find(
        self,
        *,
        customer_id: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        chat_id: str | None = None,
    ) -> CustomerProfile:
        """The customer with any of these identities; an unknown one is standard."""
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM customers WHERE customer_id = $1 OR phone = $2"
            " OR lower(email) = lower($3) OR chat_id = $4"
            " ORDER BY (customer_id = $1) DESC NULLS LAST, (phone = $2) DESC NULLS LAST LIMIT 1",
            customer_id,
            phone,
            email,
            chat_id,
        )
        if row is None:
            return CustomerProfile(
                phone=phone, email=email, chat_id=chat_id, language=self.default_language
            )
        return CustomerProfile(**dict(row))

    async def context(self, profile: CustomerProfile, limit: int = 5) -> CustomerContext:
        return CustomerContext(
            profile=profile,
            recent=await self.recent_interactions(profile, limit),
            notices=await self.open_notices(profile),
        )

    async def recent_interactions(
        self, profile: CustomerProfile, limit: int = 5
    ) -> list[dict[str, Any]]:
        """The customer's latest contacts on any channel, from the interaction log."""
        keys = profile.keys()
        if not keys:
            return []
        rows = await self.pool.fetch(
            "SELECT contact_id, channel, subject, status, agent_id, disposition,"
            " coalesce(arrived_at, queued_at) AS at FROM contacts"
            " WHERE customer_key = ANY($1::text[])"
            " ORDER BY coalesce(arrived_at, queued_at) DESC NULLS LAST LIMIT $2",
            keys,
            limit,
        )
        return [{**dict(r), "at": r["at"].isoformat() if r["at"] else None} for r in rows]

    async def open_notices(self, profile: CustomerProfile) -> list[dict[str, Any]]:
        """Open flags (e.g. a shipment-delay notice and its compensation) for the next agent."""
        if profile.customer_id is None:
            return []
        exists = await self.pool.fetchval("SELECT to_regclass($1) IS NOT NULL", FLAGS_TABLE)
        if not exists:
            return []
        rows = await self.pool.fetch(
            f"SELECT to_jsonb(f)::text AS flag FROM {FLAGS_TABLE} f WHERE f.customer_id = $1",
            profile.customer_id,
        )
        flags = [json.loads(r["flag"]) for r in rows]
        return [f for f in flags if _is_open(f)]

    async def set_sms_consent(self, phone: str, consent: bool) -> str:
        """Record SMS consent for a number (a customer row is created for an unknown number);
        returns the customer id."""
        customer_id = await self.pool.fetchval(
            "UPDATE customers SET sms_consent = $2, updated_at = now() WHERE phone = $1"
            " RETURNING customer_id",
            phone,
            consent,
        )
        if customer_id is not None:
            return str(customer_id)
        new_id = f"cust-{uuid.uuid4().hex[:12]}"
        stored = await self.pool.fetchval(
            "INSERT INTO customers (customer_id, phone, sms_consent, language)"
            " VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (phone) DO UPDATE SET sms_consent = EXCLUDED.sms_consent,"
            " updated_at = now() RETURNING customer_id",
            new_id,
            phone,
            consent,
            self.default_language,
        )
        return str(stored)


def _is_open(flag: Mapping[str, Any]) -> bool:
    if any(flag.get(marker) for marker in _CLOSED_MARKERS):
        return False
    status = str(flag.get("status") or "open").lower()
    return status not in {"closed", "cleared", "resolved", "done"}
