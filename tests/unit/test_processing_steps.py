"""The shared processing steps: decode or dead-letter, retry of transient failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from schemas import agents as ag
from streams.platform.retry import backoff_delay, retry_transient
from streams.platform.steps import decode_or_dead_letter


@dataclass
class Message:
    topic: str = "t.agent-events"
    partition: int = 2
    offset: int = 41


@dataclass
class Event:
    value: bytes | None
    key: bytes | None = b"a1"
    message: Message = field(default_factory=Message)


@dataclass
class Sink:
    letters: list[dict[str, Any]] = field(default_factory=list)

    async def dead_letter(self, reason: str, **where: Any) -> None:
        self.letters.append({"reason": reason, **where})


async def test_a_good_record_is_decoded_and_nothing_is_dead_lettered() -> None:
    sink = Sink()
    ready = ag.AgentReady(pool_id="p", agent_id="a1")
    record = await decode_or_dead_letter(Event(ready.to_bytes()), frozenset({"agent_ready"}), sink)
    assert record == ready and sink.letters == []


@pytest.mark.parametrize(
    ("value", "accept", "reason"),
    [
        (b"{nope", frozenset({"agent_ready"}), "not JSON"),
        (ag.AgentReady(pool_id="p", agent_id="a").to_bytes(), frozenset(), "unknown record type"),
    ],
)
async def test_a_bad_record_goes_to_the_dead_letter_sink_with_where_it_came_from(
    value: bytes, accept: frozenset[str], reason: str
) -> None:
    sink = Sink()
    assert await decode_or_dead_letter(Event(value), accept, sink) is None
    (letter,) = sink.letters
    assert reason in letter["reason"]
    assert (letter["source_topic"], letter["partition"], letter["offset"]) == (
        "t.agent-events",
        2,
        41,
    )
    assert (letter["payload"], letter["key"]) == (value, b"a1")


async def test_transient_failures_retry_with_backoff_and_others_propagate() -> None:
    slept: list[float] = []
    attempts = iter([ConnectionError("refused"), TimeoutError(), "done"])

    async def operation() -> str:
        outcome = next(attempts)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    result = await retry_transient(
        operation, writer="test", what="op", base=1.0, cap=3.0, sleep=sleep, rand=lambda: 1.0
    )
    assert result == "done" and slept == [1.0, 2.0]

    async def broken() -> None:
        raise ValueError("a bug is not retried")

    with pytest.raises(ValueError):
        await retry_transient(broken, writer="test", what="op", sleep=sleep)


def test_backoff_is_capped_with_equal_jitter() -> None:
    assert backoff_delay(1, base=2, cap=10, rand=0.0) == 1.0
    assert backoff_delay(3, base=2, cap=10, rand=1.0) == 8.0
    assert backoff_delay(9, base=2, cap=10, rand=0.5) == 7.5


async def test_with_the_database_away_the_retry_probes_for_its_return_instead_of_sleeping() -> None:
    """Three failures while the probe says the database is away, then it answers: the retry
    waits probe intervals (not a growing backoff), runs as soon as the probe answers, and a
    failure with the database answering backs off from the start again."""
    answers = iter([False, False, False, True, True])
    failures = iter([OSError("refused"), OSError("reset"), None])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def reconnect() -> bool:
        return next(answers)

    async def operation() -> str:
        failure = next(failures)
        if failure is not None:
            raise failure
        return "done"

    result = await retry_transient(
        operation,
        writer="test",
        what="op",
        base=1.0,
        cap=30.0,
        sleep=sleep,
        rand=lambda: 1.0,
        reconnect=reconnect,
        probe_interval=0.2,
    )
    # failure 1: probe no; wait 0.2, no; 0.2, no; 0.2, yes: retry at once;
    # failure 2: the probe answers, so an ordinary first backoff step
    assert result == "done" and slept == [0.2, 0.2, 0.2, 1.0]
