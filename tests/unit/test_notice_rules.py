"""The pure notice rules: delay episodes, channel choice, quiet hours, rate limit, compensation."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from schemas.shipments import (
    ShipmentCreated,
    ShipmentDelivered,
    ShipmentEtaUpdated,
    ShipmentEvent,
    ShipmentException,
)
from streams.notices.delays import (
    EpisodeClosed,
    FlagCustomer,
    NoticeDecision,
    OutboundCallTask,
    ShipmentState,
    decide,
)
from streams.notices.policy import (
    Customer,
    NoticePolicy,
    after_quiet_hours,
    choose_channel,
    compensation_for,
    earliest_send_time,
    rate_limit_release,
)

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PROMISED = NOON + timedelta(days=2)
POLICY = NoticePolicy()
ALICE = Customer("c1", phone="+15550001", email="a@example.com", name="Alice")
IDS = {"shipment_id": "s1", "order_id": "o1", "customer_id": "c1"}


def _at(minutes: int) -> datetime:
    return NOON + timedelta(minutes=minutes)


def run(
    events: list[ShipmentEvent], customer: Customer = ALICE, now: datetime = NOON
) -> tuple[ShipmentState | None, list[object]]:
    state: ShipmentState | None = None
    out: list[object] = []
    for event in events:
        outcome = decide(state, event, customer, POLICY, now)
        state = outcome.state
        out.extend(outcome.decisions)
    return state, out


def created() -> ShipmentCreated:
    return ShipmentCreated(**IDS, promised_delivery=PROMISED, occurred_at=_at(0))


def eta(hours_late: float, minute: int) -> ShipmentEtaUpdated:
    return ShipmentEtaUpdated(
        **IDS, eta=PROMISED + timedelta(hours=hours_late), occurred_at=_at(minute)
    )


def notices(decisions: list[object]) -> list[NoticeDecision]:
    return [d for d in decisions if isinstance(d, NoticeDecision)]


def test_small_delay_is_not_an_episode() -> None:
    _, decisions = run([created(), eta(3, 1)])
    assert decisions == []


def test_delay_opens_one_episode_with_one_notice_and_a_flag() -> None:
    state, decisions = run([created(), eta(10, 1), eta(12, 2), eta(10, 3)])
    [notice] = notices(decisions)
    assert notice.channel == "sms" and notice.episode == 1 and notice.level == 1
    assert notice.notice_id == "delay:s1:1:1:sms"
    assert notice.reference in notice.body_text and "o1" in notice.body_text
    assert not notice.deferred and notice.not_before == NOON
    assert [type(d) for d in decisions] == [NoticeDecision, FlagCustomer]
    assert state is not None and state.open


def test_duplicate_and_stale_events_change_nothing() -> None:
    late = eta(10, 1)
    state, decisions = run([created(), late, late, created()])
    assert len(notices(decisions)) == 1
    assert state is not None and state.eta == late.eta


def test_markedly_worse_notifies_again_and_recovery_closes() -> None:
    _state, decisions = run([created(), eta(10, 1), eta(40, 2), eta(1, 3), eta(20, 4)])
    found = notices(decisions)
    assert [(n.episode, n.level) for n in found] == [(1, 1), (1, 2), (2, 1)]
    closed = [d for d in decisions if isinstance(d, EpisodeClosed)]
    assert [(c.episode, c.reason) for c in closed] == [(1, "recovered")]


def test_exception_opens_and_delivery_closes() -> None:
    exc = ShipmentException(**IDS, code="CUSTOMS", description="held", occurred_at=_at(1))
    done = ShipmentDelivered(**IDS, delivered_at=_at(9), occurred_at=_at(9))
    state, decisions = run([created(), exc, done, eta(50, 10)])
    [notice] = notices(decisions)
    assert "held" in notice.reason
    assert isinstance(decisions[-1], EpisodeClosed) and decisions[-1].reason == "delivered"
    assert state is not None and state.delivered and not state.open


def test_vip_severe_delay_gets_one_outbound_call_and_compensation() -> None:
    vip = Customer("c1", tier="vip", phone="+15550001")
    _, decisions = run([created(), eta(50, 1), eta(80, 2)], customer=vip)
    calls = [d for d in decisions if isinstance(d, OutboundCallTask)]
    assert [c.contact_id for c in calls] == ["outbound-s1-1"]
    assert "20% off" in notices(decisions)[0].body_text
    assert "30% off" in notices(decisions)[1].body_text


def test_state_round_trips_through_json() -> None:
    state, _ = run([created(), eta(10, 1)])
    assert state is not None
    assert ShipmentState.from_json(state.to_json()) == state


def test_channel_by_preference_and_consent() -> None:
    assert choose_channel(ALICE) == "sms"
    assert choose_channel(Customer("c", phone="+1", email="e@x", preferred_channel="email")) == (
        "email"
    )
    opted_out = Customer("c", phone="+1", email="e@x", sms_consent=False)
    assert choose_channel(opted_out) == "email"
    assert choose_channel(Customer("c", phone="+1", sms_consent=False)) is None
    assert (
        choose_channel(
            Customer("c", phone="+1", email="e@x", email_consent=False, preferred_channel="email")
        )
        == "sms"
    )


def test_quiet_hours_in_the_customer_time_zone() -> None:
    # 03:30 UTC is 22:30 in New York (EST, UTC-5): quiet until 08:00 local = 13:00 UTC
    night = datetime(2026, 1, 15, 3, 30, tzinfo=UTC)
    start, end = time(21), time(8)
    assert after_quiet_hours(night, "America/New_York", start, end) == datetime(
        2026, 1, 15, 13, 0, tzinfo=UTC
    )
    # 04:30 in Berlin (UTC+1) is quiet too: deferred to 08:00 local = 07:00 UTC
    assert after_quiet_hours(night, "Europe/Berlin", start, end) == datetime(
        2026, 1, 15, 7, 0, tzinfo=UTC
    )
    # 19:30 in Tokyo (UTC+9) is not quiet
    evening = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    assert after_quiet_hours(evening, "Asia/Tokyo", start, end) == evening
    assert after_quiet_hours(NOON, "Not/AZone", start, end) == NOON


def test_quiet_hours_defer_the_notice() -> None:
    night = datetime(2026, 1, 15, 3, 30, tzinfo=UTC)
    ny = Customer("c1", phone="+1", time_zone="America/New_York")
    _, decisions = run([created(), eta(10, 1)], customer=ny, now=night)
    [notice] = notices(decisions)
    assert notice.deferred and notice.not_before == datetime(2026, 1, 15, 13, 0, tzinfo=UTC)


def test_rate_limit() -> None:
    window = timedelta(hours=24)
    sent = [NOON - timedelta(hours=h) for h in (1, 2, 30)]
    assert rate_limit_release(sent, NOON, 3, window) is None
    assert rate_limit_release([*sent[:2], NOON - timedelta(hours=3)], NOON, 3, window) == (
        NOON + timedelta(hours=21)
    )
    busy = [NOON - timedelta(hours=h) for h in (1, 2, 3)]
    moment = earliest_send_time(NOON, ALICE, POLICY, busy)
    assert moment == NOON + timedelta(hours=21)  # 09:00 UTC next day, outside quiet hours


def test_compensation_by_tier_and_delay() -> None:
    assert compensation_for(POLICY, "standard", 10) is None
    comp = compensation_for(POLICY, "standard", 30)
    assert comp is not None and comp.percent == 5
    vip = compensation_for(POLICY, "vip", 100)
    assert vip is not None and vip.percent == 30
    rules = NoticePolicy.compensation_from_mapping({"gold": {"0": 3, "12": 7}})
    policy = NoticePolicy(compensation=rules)
    gold = compensation_for(policy, "gold", 12)
    assert gold is not None and gold.percent == 7
