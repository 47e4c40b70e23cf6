"""A small driver to write routing scenarios readably: it keeps the time and the log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from streams.routing.domain import (
    AgentLoggedIn,
    AgentReady,
    Channel,
    ContactArrived,
    ContactCompleted,
    Decision,
    OfferAccepted,
    OfferMade,
    PoolConfig,
    Router,
    RoutingInput,
    Tick,
)
from streams.routing.domain.model import AgentRecord, ContactRecord

T = TypeVar("T")

START = 1_700_000_000.0


class Pool:
    def __init__(self, config: PoolConfig | None = None, now: float = START) -> None:
        self.router = Router(config or PoolConfig(), "pool-1")
        self.now = now
        self.log: list[Decision] = []

    def send(self, event: RoutingInput, *, after: float = 0.0) -> list[Decision]:
        self.now += after
        out = self.router.handle(event, self.now)
        self.log.extend(out)
        return out

    def wait(self, seconds: float) -> None:
        self.now += seconds

    def agent(
        self,
        agent_id: str,
        skills: Mapping[str, int] | None = None,
        *,
        ready: bool = True,
        capacity: Mapping[Channel, int] | None = None,
    ) -> list[Decision]:
        out = self.send(AgentLoggedIn(agent_id, dict(skills or {}), capacity))
        if ready:
            out += self.send(AgentReady(agent_id))
        return out

    def contact(
        self,
        contact_id: str,
        channel: Channel = Channel.CHAT,
        customer_class: str = "standard",
        skills: Mapping[str, int] | None = None,
        *,
        after: float = 0.0,
        last_agent_id: str | None = None,
        last_agent_at: float | None = None,
    ) -> list[Decision]:
        event = ContactArrived(
            contact_id,
            channel,
            customer_class,
            dict(skills or {}),
            last_agent_id=last_agent_id,
            last_agent_at=last_agent_at,
        )
        return self.send(event, after=after)

    def tick(self, *, after: float = 0.0) -> list[Decision]:
        return self.send(Tick(), after=after)

    def busy(self, agent_id: str, contact_id: str, channel: Channel = Channel.VOICE) -> None:
        """Log in a ready agent and give it one accepted contact (exclusive on voice)."""
        self.agent(agent_id)
        offer = only(of_type(self.contact(contact_id, channel), OfferMade))
        assert offer.agent_id == agent_id
        self.send(OfferAccepted(offer.offer_id, agent_id))

    def free(self, agent_id: str, contact_id: str, *, after: float = 0.0) -> list[Decision]:
        return self.send(ContactCompleted(contact_id, agent_id, "done"), after=after)

    def contact_record(self, contact_id: str) -> ContactRecord:
        return self.router._contacts[contact_id]

    def agent_record(self, agent_id: str) -> AgentRecord:
        return self.router._agents[agent_id]


def of_type(decisions: list[Decision], kind: type[T]) -> list[T]:
    return [x for x in decisions if isinstance(x, kind)]


def only(items: list[T]) -> T:
    assert len(items) == 1, items
    return items[0]


def kinds(decisions: list[Decision]) -> list[str]:
    return [x.kind for x in decisions]
