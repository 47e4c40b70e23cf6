"""The alerting rules, checked and unit-tested by Prometheus's own promtool: every alert fires
on the series it is meant for and stays quiet on the others (deploy/prometheus/alerts.test.yml).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "alerts.test.yml"
RUNBOOK = ROOT / "docs" / "operations.md"

REQUIRED_ALERTS = {
    "ServiceLevelBelowTarget",
    "LongestWaitTooLong",
    "AbandonmentSpike",
    "NoAgentCanTakeWaitingContacts",
    "UnservableContactsWaiting",
    "DeadLettersIncreasing",
    "ConsumerLagGrowing",
    "WriterDatabaseDown",
    "NoticesFailing",
    "ScrapeTargetDown",
    "EdgeOutboxBacklog",
    # dependencies as each process sees them (streams/platform/readiness.py)
    "BrokerUnreachable",
    "DatabaseUnreachable",
    "ReadinessLost",
    "GatewayUnavailable",
    # routing's log gone backwards (streams/routing/processor.py)
    "RoutingOffsetRegression",
}


def alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed: run scripts/install-test-deps.sh")
    return found


def run(*args: str) -> str:
    result = subprocess.run(
        [promtool(), *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_promtool_checks_the_rules() -> None:
    out = run("check", "rules", RULES.name)
    assert f"SUCCESS: {len(alerts())} rules found" in out


def test_promtool_unit_tests_fire_and_spare_every_alert() -> None:
    run("test", "rules", RULE_TESTS.name)
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
    }
    fired = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert tested == fired == {str(rule["alert"]) for rule in alerts()}


def test_the_alerts_cover_the_operations_questions_and_have_runbooks() -> None:
    names = {str(rule["alert"]) for rule in alerts()}
    assert names == REQUIRED_ALERTS
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in RUNBOOK.read_text().splitlines()
        if line.startswith("#")
    }
    for rule in alerts():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        path, anchor = str(annotations["runbook"]).split("#")
        assert path == "docs/operations.md"
        assert anchor in headings, f"{rule['alert']}: no runbook section #{anchor}"
        assert rule.get("for"), f"{rule['alert']} fires on a single evaluation"
        # a link a notification can open, from the configurable base, to the same section
        assert annotations["runbook_url"] == (
            f"{{{{ $externalLabels.runbook_base }}}}/docs/operations.md#{anchor}"
        ), rule["alert"]
        assert "$value" in str(annotations.get("description", "")), (
            f"{rule['alert']}: its description must give the value"
        )


def test_the_stack_sets_the_runbook_base() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["global"]["external_labels"]["runbook_base"].startswith("https://")
