"""The predicted wait on ``ContactQueued``: contacts ahead, the ready agents' slots on the
channel, recent handle times and the arrivals of classes that overtake."""

from __future__ import annotations

import json

import pytest

from streams.routing.domain import Channel, ContactQueued, PoolConfig, Router
from streams.routing.domain.prediction import ARRIVAL_HORIZON_SECONDS

from .scenario import Pool, of_type, only

HANDLE = 300.0  # PoolConfig's default handle time until a contact completes


def predicted(pool: Pool, contact_id: str, customer_class: str = "standard") -> float | None:
    queued = only(of_type(pool.contact(contact_id, Channel.VOICE, customer_class), ContactQueued))
    return queued.predicted_wait_seconds


def test_no_ready_agent_means_no_bound() -> None:
    pool = Pool()
    pool.agent("a1", ready=False)
    assert predicted(pool, "c1") is None
    assert pool.router.predicted_waits()["standard"]["voice"] is None


def test_a_free_agent_means_no_wait() -> None:
    pool = Pool()
    pool.agent("a1")
    assert predicted(pool, "c1") == 0.0


def test_one_completion_per_contact_ahead_at_the_agents_rate() -> None:
    pool = Pool()
    pool.busy("a1", "first")
    pool.busy("a2", "second")
    assert predicted(pool, "c1") == pytest.approx(HANDLE / 2)  # one completion of two agents
    assert predicted(pool, "c2") == pytest.approx(2 * HANDLE / 2)
    assert pool.router.predicted_waits()["standard"]["voice"] == pytest.approx(3 * HANDLE / 2)


def test_recent_handle_times_replace_the_default() -> None:
    pool = Pool()
    pool.busy("a1", "first")
    pool.free("a1", "first", after=60)  # handled in 60 s
    pool.busy("a1", "second")
    assert predicted(pool, "c1") == pytest.approx(60.0)


def test_a_vip_waits_only_behind_vips_a_standard_behind_both() -> None:
    pool = Pool(PoolConfig(aging_per_second=0.0))
    pool.busy("a1", "first")
    predicted(pool, "s1")
    predicted(pool, "s2")
    assert predicted(pool, "v1", "vip") == pytest.approx(HANDLE)
    standard = predicted(pool, "s3")
    assert standard is not None
    # three ahead (s1, s2, v1), stretched by the VIP arrival rate seen so far
    vip_erlangs = HANDLE / ARRIVAL_HORIZON_SECONDS
    assert standard == pytest.approx(4 * HANDLE / (1 - vip_erlangs), rel=1e-3)


def test_other_channels_do_not_count() -> None:
    pool = Pool()
    pool.agent("a1", capacity={Channel.CHAT: 3, Channel.VOICE: 0})
    pool.busy("a2", "call")
    assert predicted(pool, "c1") == pytest.approx(HANDLE)  # only a2 takes calls
    chat = only(of_type(pool.contact("chat1", Channel.CHAT), ContactQueued))
    assert chat.predicted_wait_seconds == 0.0


def test_the_estimate_survives_a_restore() -> None:
    pool = Pool()
    pool.busy("a1", "first")
    pool.free("a1", "first", after=42)
    pool.busy("a1", "second")
    predicted(pool, "c1", "vip")
    original = pool.router
    contacts, agents = original.take_dirty()
    stored = json.loads(json.dumps(original.estimator_row()))
    restored = Router.restore(
        original.config,
        original.pool_id,
        [r for r in contacts.values() if r is not None],
        [r for r in agents.values() if r is not None],
        original.clock,
        estimator=stored,
    )
    assert restored.predicted_waits() == original.predicted_waits()
    assert not restored.unsaved()
