from __future__ import annotations

from typing import Any

import pytest

from streams.routing.domain import AgentLoggedIn, Channel, ContactArrived, PoolConfig


def test_defaults() -> None:
    config = PoolConfig()
    assert dict(config.class_weights) == {"vip": 100.0, "standard": 0.0}
    assert config.capacity[Channel.CHAT] == 3 and config.capacity[Channel.VOICE] == 1
    assert config.exclusive_channels == frozenset({Channel.VOICE})
    assert config.effective_class("platinum") == "standard"


@pytest.mark.parametrize(
    "bad",
    [
        {"aging_per_second": -1.0},
        {"capacity": {Channel.CHAT: -1}},
        {"offer_timeout_seconds": 0.0},
        {"max_missed_offers": -1},
        {"last_agent_window_seconds": -5.0},
        {"class_weights": {}},
    ],
)
def test_invalid_config(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PoolConfig(**bad)


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError):
        AgentLoggedIn("a1", {"en": 11})
    with pytest.raises(ValueError):
        AgentLoggedIn("a1", {"en": 0})
    with pytest.raises(ValueError):
        ContactArrived("c1", Channel.CHAT, "vip", {"en": 0})
    assert ContactArrived("c1", "chat", "vip", {}).channel is Channel.CHAT  # type: ignore[arg-type]
