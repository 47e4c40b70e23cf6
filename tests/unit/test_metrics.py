"""The metric catalogue: naming conventions, helpers, the HTTP endpoint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest

from streams.platform import metrics, metrics_roles, ops_server
from streams.routing.domain import AgentLoggedIn, AgentNotReady, Channel, PoolConfig, Router
from streams.routing.metrics import RoutingGauges
from tests.support.metrics import metric_names, parse_exposition, sample_total, sample_value
from tests.unit.domain.scenario import Pool


def _families() -> list:
    return [f for f in REGISTRY.collect() if f.name.startswith(metrics.PREFIX)]


def test_names_follow_conventions() -> None:
    families = _families()
    assert len(families) >= 25
    for family in families:
        assert family.documentation, family.name
        if family.type == "counter":
            assert not family.name.endswith("_total")  # the client adds the suffix
        else:
            assert not family.name.endswith("_total"), family.name
        assert "millis" not in family.name and "_ms" not in family.name


def test_the_issue_list_is_covered() -> None:
    names = metric_names()
    for required in (
        "contactcenter_queue_depth",
        "contactcenter_queue_longest_wait_seconds",
        "contactcenter_wait_seconds_bucket",
        "contactcenter_service_level_ratio",
        "contactcenter_offers_total",
        "contactcenter_agents",
        "contactcenter_routing_decision_duration_seconds_bucket",
        "contactcenter_events_in_total",
        "contactcenter_events_out_total",
        "contactcenter_dead_letters_total",
        "contactcenter_notices_total",
        "contactcenter_db_write_duration_seconds_bucket",
        "contactcenter_db_write_batch_size_bucket",
        "contactcenter_consumer_lag_messages",
    ):
        assert required in names, required


def test_wait_buckets_hold_service_level_thresholds() -> None:
    for threshold in (10.0, 20.0, 30.0, 60.0):
        assert threshold in metrics.WAIT_BUCKETS


def test_decision_latency_is_in_seconds() -> None:
    metrics.ROUTING_DECISION_DURATION.observe(0.0003)
    assert (
        sample_value("contactcenter_routing_decision_duration_seconds_bucket", {"le": "0.0005"})
        >= 1
    )


def test_dead_letter_reasons_are_bounded() -> None:
    assert metrics.dead_letter_reason("empty payload") == "empty"
    assert metrics.dead_letter_reason("not JSON: Expecting value") == "not_json"
    assert metrics.dead_letter_reason("unknown record type 'x'") == "unknown_type"
    assert metrics.dead_letter_reason("invalid contact_arrived: channel: bad") == "invalid_record"
    assert metrics.dead_letter_reason("payload of 2000000 bytes exceeds 1000000") == "too_large"
    assert metrics.dead_letter_reason("boom") == "processing_error"


def test_topic_label_strips_prefix() -> None:
    assert metrics.topic_label("t1.contacts", "t1.") == "contacts"
    assert metrics.topic_label("contacts", "") == "contacts"


def test_sample_helpers_and_http_endpoint() -> None:
    metrics.NOTICES.labels(channel="sms", outcome="sent").inc(2)
    assert sample_value("contactcenter_notices_total", {"channel": "sms", "outcome": "sent"}) >= 2
    assert sample_total("contactcenter_notices_total", {"channel": "sms"}) >= 2
    port = ops_server.start_metrics_server(0, "127.0.0.1")
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    samples = parse_exposition(body)
    key = ("contactcenter_notices_total", frozenset({("channel", "sms"), ("outcome", "sent")}))
    assert samples[key] >= 2
    assert not any(name.endswith("_created") for name, _ in samples)
    text, content_type = ops_server.render()
    assert b"contactcenter_notices_total" in text and content_type.startswith("text/plain")


def test_initialise_exports_every_known_series_at_zero() -> None:
    metrics_roles.initialise("worker", ["vip", "standard"])
    samples = parse_exposition(ops_server.render()[0].decode())

    def exported(name: str, **labels: str) -> bool:
        return (name, frozenset(labels.items())) in samples

    for klass in ("vip", "standard"):
        for channel in metrics_roles.CHANNELS:
            labels = {"customer_class": klass, "channel": channel}
            assert exported("contactcenter_contacts_abandoned_total", **labels)
            assert exported("contactcenter_wait_seconds_count", outcome="answered", **labels)
    for outcome in ("sent", "failed", "queued"):
        assert exported("contactcenter_notices_total", channel="sms", outcome=outcome)
    assert exported("contactcenter_dead_letters_total", source_topic="contacts", reason="not_json")
    assert exported("contactcenter_errors_total", component="interaction_log", kind="undecodable")
    assert exported("contactcenter_db_write_failures_total", writer="interaction_log")
    assert exported("contactcenter_events_in_total", topic="routing", consumer="route")
    assert exported("contactcenter_events_out_total", topic="dead-letter")
    metrics_roles.initialise("gateway")
    metrics_roles.initialise("notifier")
    samples = parse_exposition(ops_server.render()[0].decode())
    assert exported("contactcenter_gateway_requests_total", channel="voice", outcome="accepted")
    assert exported("contactcenter_errors_total", component="notifier", kind="unexpected")
    assert exported("contactcenter_db_write_duration_seconds_count", writer="notifier")


def test_replace_gauge_drops_label_sets_no_longer_reported() -> None:
    registry = CollectorRegistry()
    gauge = Gauge("probe_ratio", "probe", ["pool"], registry=registry)
    metrics.replace_gauge(gauge, {("p1",): 0.5, ("p2",): 0.25})
    metrics.replace_gauge(gauge, {("p2",): 0.75})
    text = generate_latest(registry).decode()
    assert 'probe_ratio{pool="p2"} 0.75' in text and 'pool="p1"' not in text
    metrics.replace_gauge(gauge, {})
    assert "probe_ratio{" not in generate_latest(registry).decode()


def test_the_metrics_server_answers_liveness_and_readiness() -> None:
    problems: list[str] = []
    port = ops_server.start_metrics_server(0, "127.0.0.1", ready=lambda: list(problems))

    def get(path: str) -> tuple[int, dict[str, object]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    assert get("/healthz") == (200, {"status": "ok"})
    assert get("/readyz") == (200, {"status": "ready", "problems": []})
    problems.append("broker unreachable (127.0.0.1:1)")
    assert get("/readyz") == (503, {"status": "not ready", "problems": problems})
    assert get("/healthz")[0] == 200  # liveness does not depend on the broker


def test_offer_counters_of_a_pool_start_at_zero_once_routing_knows_the_pool() -> None:
    RoutingGauges().update(0, {"p-known": Router(PoolConfig(), "p-known")})
    samples = parse_exposition(ops_server.render()[0].decode())
    for outcome in ("made", "accepted", "rejected", "expired", "rescinded"):
        key = frozenset({("pool", "p-known"), ("outcome", outcome)})
        assert samples[("contactcenter_offers_total", key)] == 0
    redelivered = (
        "contactcenter_routing_redelivered_inputs_total",
        frozenset({("pool", "p-known")}),
    )
    assert samples[redelivered] == 0


def test_the_gauge_follows_the_pools_owned_here() -> None:
    pool = Pool()
    pool.busy("a1", "first")
    gauges = RoutingGauges()
    labels = {"pool": "pool-1", "customer_class": "standard", "channel": "voice"}
    name = "contactcenter_predicted_wait_seconds"
    gauges.update(7, {"pool-1": pool.router})
    assert REGISTRY.get_sample_value(name, labels) == 300.0
    pool.send(AgentNotReady("a1", "break"))
    gauges.update(7, {"pool-1": pool.router})
    assert REGISTRY.get_sample_value(name, labels) == float("inf")
    gauges.forget(7)
    assert REGISTRY.get_sample_value(name, labels) is None


def test_the_desk_exports_every_control_action_at_zero() -> None:
    metrics_roles.initialise("desk")
    samples = parse_exposition(ops_server.render()[0].decode())
    for action in ("agent.create", "pool.policy", "contact.move", "agent.force_state"):
        assert ("contactcenter_control_actions_total", frozenset({("action", action)})) in samples


def test_unservable_and_able_gauges_follow_the_pool_and_resolve_to_zero() -> None:
    pool = Pool()
    pool.agent("en-1", {"lang_en": 5})
    pool.contact("fr-chat", Channel.CHAT, skills={"lang_fr": 1})
    gauges = RoutingGauges()
    unservable = {"pool": "pool-2", "channel": "chat", "requirement": "lang_fr>=1"}
    gauges.update(8, {"pool-2": pool.router})
    assert REGISTRY.get_sample_value("contactcenter_unservable_contacts", unservable) == 1
    able = {"pool": "pool-2", "channel": "voice"}
    assert REGISTRY.get_sample_value("contactcenter_agents_able", able) == 1
    pool.send(AgentLoggedIn("fr-1", {"lang_fr": 2}))
    gauges.update(8, {"pool-2": pool.router})
    # 0, not gone: the alert on it resolves
    assert REGISTRY.get_sample_value("contactcenter_unservable_contacts", unservable) == 0
    gauges.forget(8)
    assert REGISTRY.get_sample_value("contactcenter_unservable_contacts", unservable) is None
    assert REGISTRY.get_sample_value("contactcenter_agents_able", able) is None
