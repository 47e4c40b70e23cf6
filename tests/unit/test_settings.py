"""Each process reads its own settings: shared sections composed, nothing of the others."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.cli import COMMANDS
from streams.platform.settings import (
    DeskSettings,
    GatewaySettings,
    NotifierSettings,
    PlatformSettings,
    Settings,
    WorkerSettings,
)
from streams.routing.agents import pool_config
from streams.routing.domain import Channel
from streams.routing.domain.relaxation import RelaxStep

PROCESSES = (WorkerSettings, GatewaySettings, DeskSettings, NotifierSettings)


def test_a_process_knows_only_its_own_fields() -> None:
    assert "twilio_auth_token" not in WorkerSettings.model_fields
    assert "routing_batch_size" not in GatewaySettings.model_fields
    assert "notifier_batch_size" not in DeskSettings.model_fields
    assert "desk_port" not in NotifierSettings.model_fields
    shared = set(PlatformSettings.model_fields)
    for process in PROCESSES:
        assert shared <= set(process.model_fields)


def test_the_stack_settings_are_every_process_settings() -> None:
    fields = set(Settings.model_fields)
    for process in PROCESSES:
        assert issubclass(Settings, process)
        assert set(process.model_fields) <= fields
    assert fields == set().union(*(process.model_fields for process in PROCESSES))


def test_a_bad_value_stops_only_the_process_that_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC_NOTIFIER_BATCH_SIZE", "many")
    monkeypatch.setenv("CC_ROUTING_BATCH_SIZE", "250")
    assert WorkerSettings().routing_batch_size == 250
    GatewaySettings()
    with pytest.raises(ValidationError, match="notifier_batch_size"):
        NotifierSettings()


def test_shared_fields_read_the_same_variables_in_every_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9093")
    monkeypatch.setenv("CC_CLASS_WEIGHTS", '{"gold": 50, "basic": 0}')
    for process in PROCESSES:
        settings = process()
        assert settings.kafka_bootstrap_servers == "broker:9093"
        assert settings.class_weights == {"gold": 50.0, "basic": 0.0}


def test_each_process_command_reads_its_process_settings() -> None:
    expected = {
        "worker": WorkerSettings,
        "gateway": GatewaySettings,
        "desk": DeskSettings,
        "notifier": NotifierSettings,
    }
    for command, settings_class in expected.items():
        assert COMMANDS[command][2] is settings_class


def test_eligibility_settings_read_json_and_become_the_pool_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CC_CROSS_CHANNEL_HOLD", '{"voice": 2}')
    monkeypatch.setenv("CC_HANDLE_PRIOR_SECONDS", '{"chat": 400}')
    monkeypatch.setenv(
        "CC_RELAXATION_STEPS",
        '{"*": [{"after_seconds": 45, "drop": ["warranty"]}], "vip": []}',
    )
    config = pool_config(WorkerSettings())
    assert config.cross_channel_hold == {Channel.VOICE: 2}
    assert config.handle_prior_seconds == {Channel.CHAT: 400.0}
    assert config.relaxation_steps("p1") == (RelaxStep(45, drop=frozenset({"warranty"})),)
    assert config.relaxation_steps("vip") == ()
    monkeypatch.setenv("CC_RELAXATION_STEPS", '{"*": [{"after_seconds": 45}]}')
    with pytest.raises(ValueError, match="lower, drop"):
        pool_config(WorkerSettings())
