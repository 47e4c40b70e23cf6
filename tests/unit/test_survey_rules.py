"""Survey rules: the channel and address by consent, quiet hours, reading an answer."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from streams.notices.policy import Customer, NoticePolicy
from streams.surveys.rules import Answer, Route, parse_answer, send_time, survey_route

MEI = Customer("cu-1", phone="+31600000001", email="mei@example.com", time_zone="Europe/Amsterdam")


@pytest.mark.parametrize(
    ("channel", "address", "customer", "route"),
    [
        ("sms", "+31600000001", MEI, Route("sms", "+31600000001")),
        ("voice", "+31600000009", MEI, Route("sms", "+31600000001")),
        ("email", "mei@example.com", MEI, Route("email", "mei@example.com")),
        ("chat", "chat-7", None, Route("chat", "chat-7")),
        ("sms", "+316", None, Route("sms", None, "unknown customer: no consent on record")),
        (
            "sms",
            "+31600000001",
            Customer("cu-2", phone="+31600000001", sms_consent=False),
            Route("sms", None, "no consent for sms"),
        ),
        (
            "email",
            "x@example.com",
            Customer("cu-3", email_consent=False),
            Route("email", None, "no consent for email"),
        ),
    ],
)
def test_the_survey_follows_the_channel_and_consent(
    channel: str, address: str, customer: Customer | None, route: Route
) -> None:
    assert survey_route(channel, address, customer) == route


def test_quiet_hours_defer_the_survey() -> None:
    policy = NoticePolicy(quiet_start=time(21, 0), quiet_end=time(8, 0))
    late = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)  # 23:30 in Amsterdam
    assert send_time(late, MEI, policy) == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    noon = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert send_time(noon, MEI, policy) == noon


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("5", Answer(5, "")),
        (" 4 - quick and kind ", Answer(4, "quick and kind")),
        ("1. never again", Answer(1, "never again")),
        ("10", None),
        ("6", None),
        ("hello", None),
        ("", None),
    ],
)
def test_an_answer_is_a_score_and_a_comment(text: str, answer: Answer | None) -> None:
    assert parse_answer(text) == answer
