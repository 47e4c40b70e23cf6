"""Shipment events → delay episodes → notices, customer flags and VIP outbound-call tasks.

Per event, one transaction of the notice store: lock the shipment's episode state, run the
pure rules (``streams.notices.delays.decide``), store the new state, record the notices
(idempotency key unique), upsert the customer flag, and put the records to publish
(NoticeRequested on notices, ContactArrived on contacts) in the outbox; the outbox is
published after the commit, and again after a crash. A redelivered event finds the state
already applied and decides nothing new; a notice decided twice is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.contacts import Channel, ContactArrived, CustomerRef
from schemas.notices import NoticeRequested
from schemas.shipments import ShipmentEvent
from schemas.topics import CONTACTS, NOTICES
from streams.notices.delays import (
    Decision,
    EpisodeClosed,
    FlagCustomer,
    NoticeDecision,
    OutboundCallTask,
    decide,
)
from streams.notices.policy import Customer, NoticePolicy
from streams.notices.ports import NoticeStore

SHIPMENT_TYPES = frozenset(
    {"shipment_created", "shipment_eta_updated", "shipment_exception", "shipment_delivered"}
)


@dataclass(frozen=True)
class NoticeSettings:
    policy: NoticePolicy
    topic_prefix: str = ""
    default_pool_id: str = "default"


def notice_status(notice: NoticeDecision) -> str:
    if notice.channel is None:
        return "suppressed"
    return "deferred" if notice.deferred else "pending"


async def apply_shipment_event(
    store: NoticeStore, event: ShipmentEvent, settings: NoticeSettings, now: datetime
) -> list[Decision]:
    """Apply one event in one transaction; return the decisions taken."""
    async with store.shipment(event.shipment_id) as tx:
        customer = await tx.customer(event.customer_id) or Customer(event.customer_id)
        outcome = decide(await tx.state(), event, customer, settings.policy, now)
        if outcome.ignored:
            return []
        await tx.save_state(outcome.state, now)
        for decision in outcome.decisions:
            if isinstance(decision, NoticeDecision):
                status = notice_status(decision)
                new = await tx.add_notice(decision, cause_event_id=event.event_id, status=status)
                if new and decision.channel is not None:
                    topic = NOTICES.full_name(settings.topic_prefix)
                    record = notice_requested(decision, decision.channel, event.event_id, now)
                    await tx.publish_later(topic, decision.customer_id, record)
            elif isinstance(decision, FlagCustomer):
                await tx.flag_customer(decision, now)
            elif isinstance(decision, EpisodeClosed):
                await tx.resolve_flag(decision, now)
            elif isinstance(decision, OutboundCallTask):
                contact = outbound_call(decision, settings.default_pool_id, now)
                topic = CONTACTS.full_name(settings.topic_prefix)
                await tx.publish_later(topic, contact.contact_id, contact)
    return list(outcome.decisions)


def notice_requested(
    notice: NoticeDecision, channel: str, cause_event_id: str, now: datetime
) -> NoticeRequested:
    return NoticeRequested(
        event_id=f"{notice.notice_id}:requested",
        notice_id=notice.notice_id,
        customer_id=notice.customer_id,
        channel=channel,
        shipment_id=notice.shipment_id,
        order_id=notice.order_id,
        episode=notice.episode,
        level=notice.level,
        delay_hours=notice.delay_hours,
        reason=notice.reason,
        compensation=None if notice.compensation is None else notice.compensation.text,
        subject=notice.subject,
        body_text=notice.body_text,
        not_before=notice.not_before,
        cause_event_id=cause_event_id,
        occurred_at=now,
    )


def outbound_call(task: OutboundCallTask, default_pool_id: str, now: datetime) -> ContactArrived:
    """The VIP call task as a contact to route, like any VIP contact."""
    return ContactArrived(
        event_id=f"{task.contact_id}:arrived",
        pool_id=task.pool_id or default_pool_id,
        contact_id=task.contact_id,
        channel=Channel.VOICE,
        customer=CustomerRef(customer_id=task.customer_id, phone=task.phone),
        customer_class="vip",
        skills={"outbound": 1},
        subject=task.subject[:1000],
        arrived_at=now,
        occurred_at=now,
    )
