"""Pure parts of the gateway and desk: e-mail parsing, SMS keywords, TwiML, screen pop."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from services.customers import CustomerProfile
from services.desk.auth import Agent
from services.desk.channels import dial_twiml
from services.desk.screen_pop import notice_summary, suggest_next_step
from services.gateway.mime import MalformedEmail, html_to_text, parse_email
from services.gateway.sms import consent_keyword
from services.gateway.voice import hold_twiml, menu_prompt


def test_multipart_email_with_encodings_and_attachment() -> None:
    message = EmailMessage()
    message["From"] = "=?utf-8?b?SsO8cmdlbg==?= <Juergen@Example.COM>"
    message["To"] = "support@shop.example"
    message["Subject"] = "=?iso-8859-1?q?Pr=FCfung?="
    message["Message-ID"] = "<m2@example.com>"
    message["In-Reply-To"] = "<m1@shop.example>"
    message["References"] = "<m0@example.com> <m1@shop.example>"
    message.set_content("Grüße — prüfen Sie bitte.\n", cte="quoted-printable")
    message.add_alternative("<p>Grüße</p>", subtype="html")
    message.add_attachment(b"\x00" * 300, maintype="image", subtype="png", filename="a.png")
    parsed = parse_email(message.as_bytes())
    assert parsed.from_address == "juergen@example.com" and parsed.from_name == "Jürgen"
    assert parsed.subject == "Prüfung"
    assert parsed.text == "Grüße — prüfen Sie bitte."
    assert parsed.html is not None and "<p>" in parsed.html
    assert [(a.filename, a.content_type, a.size) for a in parsed.attachments] == [
        ("a.png", "image/png", 300)
    ]
    assert parsed.thread_ids() == ["<m1@shop.example>", "<m0@example.com>"]


def test_html_only_email_becomes_text_and_bad_mail_is_refused() -> None:
    raw = (
        b"From: a@b.example\r\nSubject: hi\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{}</style></head><body><p>Line one</p><p>Line <b>two</b></p>"
        b"<script>x()</script></body></html>"
    )
    parsed = parse_email(raw)
    assert parsed.text == "Line one\nLine two" and parsed.message_id is None
    with pytest.raises(MalformedEmail):
        parse_email(b"Subject: no sender\r\n\r\nbody")
    assert html_to_text("<div>a</div><br>b") == "a\nb"


def raw_8bit_email(body: bytes, content_type: str = "text/plain") -> bytes:
    return (
        b"From: Ana <ana@example.com>\r\nTo: support@example.com\r\nSubject: colis\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: " + content_type.encode() + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_8bit_body_without_charset_keeps_its_accents(encoding: str) -> None:
    text = "Où est mon colis ? Déjà réglé, merci. Señora Müller"
    parsed = parse_email(raw_8bit_email(text.encode(encoding)))
    assert parsed.text == text


def test_8bit_html_without_charset_and_a_declared_charset_are_decoded() -> None:
    html = "<p>Crème brûlée</p>".encode()
    assert parse_email(raw_8bit_email(html, "text/html")).text == "Crème brûlée"
    cp1252 = "Prix : 10 € – reçu".encode("cp1252")
    parsed = parse_email(raw_8bit_email(cp1252, "text/plain; charset=windows-1252"))
    assert parsed.text == "Prix : 10 € – reçu"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("STOP", False),
        (" stop ", False),
        ("Unsubscribe", False),
        ("END", False),
        ("quit", False),
        ("STOPALL", False),
        ("REVOKE", False),
        ("OPTOUT", False),
        ("CANCEL", False),
        ("START", True),
        ("unstop", True),
        ("YES", True),
        ("stop sending the wrong size", None),
        ("hello", None),
        ("", None),
    ],
)
def test_consent_keywords(body: str, expected: bool | None) -> None:
    assert consent_keyword(body) is expected


def test_ivr_prompt_and_hold_loop() -> None:
    prompt = menu_prompt({"1": "billing", "2": "orders", "3": "technical"})
    assert prompt.count("press") == 4 and prompt.endswith("press 0.")
    hold = str(hold_twiml(first=True))
    assert "<Gather" in hold and 'action="/twilio/voice/hold"' in hold and "<Redirect" in hold


def test_dial_twiml_for_client_and_number() -> None:
    assert "<Client>ann</Client>" in dial_twiml(Agent("ann", "p"))
    assert "<Number>+15551234567</Number>" in dial_twiml(
        Agent("ann", "p", voice_endpoint="+15551234567")
    )


def test_screen_pop_next_step() -> None:
    flag = {
        "kind": "shipment_delay",
        "text": "Order O-1 is late",
        "order_id": "O-1",
        "compensation": {"percent": 20, "text": "20% off your next order"},
        "resolved_at": None,
    }
    notice = notice_summary(flag)
    assert notice["compensation"] == "20% off your next order"
    vip = CustomerProfile(customer_id="c", tier="vip")
    step = suggest_next_step("voice", vip, [notice], callback=True)
    assert "Call the customer back" in step and "order O-1" in step and "VIP" in step
    assert suggest_next_step("email", CustomerProfile(), []).startswith("Answer the e-mail")
