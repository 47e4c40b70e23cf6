"""A day of contacts as interaction-log records: the shared input of the log's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas import agents as ag
from schemas import contacts as ct
from schemas import routing as rt
from schemas.base import Record
from streams import interaction_log as lw

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # an interval start (15-minute bins)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def entries(records: list[Record], topic: str = "interactions") -> list[lw.LogEntry]:
    return [lw.LogEntry(r, topic, 0, i) for i, r in enumerate(records)]


def day_of_contacts() -> list[Record]:
    """c1 vip voice: answered at 10 s after one decline, handled 100 s. c2 standard voice:
    answered at 30 s, handled 60 s. c3 standard voice: abandoned at 50 s. c4 standard sms from
    the same customer as c2 an hour later: answered at 5 s. Agent a1 ready from T0."""
    k = {"pool_id": "p1", "cause_event_id": "cause"}
    out: list[Record] = [
        rt.AgentStateChanged(agent_id="a1", state="ready", reason="login", occurred_at=T0, **k),
        rt.AgentStateChanged(agent_id="a2", state="ready", reason="login", occurred_at=T0, **k),
    ]

    def contact(cid: str, klass: str, channel: str, start: float, customer: str) -> None:
        out.append(
            ct.ContactArrived(
                pool_id="p1",
                contact_id=cid,
                channel=ct.Channel(channel),
                customer=ct.CustomerRef(customer_id=customer),
                customer_class="standard",  # the gateway's guess; routing's class wins
                occurred_at=at(start),
            )
        )
        out.append(
            rt.ContactQueued(
                contact_id=cid,
                customer_class=klass,
                channel=channel,
                priority=1.0,
                arrived_at=at(start),
                occurred_at=at(start),
                **k,
            )
        )

    def offer(cid: str, agent: str, attempt: int, t: float) -> rt.OfferMade:
        made = rt.OfferMade(
            offer_id=f"{cid}:{attempt}",
            contact_id=cid,
            agent_id=agent,
            attempt=attempt,
            expires_at=at(t + 20),
            explanation={"winner": agent, "score": attempt},
            occurred_at=at(t),
            **k,
        )
        out.append(made)
        return made

    contact("c1", "vip", "voice", 0, "cust-1")
    offer("c1", "a2", 1, 1)
    out.append(
        rt.OfferDeclined(offer_id="c1:1", contact_id="c1", agent_id="a2", occurred_at=at(3), **k)
    )
    out.append(
        rt.ContactRequeued(
            contact_id="c1", reason="declined", arrived_at=at(0), occurred_at=at(3), **k
        )
    )
    offer("c1", "a1", 2, 4)
    out.append(
        rt.ContactAssigned(
            contact_id="c1",
            agent_id="a1",
            offer_id="c1:2",
            waited_seconds=10,
            occurred_at=at(10),
            **k,
        )
    )
    out.append(
        rt.ContactReleased(
            contact_id="c1",
            agent_id="a1",
            disposition="resolved",
            handle_seconds=100,
            occurred_at=at(110),
            **k,
        )
    )
    contact("c2", "standard", "voice", 0, "cust-2")
    offer("c2", "a2", 1, 25)
    out.append(
        rt.ContactAssigned(
            contact_id="c2",
            agent_id="a2",
            offer_id="c2:1",
            waited_seconds=30,
            occurred_at=at(30),
            **k,
        )
    )
    out.append(
        rt.ContactReleased(
            contact_id="c2",
            agent_id="a2",
            disposition="sold",
            handle_seconds=60,
            occurred_at=at(90),
            **k,
        )
    )
    contact("c3", "standard", "voice", 5, "cust-3")
    out.append(ct.ContactAbandoned(pool_id="p1", contact_id="c3", occurred_at=at(55)))
    out.append(
        rt.ContactRemoved(
            contact_id="c3", reason="abandoned", waited_seconds=50, occurred_at=at(55), **k
        )
    )
    contact("c4", "standard", "sms", 3600, "cust-2")
    offer("c4", "a1", 1, 3601)
    out.append(
        rt.ContactAssigned(
            contact_id="c4",
            agent_id="a1",
            offer_id="c4:1",
            waited_seconds=5,
            occurred_at=at(3605),
            **k,
        )
    )
    out.append(
        rt.AgentStateChanged(
            agent_id="a1", state="logged_out", reason="logout", occurred_at=at(3700), **k
        )
    )
    out.append(
        rt.AgentStateChanged(
            agent_id="a2", state="logged_out", reason="logout", occurred_at=at(900), **k
        )
    )
    out.append(ag.AgentReady(pool_id="p1", agent_id="a1", occurred_at=T0))
    return out
