"""Shipment events → delay episodes → notices, customer flags and VIP outbound-call tasks.

Per event, one PostgreSQL transaction: lock the shipment's episode state, run the pure rules
(``streams.notices.delays.decide``), store the new state, insert the notices (idempotency key
unique), upsert the customer flag, and put the records to publish (NoticeRequested on notices,
ContactArrived on contacts) in an outbox; the outbox is published after the commit and again
after a crash. A redelivered event finds the state already applied and decides nothing new.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from schemas.base import utc_now
from schemas.codec import InvalidMessage, decode
from schemas.contacts import Channel, ContactArrived, CustomerRef
from schemas.notices import NoticeRequested
from schemas.shipments import ShipmentEvent
from schemas.topics import CONTACTS, NOTICES, SHIPMENTS
from services.notifier.outbox import add_to_outbox, publish_outbox
from services.notifier.service import insert_notice_row
from streams.notices.delays import (
    EpisodeClosed,
    FlagCustomer,
    NoticeDecision,
    OutboundCallTask,
    ShipmentState,
    decide,
)
from streams.notices.policy import Customer, NoticePolicy

log = logging.getLogger(__name__)

SHIPMENT_TYPES = frozenset(
    {"shipment_created", "shipment_eta_updated", "shipment_exception", "shipment_delivered"}
)


async def apply_shipment_event(
    conn: Any,
    event: ShipmentEvent,
    policy: NoticePolicy,
    now: datetime,
    *,
    topic_prefix: str = "",
    default_pool_id: str = "default",
) -> list[Any]:
    """Apply one event in one transaction; return the decisions taken."""
    from services import metrics
    from services.notifier.service import load_customer

    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT state FROM shipment_delays WHERE shipment_id = $1 FOR UPDATE",
            event.shipment_id,
        )
        state = None if row is None else ShipmentState.from_json(json.loads(row["state"]))
        customer = await load_customer(conn, event.customer_id) or Customer(event.customer_id)
        outcome = decide(state, event, customer, policy, now)
        if outcome.ignored:
            return []
        new = outcome.state
        await conn.execute(
            """
            INSERT INTO shipment_delays (shipment_id, customer_id, order_id, episode, open,
                                         state, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
            ON CONFLICT (shipment_id) DO UPDATE SET customer_id = $2, order_id = $3,
                episode = $4, open = $5, state = $6::jsonb, updated_at = $7
            """,
            new.shipment_id,
            new.customer_id,
            new.order_id,
            new.episode,
            new.open,
            json.dumps(new.to_json()),
            now,
        )
        for decision in outcome.decisions:
            if isinstance(decision, NoticeDecision):
                await _notice(conn, decision, event, now, topic_prefix)
            elif isinstance(decision, FlagCustomer):
                await conn.execute(
                    """
                    INSERT INTO customer_flags (customer_id, flag_id, kind, text, compensation,
                                                shipment_id, episode, created_at, updated_at)
                    VALUES ($1, $2, 'shipment_delay', $3, $4::jsonb, $5, $6, $7, $7)
                    ON CONFLICT (customer_id, flag_id) DO UPDATE SET text = $3,
                        compensation = $4::jsonb, episode = $6, updated_at = $7,
                        resolved_at = NULL
                    """,
                    decision.customer_id,
                    f"shipment_delay:{decision.shipment_id}",
                    decision.text,
                    _comp(decision.compensation),
                    decision.shipment_id,
                    decision.episode,
                    now,
                )
            elif isinstance(decision, EpisodeClosed):
                await conn.execute(
                    "UPDATE customer_flags SET resolved_at = $3, updated_at = $3"
                    " WHERE customer_id = $1 AND flag_id = $2 AND resolved_at IS NULL",
                    decision.customer_id,
                    f"shipment_delay:{decision.shipment_id}",
                    now,
                )
            elif isinstance(decision, OutboundCallTask):
                contact = ContactArrived(
                    event_id=f"{decision.contact_id}:arrived",
                    pool_id=decision.pool_id or default_pool_id,
                    contact_id=decision.contact_id,
                    channel=Channel.VOICE,
                    customer=CustomerRef(customer_id=decision.customer_id, phone=decision.phone),
                    customer_class="vip",
                    skills={"outbound": 1},
                    subject=decision.subject[:1000],
                    arrived_at=now,
                    occurred_at=now,
                )
                await add_to_outbox(
                    conn, CONTACTS.full_name(topic_prefix), contact.contact_id, contact
                )
    for decision in outcome.decisions:
        if isinstance(decision, NoticeDecision):
            outcome_label = (
                "suppressed"
                if decision.channel is None
                else ("deferred" if decision.deferred else "queued")
            )
            metrics.NOTICES.labels(channel=decision.channel or "none", outcome=outcome_label).inc()
    return list(outcome.decisions)


def _comp(compensation: Any) -> str | None:
    if compensation is None:
        return None
    return json.dumps({"percent": compensation.percent, "text": compensation.text})


async def _notice(
    conn: Any, d: NoticeDecision, event: ShipmentEvent, now: datetime, topic_prefix: str
) -> None:
    row = {
        "notice_id": d.notice_id,
        "reference": d.reference,
        "customer_id": d.customer_id,
        "shipment_id": d.shipment_id,
        "order_id": d.order_id,
        "episode": d.episode,
        "level": d.level,
        "channel": d.channel or "none",
        "subject": d.subject,
        "body_text": d.body_text,
        "delay_hours": d.delay_hours,
        "compensation": _comp(d.compensation),
        "cause_event_id": event.event_id,
    }
    status = "suppressed" if d.channel is None else "deferred" if d.deferred else "pending"
    inserted = await insert_notice_row(conn, row, status=status, not_before=d.not_before)
    if inserted and d.channel is not None:
        record = NoticeRequested(
            event_id=f"{d.notice_id}:requested",
            notice_id=d.notice_id,
            customer_id=d.customer_id,
            channel=d.channel,
            shipment_id=d.shipment_id,
            order_id=d.order_id,
            episode=d.episode,
            level=d.level,
            delay_hours=d.delay_hours,
            reason=d.reason,
            compensation=None if d.compensation is None else d.compensation.text,
            subject=d.subject,
            body_text=d.body_text,
            not_before=d.not_before,
            cause_event_id=event.event_id,
            occurred_at=now,
        )
        await add_to_outbox(conn, NOTICES.full_name(topic_prefix), d.customer_id, record)


def install(app: Any, deps: Any) -> None:
    """Register the shipments agent on the faust app."""
    from services.notifier.main import notice_policy

    settings = deps.settings
    policy = notice_policy(settings)
    shipments = deps.topic(SHIPMENTS)
    topics_by_name = {deps.topic_name(spec): deps.topic(spec) for spec in (CONTACTS, NOTICES)}

    async def send(topic: str, key: bytes | None, payload: bytes) -> None:
        await (await topics_by_name[topic].send(key=key, value=payload))

    @app.agent(shipments, name=f"{settings.app_id}-notices")  # type: ignore[untyped-decorator]
    async def notices_agent(stream: Any) -> None:
        async for event in stream.events():
            try:
                record = decode(event.value, SHIPMENT_TYPES)
            except InvalidMessage as exc:
                await deps.dead_letter(
                    exc.reason,
                    source_topic=event.message.topic,
                    payload=event.value,
                    key=event.key,
                    partition=event.message.partition,
                    offset=event.message.offset,
                )
                continue
            assert isinstance(record, ShipmentEvent)
            pool = await deps.db()
            async with pool.acquire() as conn:
                await apply_shipment_event(
                    conn,
                    record,
                    policy,
                    utc_now(),
                    topic_prefix=settings.topic_prefix,
                    default_pool_id=settings.notice_pool_id,
                )
            await publish_outbox(pool, send)
