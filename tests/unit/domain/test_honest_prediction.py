"""The predicted wait counts only the agents who could take the contact; with none logged in
it is "no agent available", never a number; before the channel has history it is rough."""

from __future__ import annotations

import pytest

from streams.routing.domain import (
    Channel,
    ContactCompleted,
    ContactQueued,
    OfferAccepted,
    OfferMade,
    PoolConfig,
)

from .scenario import Pool, of_type, only


def _queued(pool: Pool, contact_id: str, skills: dict[str, int] | None = None) -> ContactQueued:
    return only(of_type(pool.contact(contact_id, Channel.VOICE, skills=skills), ContactQueued))


def test_free_agents_who_cannot_take_it_do_not_shorten_its_wait() -> None:
    pool = Pool()
    pool.agent("fr-1", {"lang_fr": 3})  # the only French speaker, soon on a call
    call = only(of_type(pool.contact("call-0", Channel.VOICE, skills={"lang_fr": 1}), OfferMade))
    pool.send(OfferAccepted(call.offer_id, "fr-1"))
    pool.agent("en-1", {"lang_en": 5}, ready=False)
    for name in ("en-2", "en-3"):
        pool.agent(name, {"lang_en": 5})
    english = _queued(pool, "c-en", {"lang_en": 1})
    assert english.predicted_wait_seconds == 0.0  # a free English agent takes it at once
    french = _queued(pool, "c-fr", {"lang_fr": 1})
    assert not french.no_agent_available
    # one busy French agent: one completion ahead, at 300 s (PoolConfig's default)
    assert french.predicted_wait_seconds == pytest.approx(300.0)


def test_no_agent_logged_in_who_could_take_it_is_no_agent_available() -> None:
    pool = Pool()
    pool.agent("en-1", {"lang_en": 5})
    french = _queued(pool, "c-fr", {"lang_fr": 1})
    assert french.no_agent_available and french.predicted_wait_seconds is None
    assert pool.router.serving()["voice|lang_fr>=1"]["logged_in"] == 0


def test_the_estimate_is_rough_until_the_channel_has_ten_completions() -> None:
    pool = Pool(PoolConfig(handle_prior_seconds={Channel.VOICE: 240.0}))
    pool.agent("a1")
    assert pool.router._estimator.handle_seconds("voice") == 240.0  # the channel's prior
    for n in range(10):
        queued = _queued(pool, f"c{n}")
        assert queued.rough_estimate
        offer = only(of_type(pool.log, OfferMade))
        pool.send(OfferAccepted(offer.offer_id, "a1"))
        pool.send(ContactCompleted(f"c{n}", "a1"), after=60)
        pool.log.clear()
    queued = _queued(pool, "c-warm")
    assert not queued.rough_estimate and queued.predicted_wait_seconds == 0.0
    assert pool.router._estimator.handle_seconds("voice") == pytest.approx(60.0)
