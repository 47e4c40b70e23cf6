"""The compose stack, Prometheus and Grafana files, checked structurally (no Docker engine):
commands exist, ports agree, dashboards name metrics the code exports."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.cli import build_parser
from streams.platform import metrics
from streams.platform.settings import Settings
from tests.support.dashboards import DASHBOARDS, dashboards, panels, queries
from tests.support.metrics import metric_labels, metric_names

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = ROOT / "docker-compose.yml"

# which setting each process serves /metrics on (gateway and desk: on their HTTP port)
METRICS_PORT_SETTING = {
    "worker": "metrics_port",
    "gateway": "gateway_port",
    "desk": "desk_port",
    "notifier": "notifier_metrics_port",  # `contactcenter notifier` serves this one
}
PROJECT_PROCESSES = {"worker-1", "worker-2", "gateway", "desk", "notifier"}
PROMQL_BUILTINS = {"up"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def project_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in services.items() if "build" in s}


def cli_commands() -> set[str]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("the CLI has no subcommands")


def settings_for(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in (service.get("environment") or {}).items():
        monkeypatch.setenv(key, str(value))
    return Settings()


# ---------------------------------------------------------------------------------------------
# docker-compose.yml
# ---------------------------------------------------------------------------------------------
def test_compose_has_the_whole_stack(services: dict[str, dict[str, Any]]) -> None:
    for name in ("kafka", "postgres", "prometheus", "grafana", *PROJECT_PROCESSES):
        assert name in services, name
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    roles = kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert "controller" in roles and "broker" in roles  # KRaft, no ZooKeeper
    assert not any("zookeeper" in n for n in services)
    assert services["postgres"]["image"].startswith("postgres:")


def test_every_project_command_exists_in_the_cli(services: dict[str, dict[str, Any]]) -> None:
    commands = cli_commands()
    for name, service in project_services(services).items():
        command = service["command"]
        assert isinstance(command, list) and command, name
        assert command[0] in commands, f"{name}: 'contactcenter {command[0]}' is not a command"
        build_parser().parse_args(command)  # the whole command line parses


def test_one_dockerfile_builds_every_project_service(services: dict[str, dict[str, Any]]) -> None:
    found = [
        p.relative_to(ROOT)
        for p in ROOT.rglob("Dockerfile*")
        if ".venv" not in p.parts and ".git" not in p.parts
    ]
    assert found == [Path("deploy/Dockerfile")]
    for name, service in project_services(services).items():
        assert service["build"]["dockerfile"] == "deploy/Dockerfile", name
        assert (ROOT / service["build"]["context"]).resolve() == ROOT
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for source in re.findall(r"^COPY\s+(.+?)\s+\S+$", dockerfile, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"Dockerfile copies a missing {path}"
    assert 'ENTRYPOINT ["python", "-m", "services.cli"]' in dockerfile


def test_topics_and_migrations_run_before_the_processes(
    services: dict[str, dict[str, Any]],
) -> None:
    one_shots = {
        s["command"][0]: n
        for n, s in project_services(services).items()
        if s.get("restart") == "no"
    }
    assert set(one_shots) == {"topics", "migrate"}
    for name in PROJECT_PROCESSES:
        depends = services[name]["depends_on"]
        for step in one_shots.values():
            assert depends[step]["condition"] == "service_completed_successfully", name
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"


def test_long_running_services_have_health_checks(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if service.get("restart") == "no":
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"


def test_two_workers_share_one_consumer_group(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    workers = [n for n, s in services.items() if s.get("command") == ["worker"]]
    assert sorted(workers) == ["worker-1", "worker-2"]
    ids = set()
    for name in workers:
        with monkeypatch.context() as m:
            ids.add(settings_for(services[name], m).app_id)
    assert len(ids) == 1


def test_health_checks_probe_readiness_on_the_port_serving_metrics(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROJECT_PROCESSES:
        service = services[name]
        probe = " ".join(service["healthcheck"]["test"])
        assert "'/readyz'" in probe, f"{name}: the health check is not readiness"
        [variable] = re.findall(r"os\.environ\['(CC_[A-Z_]+)'\]", probe)
        with monkeypatch.context() as m:
            settings = settings_for(service, m)
        serves = getattr(settings, METRICS_PORT_SETTING[service["command"][0]])
        assert int(service["environment"][variable]) == serves, f"{name} probes {variable}"


# ---------------------------------------------------------------------------------------------
# Prometheus
# ---------------------------------------------------------------------------------------------
def test_every_prometheus_target_is_a_service_metrics_port(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    scraped: set[str] = set()
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                if host == "localhost":  # Prometheus itself
                    assert job["job_name"] == "prometheus"
                    continue
                assert host in services, f"target {target} is not a compose service"
                role = services[host]["command"][0]
                with monkeypatch.context() as m:
                    settings = settings_for(services[host], m)
                expected = getattr(settings, METRICS_PORT_SETTING[role])
                assert int(port) == expected, f"{target}: {host} serves /metrics on {expected}"
                assert job["job_name"] == role
                scraped.add(host)
    assert scraped == PROJECT_PROCESSES


def test_prometheus_loads_the_alert_rules_the_stack_mounts(
    services: dict[str, dict[str, Any]],
) -> None:
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    assert config["rule_files"] == ["alerts.yml"]
    mounts = dict(v.split(":")[:2][::-1] for v in services["prometheus"]["volumes"] if ":" in v)
    assert mounts["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus/prometheus.yml"
    assert mounts["/etc/prometheus/alerts.yml"] == "./deploy/prometheus/alerts.yml"


# ---------------------------------------------------------------------------------------------
# Grafana
# ---------------------------------------------------------------------------------------------
def test_grafana_provisioning_points_at_the_mounted_dashboards(
    services: dict[str, dict[str, Any]],
) -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    providers = load_yaml(provisioning / "dashboards" / "dashboards.yml")
    assert providers["apiVersion"] == 1
    [provider] = providers["providers"]
    assert provider["type"] == "file"
    mounts = dict(v.split(":")[:2][::-1] for v in services["grafana"]["volumes"] if ":" in v)
    assert mounts[provider["options"]["path"]] == "./deploy/grafana/dashboards"
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    sources = load_yaml(provisioning / "datasources" / "datasources.yml")
    assert sources["apiVersion"] == 1
    urls = {s["uid"]: s["url"] for s in sources["datasources"]}
    assert urls["prometheus"] == "http://prometheus:9090"
    assert urls["interaction-log"].split(":")[0] in services


def test_the_four_dashboards_exist() -> None:
    titles = {d["title"] for d in dashboards().values()}
    assert titles == {"Contact Center Overview", "Agents", "Notices", "Pipeline health"}


@pytest.mark.parametrize("name", sorted(p.name for p in DASHBOARDS.glob("*.json")))
def test_dashboard_is_provisionable(name: str) -> None:
    dashboard = json.loads((DASHBOARDS / name).read_text())
    assert dashboard.get("id") is None  # provisioned dashboards carry no database id
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dashboard["uid"])
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["title"]
    sources = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yml")
    known = {s["uid"]: s["type"] for s in sources["datasources"]}
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        pos = panel["gridPos"]
        assert all(isinstance(pos[k], int) for k in ("x", "y", "w", "h"))
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24
        if panel["type"] == "row":
            continue
        assert known[panel["datasource"]["uid"]] == panel["datasource"]["type"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs))


def test_uids_and_titles_are_unique() -> None:
    found = list(dashboards().values())
    assert len({d["uid"] for d in found}) == len(found)
    assert len({d["title"] for d in found}) == len(found)


def _balanced(expr: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in re.sub(r'"[^"]*"', '""', expr):
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def prometheus_queries() -> list[tuple[str, str]]:
    """(where, expression) of every dashboard panel on Prometheus and every alert rule."""
    found = [(q.where, q.text) for q in queries() if q.source == "prometheus"]
    for group in load_yaml(DEPLOY / "prometheus" / "alerts.yml")["groups"]:
        found.extend((f"alert {rule['alert']}", rule["expr"]) for rule in group["rules"])
    return found


# labels Prometheus adds to every series
TARGET_LABELS = {"job", "instance"}


def test_every_panel_and_alert_names_exported_metrics_and_their_labels() -> None:
    exported = metric_names()
    labels_of = metric_labels()
    used: set[str] = set()
    for where, expr in prometheus_queries():
        assert _balanced(expr), f"{where}: unbalanced {expr}"
        named = set(re.findall(r"\bcontactcenter_[a-z0-9_]+", expr))
        assert named or re.match(r"\w+", expr.strip())[0] in PROMQL_BUILTINS, f"{where}: {expr}"
        unknown = named - exported
        assert not unknown, f"{where}: not exported: {unknown}"
        used |= named
        known = TARGET_LABELS.union(*(labels_of[n] for n in named))
        for selector in re.findall(r"\{([^}]*)\}", re.sub(r'"[^"]*"', '""', expr)):
            for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", selector):
                assert label in known, f"{where}: no metric of it has the label {label!r}"
        for grouping in re.findall(r"\b(?:by|on)\s*\(([^)]*)\)", expr):
            for label in filter(None, (x.strip() for x in grouping.split(","))):
                assert label in known, f"{where}: no metric of it has the label {label!r}"
        for le in re.findall(r'le="([^"]+)"', expr):
            assert float(le) in metrics.WAIT_BUCKETS and le == repr(float(le))
    # the overview answers the questions
    for required in (
        "contactcenter_service_level_ratio",
        "contactcenter_service_level_target_ratio",
        "contactcenter_queue_depth",
        "contactcenter_consumer_lag_messages",
        "contactcenter_dead_letters_total",
        "contactcenter_db_write_duration_seconds_bucket",
        "contactcenter_notices_total",
        "contactcenter_agents",
        "contactcenter_gateway_requests_total",
        "contactcenter_desk_connections",
    ):
        assert required in used, required


def test_sql_panels_read_tables_and_views_of_the_migrations() -> None:
    sql = "\n".join(p.read_text() for p in sorted((DEPLOY / "migrations").glob("*.sql")))
    relations = set(re.findall(r"CREATE (?:TABLE|VIEW) (\w+)", sql))
    checked = 0
    for dashboard in dashboards().values():
        for panel in panels(dashboard):
            if panel.get("datasource", {}).get("uid") != "interaction-log":
                continue
            for target in panel["targets"]:
                for relation in re.findall(r"\bFROM\s+(\w+)", target["rawSql"]):
                    assert relation in relations, relation
                    checked += 1
    assert checked >= 4
