"""The dashboards and the alert rules on a real Prometheus.

A worker, a gateway, a desk and a notifier run as real processes on the local broker and
PostgreSQL, with a Prometheus (started here, scraping them every second) and a short load with
known outcomes: VIP calls abandoned and answered late, standard chats answered in time, SMS
notices of which two fail, undecodable contact events that are dead-lettered, a satisfaction
survey sent by SMS and answered. Then every query
of every provisioned dashboard runs: PromQL through Prometheus's HTTP API, SQL against the same
database. No query fails, every panel shows data, and the values agree with the outcomes and
with the interaction log where they can be checked; the alert rules load and evaluate.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import yaml
from aiokafka import AIOKafkaProducer

from schemas import agents as ag
from schemas import contacts as ct
from schemas.shipments import ShipmentCreated, ShipmentEtaUpdated
from schemas.topics import AGENT_EVENTS, CONTACTS, OFFERS, SHIPMENTS
from services.bus import Bus, TopicReader, open_bus
from services.runtime.broker import free_port
from services.runtime.processes import start_command, stop
from services.runtime.prometheus import PrometheusServer, prometheus_binary, values
from streams.interaction_log.sql import SERVICE_LEVEL_NOW
from streams.platform.metrics import HANDLE_BUCKETS
from streams.platform.settings import Settings
from tests.support.agents_at_work import answer_offers
from tests.support.channels import post_webhook
from tests.support.dashboards import ROOT, Query, queries
from tests.support.ops import wait_serving
from tests.support.twilio_api import TwilioApiServer, notifier_settings
from tests.support.workers import eventually

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        prometheus_binary() is None,
        reason="prometheus is not installed: run scripts/install-test-deps.sh",
    ),
]

POOL = "ops"
VIP_CALLS = 4  # the last two hang up before any agent is ready
VIP_ABANDONED = 2
STANDARD_CHATS = 2
VIP_THRESHOLD_SECONDS = 2  # VIP answered only after AGENTS_LATE: none within the threshold
AGENTS_LATE = 3.0
SENT_NOTICES = 4
FAILED_NOTICES = 2  # invalid numbers: Twilio refuses them (21211)
UNDECODABLE = 3
SUPPRESSED_NOTICES = 2  # customers with no phone: no channel allowed, channel label "none"
WAITING = {"ops-b": 3, "ops-c": 3}  # standard e-mails in pools without agents: they wait
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
SURVEYED = "+15550020000"  # a customer whose completed contact gets a survey, answered 4


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioApiServer]:
    async with TwilioApiServer() as server:
        yield server


@contextmanager
def the_processes(settings: Settings, logs: Path) -> Iterator[dict[str, int]]:
    """Worker, gateway, desk and notifier as child processes; job → the port of /metrics."""
    ports = {job: free_port() for job in ("worker", "gateway", "desk", "notifier")}
    notifier_port = free_port()
    overrides: dict[str, dict[str, object]] = {
        "worker": {"metrics_port": ports["worker"]},
        "gateway": {"gateway_port": ports["gateway"], "smtp_port": 0},
        "desk": {"desk_port": ports["desk"]},
        "notifier": {
            "notifier_metrics_port": ports["notifier"],
            "notifier_port": notifier_port,
            "notifier_public_url": f"http://127.0.0.1:{notifier_port}",
        },
    }
    with ExitStack() as stack:
        for job, values_ in overrides.items():
            process = start_command(job, settings, logs / f"{job}.log", **values_)
            stack.callback(stop, process)
        yield ports


async def seed(db: asyncpg.Connection, twilio: TwilioApiServer) -> None:
    await db.execute(
        "UPDATE service_level_targets SET threshold_seconds = $1 WHERE customer_class = 'vip'",
        VIP_THRESHOLD_SECONDS,
    )
    for i in range(SENT_NOTICES + FAILED_NOTICES):
        phone = f"+1555010{i:04d}"
        if i >= SENT_NOTICES:
            twilio.invalid.add(phone)
        await db.execute(
            "INSERT INTO customers (customer_id, tier, phone) VALUES ($1, 'standard', $2)",
            f"n{i}",
            phone,
        )
    for i in range(SUPPRESSED_NOTICES):
        await db.execute(
            "INSERT INTO customers (customer_id, tier) VALUES ($1, 'standard')", f"x{i}"
        )


async def survey_answered(
    db: asyncpg.Connection, http: aiohttp.ClientSession, gateway_port: int,
    twilio: TwilioApiServer, settings: Settings,
) -> None:  # fmt: skip
    """A survey planned as the desk plans one at completion; the notifier sends it by SMS and
    the customer's reply reaches the gateway."""
    await db.execute(
        "INSERT INTO customers (customer_id, tier, phone) VALUES ('surveyed', 'vip', $1)", SURVEYED
    )
    await db.execute(
        "INSERT INTO csat_surveys (contact_id, channel, address, customer_id, customer_class,"
        " agent_id, reason, status, answer_token, not_before)"
        " VALUES ('v0', 'sms', $1, 'surveyed', 'vip', 'a1', 'none', 'pending', 't', now())",
        SURVEYED,
    )

    async def sent() -> bool:
        return await db.fetchval("SELECT status FROM csat_surveys") == "sent"

    await eventually(sent, 30, "the survey to be sent")
    params = {
        "AccountSid": twilio.account_sid,
        "MessageSid": "SMsurvey",
        "From": SURVEYED,
        "To": settings.twilio_from_number,
        "Body": "4 thanks",
        "NumMedia": "0",
    }
    base = f"http://127.0.0.1:{gateway_port}"
    status, _ = await post_webhook(
        http, base, "/twilio/sms", params, twilio.auth_token, public_base=settings.public_base_url
    )
    assert status == 200


async def delayed_shipments(bus: Bus) -> None:
    now = datetime.now(UTC)
    promised = now + timedelta(days=1)
    customers = [f"n{i}" for i in range(SENT_NOTICES + FAILED_NOTICES)]
    customers += [f"x{i}" for i in range(SUPPRESSED_NOTICES)]
    for i, customer in enumerate(customers):
        ids = {"shipment_id": f"s{i}", "order_id": f"o{i}", "customer_id": customer}
        for event in (
            ShipmentCreated(**ids, promised_delivery=promised, occurred_at=now),
            ShipmentEtaUpdated(**ids, eta=promised + timedelta(hours=30), occurred_at=now),
        ):
            await bus.publish(SHIPMENTS, event.shipment_id, event)


async def undecodable_contacts(settings: Settings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        for i in range(UNDECODABLE):
            await producer.send_and_wait(
                CONTACTS.full_name(settings.topic_prefix), key=f"bad{i}".encode(), value=b"{oops"
            )
    finally:
        await producer.stop()


async def contacts_and_agents(bus: Bus, offers: TopicReader) -> None:
    arrivals = [(f"v{i}", ct.Channel.VOICE, "vip") for i in range(VIP_CALLS)] + [
        (f"s{i}", ct.Channel.CHAT, "standard") for i in range(STANDARD_CHATS)
    ]
    for agent in ("a1", "a2"):
        await bus.publish(AGENT_EVENTS, agent, ag.AgentLoggedIn(pool_id=POOL, agent_id=agent))
    for contact, channel, klass in arrivals:
        await bus.publish(
            CONTACTS,
            contact,
            ct.ContactArrived(
                pool_id=POOL,
                contact_id=contact,
                channel=channel,
                customer_class=klass,
                customer=ct.CustomerRef(customer_id=f"cust-{contact}"),
            ),
        )
    for pool, count in WAITING.items():
        for i in range(count):
            contact = f"{pool}-e{i}"
            waiting = ct.ContactArrived(pool_id=pool, contact_id=contact, channel=ct.Channel.EMAIL)
            await bus.publish(CONTACTS, contact, waiting)
    for i in range(VIP_CALLS - VIP_ABANDONED, VIP_CALLS):
        await bus.publish(CONTACTS, f"v{i}", ct.ContactAbandoned(pool_id=POOL, contact_id=f"v{i}"))
    await asyncio.sleep(AGENTS_LATE)
    for agent in ("a1", "a2"):
        await bus.publish(AGENT_EVENTS, agent, ag.AgentReady(pool_id=POOL, agent_id=agent))
    answered = VIP_CALLS - VIP_ABANDONED + STANDARD_CHATS
    await answer_offers(bus, offers, POOL, answered, handle_seconds=1.5)


LOGGED = """
SELECT count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'abandoned') AS abandoned,
       (SELECT count(*) FROM notices WHERE status = 'sent') AS sent,
       (SELECT count(*) FROM notices WHERE status = 'failed') AS failed,
       (SELECT count(*) FROM interaction_events WHERE topic = 'dead-letter') AS dead_letters,
       (SELECT count(*) FROM csat_surveys WHERE status = 'answered') AS surveys_answered,
       (SELECT count(*) FROM notices WHERE status = 'suppressed') AS suppressed,
       (SELECT count(*) FROM routing_contacts WHERE status = 'waiting') AS waiting
FROM contacts
"""
OUTCOMES = {
    "completed": VIP_CALLS - VIP_ABANDONED + STANDARD_CHATS,
    "abandoned": VIP_ABANDONED,
    "sent": SENT_NOTICES,
    "failed": FAILED_NOTICES,
    "dead_letters": UNDECODABLE,
    "surveys_answered": 1,
    "suppressed": SUPPRESSED_NOTICES,
    "waiting": sum(WAITING.values()),
}


async def until_logged(db: asyncpg.Connection, timeout: float = 60) -> None:
    """Wait until the interaction log and the notices hold every known outcome."""
    seen: dict[str, int] = {}

    async def logged() -> bool:
        seen.update(dict(await db.fetchrow(LOGGED)))
        return seen == OUTCOMES

    try:
        await eventually(logged, timeout, "the interaction log and the notices")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: expected {OUTCOMES}, found {seen}") from None


def finite(result: list[dict[str, Any]]) -> list[float]:
    return [v for v in values(result).values() if math.isfinite(v)]


def by(result: list[dict[str, Any]], *labels: str) -> dict[tuple[str, ...], float]:
    return {
        tuple(dict(key)[label] for label in labels): value for key, value in values(result).items()
    }


def the(found: list[Query], panel: str, ref: str = "A") -> Query:
    """The query ``ref`` of the one panel whose title starts with ``panel``."""
    [query] = [q for q in found if q.panel.startswith(panel) and q.ref == ref]
    return query


async def test_every_dashboard_query_answers_on_a_real_prometheus(
    settings: Settings, twilio: TwilioApiServer, tmp_path: Path
) -> None:
    settings = notifier_settings(settings, twilio)
    db = await asyncpg.connect(settings.require_database_url())
    try:
        await seed(db, twilio)
        with the_processes(settings, tmp_path) as ports:
            for job, port in ports.items():
                await wait_serving(port, job)
            with PrometheusServer(
                tmp_path / "prometheus",
                {job: [port] for job, port in ports.items()},
                rule_files=[RULES],
            ) as prometheus:
                prometheus.wait_scraping()  # every counter recorded at 0 before the load
                reader = TopicReader(
                    settings.kafka_bootstrap_servers, settings.topic_prefix, [OFFERS]
                )
                async with (
                    open_bus(settings.kafka_bootstrap_servers, settings.topic_prefix) as bus,
                    reader,
                ):
                    await undecodable_contacts(settings)
                    await delayed_shipments(bus)
                    await contacts_and_agents(bus, reader)
                async with aiohttp.ClientSession() as http:
                    await survey_answered(db, http, ports["gateway"], twilio, settings)
                await until_logged(db)
                await check_prometheus(prometheus, db)
        await check_sql_panels(db)
    finally:
        await db.close()


async def check_prometheus(prometheus: PrometheusServer, db: asyncpg.Connection) -> None:
    dashboards = [q for q in queries() if q.source == "prometheus"]
    sql_levels = {
        (r["customer_class"], r["channel"]): (r["answered"], r["abandons"])
        for r in await db.fetch(SERVICE_LEVEL_NOW)
    }
    assert sql_levels[("vip", "voice")] == (0.0, 0.5)  # late answers, early hang-ups
    assert sql_levels[("standard", "chat")] == (1.0, 1.0)

    def query(q: Query) -> list[dict[str, Any]]:
        return prometheus.query(q.runnable)

    def per_class_and_channel(panel: str) -> dict[tuple[str, ...], float]:
        return by(query(the(dashboards, panel)), "customer_class", "channel")

    expected = {
        # classes and channels with contacts only waiting have no service level yet
        "service level": {k: v[0] for k, v in sql_levels.items() if v[0] is not None},
        "counting abandons": {k: v[1] for k, v in sql_levels.items() if v[1] is not None},
        "failure ratio": [pytest.approx(FAILED_NOTICES / (SENT_NOTICES + FAILED_NOTICES))],
        "dead letters": [UNDECODABLE],
        "surveys sent and answered": [1, 1],
    }
    seen: dict[str, object] = {}

    # the known outcomes, once the last scrapes and the gauge refresh are in
    async def agree() -> bool:
        dead = finite(prometheus.query("sum(increase(contactcenter_dead_letters_total[5m]))"))
        seen.update(
            {
                "service level": per_class_and_channel("Service level by class and channel"),
                "counting abandons": per_class_and_channel("Service level counting abandons"),
                "failure ratio": finite(query(the(dashboards, "Failure ratio"))),
                "dead letters": [round(v) for v in dead],
                "surveys sent and answered": [
                    round(v)
                    for counter in ('csat_surveys_total{outcome="sent"}', "csat_answers_total")
                    for v in finite(prometheus.query(f"sum(increase(contactcenter_{counter}[5m]))"))
                ],
            }
        )
        return seen == expected

    try:
        await eventually(agree, 30, "Prometheus to agree with the log")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: expected {expected}, Prometheus says {seen}") from None

    await check_corrected_panels(prometheus, db, dashboards)

    # every panel: the query runs and shows data
    empty = []
    for q in dashboards:
        if not finite(query(q)):
            empty.append(q.where)
    assert not empty, f"panels without data: {empty}"

    # abandonment per class, from counters: VIP 2 of 4, standard none
    rates = by(query(the(dashboards, "Abandonment rate by class")), "customer_class")
    assert rates == {("vip",): pytest.approx(VIP_ABANDONED / VIP_CALLS), ("standard",): 0}
    errors = prometheus.query(
        'sum(increase(contactcenter_errors_total{component="interaction_log",kind="undecodable"}[5m]))'
    )
    assert round(finite(errors)[0]) == UNDECODABLE
    assert finite(prometheus.query("up")) == [1.0] * 4

    # every record counted once per consumer; every topic counted in and out
    consumed = {
        key: round(value)
        for key, value in by(
            prometheus.query(
                # exact counts: increase() extrapolates to the window's end and may round up
                "sum by (topic, consumer) (max_over_time(contactcenter_events_in_total[5m])"
                " - min_over_time(contactcenter_events_in_total[5m]))"
            ),
            "topic",
            "consumer",
        ).items()
    }
    contact_events = (
        VIP_CALLS + STANDARD_CHATS + VIP_ABANDONED + UNDECODABLE + sum(WAITING.values())
    )
    assert consumed[("contacts", "partition-by-pool")] == contact_events
    assert consumed[("contacts", "interaction-log")] == contact_events
    assert consumed[("shipments", "notices")] == 2 * (
        SENT_NOTICES + FAILED_NOTICES + SUPPRESSED_NOTICES
    )
    assert consumed[("dead-letter", "interaction-log")] == UNDECODABLE
    assert consumed[("routing", "route")] > 0
    produced = by(
        prometheus.query("sum by (topic) (increase(contactcenter_events_out_total[5m])) > 0"),
        "topic",
    )
    assert set(produced) >= {
        (t,) for t in ("routing", "offers", "interactions", "notices", "dead-letter")
    }

    # the alert rules load and evaluate; dead letters came in, so that alert is on its way
    groups = prometheus.api("rules")["groups"]
    rules = yaml.safe_load(RULES.read_text())["groups"]
    assert {r["name"] for g in groups for r in g["rules"]} == {
        r["alert"] for g in rules for r in g["rules"]
    }
    assert all(r["health"] == "ok" for g in groups for r in g["rules"]), groups
    alerts = {a["labels"]["alertname"]: a for a in prometheus.api("alerts")["alerts"]}
    # one dead-letter alert, whatever the sources: its description names each source and reason
    assert "contacts/not_json:" in alerts["DeadLettersIncreasing"]["annotations"]["description"]
    assert "ScrapeTargetDown" not in alerts and "WriterDatabaseDown" not in alerts


LOG_NUMBERS = {
    "csat": "SELECT c.customer_class, c.channel, avg(s.score)::float AS score"
    " FROM csat_surveys s JOIN contacts c USING (contact_id) WHERE s.status = 'answered'"
    " GROUP BY 1, 2",
    "waiting": "SELECT c.state->>'customer_class' AS customer_class, c.state->>'channel' AS"
    " channel, count(*)::float AS n FROM routing_contacts c WHERE c.status = 'waiting'"
    " GROUP BY 1, 2",
    "handle_p90": "SELECT customer_class, percentile_cont(0.9) WITHIN GROUP"
    " (ORDER BY handle_seconds) AS p90 FROM contacts WHERE completed_at IS NOT NULL GROUP BY 1",
}


def bucket(seconds: float) -> float:
    """The upper bound of the handle-time bucket ``seconds`` falls in (NaN: none)."""
    return next((b for b in (*HANDLE_BUCKETS, math.inf) if seconds <= b), math.nan)


async def check_corrected_panels(
    prometheus: PrometheusServer, db: asyncpg.Connection, dashboards: list[Query]
) -> None:
    """The panels that once misled, against the interaction log's numbers."""

    def query(panel: str, ref: str = "A") -> list[dict[str, Any]]:
        return prometheus.query(the(dashboards, panel, ref).runnable)

    # suppressed notices have channel "none", a label set exported at 0 from the start
    held = by(query("Deferred (quiet hours) and suppressed"), "outcome")
    assert round(held[("suppressed",)]) == SUPPRESSED_NOTICES

    # queue depth: summed over pools (two pools of 3 waiting e-mails: 6, not 3)
    log_waiting = {
        (r["customer_class"], r["channel"]): r["n"] for r in await db.fetch(LOG_NUMBERS["waiting"])
    }
    depth = by(query("Queue depth by class and channel"), "customer_class", "channel")
    assert {k: v for k, v in depth.items() if v} == log_waiting == {("standard", "email"): 6.0}

    # CSAT by the surveyed contact's channel: the answered VIP call surveyed by SMS is voice
    log_csat = {
        (r["customer_class"], r["channel"]): r["score"] for r in await db.fetch(LOG_NUMBERS["csat"])
    }
    csat = by(query("CSAT by class and channel"), "customer_class", "channel")
    assert csat == log_csat == {("vip", "voice"): 4.0}

    # handle time p90: within the histogram's bucket of the log's p90 (once the last
    # completions are scraped: before, a class's quantile is NaN)
    log_p90 = {r["customer_class"]: r["p90"] for r in await db.fetch(LOG_NUMBERS["handle_p90"])}
    expected = {k: bucket(v) for k, v in log_p90.items()}
    p90: dict[tuple[str, ...], float] = {}

    async def same_bucket() -> bool:
        p90.clear()
        p90.update(by(query("Handle time by class", "B"), "customer_class"))
        return {k[0]: bucket(v) for k, v in p90.items()} == expected

    try:
        await eventually(same_bucket, 20, "the handle-time p90 panel to agree with the log")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: log {log_p90}, panel {p90}") from None

    # agents connected: the desk process only, though all four export the gauge
    connected = prometheus.query(the(dashboards, "Agents connected to the desk").runnable)
    assert finite(prometheus.query("count(contactcenter_desk_connections)")) == [4.0]
    assert len(connected) == 1


async def check_sql_panels(db: asyncpg.Connection) -> None:
    for q in queries():
        if q.source == "prometheus":
            continue
        rows = await db.fetch(q.runnable)
        assert rows, f"{q.where}: no rows"
