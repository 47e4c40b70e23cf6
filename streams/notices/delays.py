"""Delay episodes of one shipment, and what to do when one opens, worsens or closes.

``decide(state, event, customer, policy, now)`` returns the new state and the decisions; it is
pure, deterministic and idempotent: the same event applied twice yields no second notice
(the state already reflects it), and events older than the last one applied are ignored.

Rule: a delay episode opens when the ETA is beyond the promised delivery by more than
``delay_threshold_hours``, or on a carrier exception. One notice per episode (level 1); a delay
``worse_by_hours`` beyond the last notified one notifies again (level 2, 3, ...). Delivery, or
an ETA back within the threshold with no open exception, closes the episode.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from schemas.shipments import (
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentEtaUpdated,
    ShipmentEvent,
    ShipmentException,
)
from streams.notices.policy import (
    Compensation,
    Customer,
    NoticePolicy,
    choose_channel,
    compensation_for,
    earliest_send_time,
    zone,
)


@dataclass(frozen=True)
class ShipmentState:
    shipment_id: str
    order_id: str = ""
    customer_id: str = ""
    pool_id: str | None = None
    promised: datetime | None = None
    eta: datetime | None = None
    exception: str | None = None
    exception_text: str = ""
    delivered: bool = False
    episode: int = 0  # episodes opened so far; the current one when ``open``
    open: bool = False
    level: int = 0  # notices decided in the current episode
    notified_delay_hours: float | None = None
    called_episode: int = 0  # the episode a VIP outbound call was created for
    last_event_at: datetime | None = None

    @property
    def delay_hours(self) -> float | None:
        if self.promised is None or self.eta is None:
            return None
        return (self.eta - self.promised).total_seconds() / 3600.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShipmentState:
        values = dict(data)
        for name in ("promised", "eta", "last_event_at"):
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name])
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class NoticeDecision:
    """Notify the customer about this episode (at level ``level``) at ``not_before``.
    ``channel`` None means no usable channel (no consent or no address): recorded, not sent."""

    notice_id: str
    reference: str
    channel: str | None
    customer_id: str
    shipment_id: str
    order_id: str
    episode: int
    level: int
    delay_hours: float | None
    reason: str
    compensation: Compensation | None
    subject: str
    body_text: str
    not_before: datetime
    deferred: bool


@dataclass(frozen=True)
class FlagCustomer:
    """Attach this to the customer so the next agent's screen pop shows it."""

    customer_id: str
    shipment_id: str
    episode: int
    text: str
    compensation: Compensation | None


@dataclass(frozen=True)
class OutboundCallTask:
    """A VIP with a severe delay: an agent calls them, routed like any VIP contact."""

    contact_id: str
    customer_id: str
    phone: str | None
    pool_id: str | None
    subject: str


@dataclass(frozen=True)
class EpisodeClosed:
    customer_id: str
    shipment_id: str
    episode: int
    reason: str


Decision = NoticeDecision | FlagCustomer | OutboundCallTask | EpisodeClosed


@dataclass(frozen=True)
class Outcome:
    state: ShipmentState
    decisions: list[Decision] = field(default_factory=list)
    ignored: str | None = None


def notice_key(shipment_id: str, episode: int, level: int, channel: str | None) -> str:
    """The idempotency key of a notice: shipment + delay episode (+ level) + channel."""
    return f"delay:{shipment_id}:{episode}:{level}:{channel or 'none'}"


def reference_for(notice_id: str) -> str:
    """A short code written into the message; also how a lost send is found again."""
    return "N" + hashlib.sha256(notice_id.encode()).hexdigest()[:10].upper()


def _apply(state: ShipmentState, event: ShipmentEvent) -> ShipmentState:
    state = replace(
        state,
        order_id=event.order_id,
        customer_id=event.customer_id,
        pool_id=event.pool_id or state.pool_id,
        last_event_at=event.occurred_at,
    )
    if isinstance(event, ShipmentCreated):
        return replace(state, promised=event.promised_delivery, eta=event.eta or state.eta)
    if isinstance(event, ShipmentEtaUpdated):
        recovered = state.exception is not None and _within(state.promised, event.eta)
        return replace(
            state,
            eta=event.eta,
            exception=None if recovered else state.exception,
            exception_text="" if recovered else state.exception_text,
        )
    if isinstance(event, ShipmentException):
        return replace(
            state,
            exception=event.code,
            exception_text=event.description,
            eta=event.eta or state.eta,
        )
    if isinstance(event, ShipmentDelivered):
        return replace(state, delivered=True)
    return state


def _within(promised: datetime | None, eta: datetime) -> bool:
    return promised is not None and eta <= promised


def decide(
    state: ShipmentState | None,
    event: ShipmentEvent,
    customer: Customer,
    policy: NoticePolicy,
    now: datetime,
) -> Outcome:
    if state is None:
        state = ShipmentState(shipment_id=event.shipment_id)
    if state.delivered:
        return Outcome(state, ignored="already delivered")
    if (
        state.last_event_at is not None
        and event.occurred_at < state.last_event_at
        and not isinstance(event, ShipmentDelivered)
    ):
        return Outcome(state, ignored="older than the last event applied")
    new = _apply(state, event)
    delay = new.delay_hours
    delayed = (delay is not None and delay > policy.delay_threshold_hours) or (
        new.exception is not None
    )
    decisions: list[Decision] = []
    if new.delivered or (new.open and not delayed):
        if new.open:
            reason = "delivered" if new.delivered else "recovered"
            decisions.append(EpisodeClosed(new.customer_id, new.shipment_id, new.episode, reason))
            new = replace(new, open=False)
        return Outcome(new, decisions)
    if not delayed:
        return Outcome(new)
    if not new.open:
        new = replace(new, episode=new.episode + 1, open=True, level=0, notified_delay_hours=None)
    worse = new.level == 0 or (
        delay is not None and delay >= (new.notified_delay_hours or 0.0) + policy.worse_by_hours
    )
    if not worse:
        return Outcome(new)
    new = replace(new, level=new.level + 1, notified_delay_hours=delay if delay else 0.0)
    effective = delay if delay is not None and delay > 0 else policy.exception_delay_hours
    if new.exception is not None:
        effective = max(effective, policy.exception_delay_hours)
    compensation = compensation_for(policy, customer.tier, effective)
    notice = _notice(new, customer, policy, now, delay, compensation)
    decisions.append(notice)
    decisions.append(
        FlagCustomer(
            customer.customer_id,
            new.shipment_id,
            new.episode,
            _flag_text(new, delay, compensation),
            compensation,
        )
    )
    if (
        customer.tier in policy.vip_tiers
        and effective >= policy.severe_delay_hours
        and new.called_episode != new.episode
    ):
        new = replace(new, called_episode=new.episode)
        decisions.append(
            OutboundCallTask(
                contact_id=f"outbound-{new.shipment_id}-{new.episode}",
                customer_id=customer.customer_id,
                phone=customer.phone,
                pool_id=new.pool_id,
                subject=f"Proactive call: order {new.order_id} delayed"
                f" ({_delay_words(delay, new)}); offer {_comp_words(compensation)}",
            )
        )
    return Outcome(new, decisions)


def _delay_words(delay: float | None, state: ShipmentState) -> str:
    parts = []
    if delay is not None and delay > 0:
        parts.append(f"{round(delay)} h late")
    if state.exception:
        parts.append(f"carrier exception {state.exception}")
    return ", ".join(parts) or "delayed"


def _comp_words(compensation: Compensation | None) -> str:
    return compensation.text if compensation else "no compensation"


def _flag_text(state: ShipmentState, delay: float | None, comp: Compensation | None) -> str:
    text = f"Order {state.order_id} (shipment {state.shipment_id}) delayed: "
    text += _delay_words(delay, state)
    if comp:
        text += f". Offered {comp.text}."
    return text


def _notice(
    state: ShipmentState,
    customer: Customer,
    policy: NoticePolicy,
    now: datetime,
    delay: float | None,
    compensation: Compensation | None,
) -> NoticeDecision:
    channel = choose_channel(customer)
    notice_id = notice_key(state.shipment_id, state.episode, state.level, channel)
    reference = reference_for(notice_id)
    not_before = earliest_send_time(now, customer, policy)
    reason = (
        f"carrier exception: {state.exception_text or state.exception}"
        if state.exception
        else "the carrier's new estimate is later than promised"
    )
    greeting = f"Hi {customer.name}," if customer.name else "Hello,"
    when = ""
    if state.eta is not None:
        local = state.eta.astimezone(zone(customer.time_zone))
        when = f" The new estimated delivery is {local:%a %d %b %Y, %H:%M} ({customer.time_zone})."
    body = (
        f"{greeting} your order {state.order_id} will arrive later than promised ({reason}).{when}"
    )
    if compensation:
        body += f" We're sorry: here is {compensation.text}, already on your account."
    body += f" Ref {reference}"
    return NoticeDecision(
        notice_id=notice_id,
        reference=reference,
        channel=channel,
        customer_id=customer.customer_id,
        shipment_id=state.shipment_id,
        order_id=state.order_id,
        episode=state.episode,
        level=state.level,
        delay_hours=delay,
        reason=reason,
        compensation=compensation,
        subject=f"Your order {state.order_id} is delayed",
        body_text=body,
        not_before=not_before,
        deferred=not_before > now,
    )
