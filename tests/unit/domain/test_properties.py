from __future__ import annotations

import json
from typing import Any

import pytest

from streams.routing.domain import Channel, Decision, PoolConfig, Router
from streams.routing.domain.relaxation import RelaxStep

from .randomized import Traffic, check_invariants
from .scenario import START

Rows = dict[str, dict[str, Any]]


def _decisions(out: list[Decision]) -> list[dict[str, Any]]:
    return [d.to_dict() for d in out]


def _collect(router: Router, contacts: Rows, agents: Rows) -> None:
    changed_contacts, changed_agents = router.take_dirty()
    for table, changes in ((contacts, changed_contacts), (agents, changed_agents)):
        for key, row in changes.items():
            if row is None:
                table.pop(key, None)
            else:
                table[key] = row


RELAXING = {"*": (RelaxStep(20, lower_by=2), RelaxStep(60, any_agent=True))}


@pytest.mark.parametrize(
    ("seed", "agents", "widened"), [(1, 8, False), (2, 4, False), (3, 3, False), (4, 4, True)]
)
def test_invariants_hold_after_every_step(seed: int, agents: int, widened: bool) -> None:
    """``widened``: with relaxation steps and calls offered to agents holding a chat."""
    config = PoolConfig(max_missed_offers=2, offer_timeout_seconds=15)
    if widened:
        config = PoolConfig(
            max_missed_offers=2,
            offer_timeout_seconds=15,
            relaxation=RELAXING,
            cross_channel_hold={Channel.VOICE: 1},
        )
    router = Router(config, "p")
    traffic = Traffic(seed, agents)
    now = START
    seen: set[str] = set()
    for _ in range(1500):
        now += traffic.advance()
        out = router.handle(traffic.next_event(router, now), now)
        offered = [d.to_dict() for d in out if d.kind == "offer_made"]
        for offer in offered:
            assert offer["offer_id"] not in seen, "offer id reused"
            seen.add(offer["offer_id"])
        json.dumps(_decisions(out))
        check_invariants(router)


def test_same_inputs_same_decisions() -> None:
    logs = []
    for _ in range(2):
        router = Router(PoolConfig(), "p")
        traffic = Traffic(7)
        now = START
        log = []
        for _ in range(800):
            now += traffic.advance()
            log.extend(_decisions(router.handle(traffic.next_event(router, now), now)))
        logs.append(log)
    assert logs[0] == logs[1]
    assert any(d["kind"] == "offer_made" for d in logs[0])


@pytest.mark.parametrize(("seed", "widened"), [(11, False), (12, False), (13, True)])
def test_restored_router_decides_like_the_original(seed: int, widened: bool) -> None:
    config = PoolConfig(max_missed_offers=2)
    if widened:
        config = PoolConfig(
            max_missed_offers=2, relaxation=RELAXING, cross_channel_hold={Channel.VOICE: 1}
        )
    original = Router(config, "p")
    traffic = Traffic(seed, agents=4)
    contacts: Rows = {}
    agents: Rows = {}
    now = START
    for step in range(600):
        now += traffic.advance()
        original.handle(traffic.next_event(original, now), now)
        if step % 3 == 0:
            _collect(original, contacts, agents)
    _collect(original, contacts, agents)

    stored = json.loads(
        json.dumps(
            {
                "contacts": contacts,
                "agents": agents,
                "estimator": original.estimator_row(),
                "policy": original.policy_row(),
                "moved": original._moved.to_row(),
            }
        )
    )
    restored = Router.restore(
        config,
        "p",
        stored["contacts"].values(),
        stored["agents"].values(),
        original.clock,
        estimator=stored["estimator"],
        policy=stored["policy"],
        moved=stored["moved"],
    )
    assert restored.predicted_waits() == original.predicted_waits()
    assert restored.clock == original.clock
    assert restored.queue_view() == original.queue_view()
    assert restored.agent_states() == original.agent_states()

    for _ in range(600):
        now += traffic.advance()
        event = traffic.next_event(original, now)
        assert _decisions(restored.handle(event, now)) == _decisions(original.handle(event, now))
        assert restored.take_dirty() == original.take_dirty()
    check_invariants(restored)
