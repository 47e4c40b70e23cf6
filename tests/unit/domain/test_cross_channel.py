"""Cross-channel concurrency is a setting: what an agent may already hold on other channels
and still be offered an exclusive channel (a call)."""

from __future__ import annotations

from streams.routing.domain import Channel, OfferAccepted, OfferMade, PoolConfig

from .scenario import Pool, of_type, only


def _holding_a_chat(config: PoolConfig) -> Pool:
    pool = Pool(config)
    pool.agent("a1")
    chat = only(of_type(pool.contact("chat-1", Channel.CHAT), OfferMade))
    pool.send(OfferAccepted(chat.offer_id, "a1"))
    return pool


def test_by_default_a_call_waits_for_an_agent_holding_a_chat() -> None:
    pool = _holding_a_chat(PoolConfig())
    assert of_type(pool.contact("call-1", Channel.VOICE, after=1), OfferMade) == []
    assert pool.router.agents_able()["voice"] == 0  # ready, yet unable to take a call


def test_a_call_is_offered_to_an_agent_holding_chats_when_the_setting_allows() -> None:
    pool = _holding_a_chat(PoolConfig(cross_channel_hold={Channel.VOICE: 1}))
    assert pool.router.agents_able()["voice"] == 1
    offer = only(of_type(pool.contact("call-1", Channel.VOICE, after=1), OfferMade))
    assert offer.agent_id == "a1"
    pool.send(OfferAccepted(offer.offer_id, "a1"))
    # on the call, the agent takes nothing else: the chats it holds wait
    assert of_type(pool.contact("chat-2", Channel.CHAT, after=1), OfferMade) == []
    assert pool.router.agents_able()["chat"] == 0


def test_the_allowance_counts_every_open_contact_of_other_channels() -> None:
    pool = _holding_a_chat(PoolConfig(cross_channel_hold={Channel.VOICE: 1}))
    second = only(of_type(pool.contact("chat-2", Channel.CHAT, after=1), OfferMade))
    pool.send(OfferAccepted(second.offer_id, "a1"))
    assert of_type(pool.contact("call-1", Channel.VOICE, after=1), OfferMade) == []
    assert pool.router.agents_able()["voice"] == 0


def test_an_agent_on_a_call_is_able_for_voice_not_for_chat() -> None:
    pool = Pool()
    pool.busy("a1", "call-0")
    assert pool.router.agents_able() == {"voice": 1, "chat": 0, "email": 0, "sms": 0}
