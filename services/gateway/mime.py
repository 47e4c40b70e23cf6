"""Inbound e-mail → what the contact needs: addresses, threading ids, text, attachment metadata.

Parses with the standard library's ``email`` package (``policy.default`` decodes encoded
headers, quoted-printable and base64 bodies); text is decoded in its declared charset, else
UTF-8, else Latin-1. The text part is preferred; an HTML only message is reduced to its text.
Raw 8-bit header bytes are read as UTF-8 (invalid ones become U+FFFD); a message the parser
cannot read, with NUL characters (RFC 5322 has none) or with an overlong Message-ID is
malformed.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from services.http_input import unfit_text

MAX_MESSAGE_ID = 500  # Message-IDs are stored and looked up (threading) as keys


class MalformedEmail(ValueError):
    pass


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    from_address: str
    from_name: str | None
    to: list[str]
    subject: str
    text: str
    html: str | None
    attachments: list[Attachment] = field(default_factory=list)

    def thread_ids(self) -> list[str]:
        """Ids that may name an earlier message of the same thread, nearest first."""
        ids = ([self.in_reply_to] if self.in_reply_to else []) + list(reversed(self.references))
        return list(dict.fromkeys(ids))


_MSGID = re.compile(r"<[^<>\s]+>")


def message_ids(value: str | None) -> list[str]:
    return _MSGID.findall(value or "")


class _TextOf(HTMLParser):
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in {"script", "style", "head"}:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOf()
    parser.feed(html)
    text = "".join(parser.parts)
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def parse_email(raw: bytes) -> ParsedEmail:
    try:
        parsed = _parse(raw)
    except MalformedEmail:
        raise
    except Exception as exc:  # the standard library's parser fails in many ways on bad input
        raise MalformedEmail(f"unparseable message: {type(exc).__name__}: {exc}") from None
    if parsed.message_id is not None and len(parsed.message_id) > MAX_MESSAGE_ID:
        raise MalformedEmail(f"Message-ID longer than {MAX_MESSAGE_ID} characters")
    texts = [parsed.message_id, parsed.in_reply_to, parsed.from_address, parsed.from_name]
    texts += [parsed.subject, parsed.text, parsed.html, *parsed.references, *parsed.to]
    for attachment in parsed.attachments:
        texts += [attachment.filename, attachment.content_type]
    for text in texts:
        reason = unfit_text(text or "")
        if reason is not None:
            raise MalformedEmail(f"message: {reason}")
    return parsed


def _utf8(value: object) -> str:
    """A header as text: raw 8-bit bytes (kept by the parser as surrogate escapes) read as
    UTF-8."""
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _header(message: EmailMessage, name: str) -> str:
    return _utf8(message.get(name, ""))


def _parse(raw: bytes) -> ParsedEmail:
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    name, address = parseaddr(_header(message, "From"))
    if "@" not in address:
        raise MalformedEmail("missing or invalid From address")
    text, html, attachments = _bodies(message)
    if text is None:
        text = html_to_text(html) if html else ""
    ids = message_ids(_header(message, "Message-ID"))
    reply_to = message_ids(_header(message, "In-Reply-To"))
    to = getaddresses([_utf8(v) for v in message.get_all("To", [])])
    return ParsedEmail(
        message_id=ids[0] if ids else None,
        in_reply_to=reply_to[0] if reply_to else None,
        references=message_ids(_header(message, "References")),
        from_address=address.lower(),
        from_name=name or None,
        to=[a.lower() for _n, a in to],
        subject=_header(message, "Subject").strip(),
        text=text.strip(),
        html=html,
        attachments=attachments,
    )


def _bodies(message: EmailMessage) -> tuple[str | None, str | None, list[Attachment]]:
    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = part.get_content_disposition()
        if (
            disposition == "attachment"
            or (disposition == "inline" and part.get_filename() is not None)
            or not content_type.startswith("text/")
        ):
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            filename = part.get_filename()
            attachments.append(
                Attachment(None if filename is None else _utf8(filename), content_type, size)
            )
            continue
        if content_type == "text/plain" and text is None:
            text = _text(part)
        elif content_type == "text/html" and html is None:
            html = _text(part)
    return text, html, attachments


def _text(part: EmailMessage) -> str:
    """The decoded text of a part: in its declared charset, else UTF-8, else Latin-1.

    An 8-bit body without a charset parameter is most often UTF-8 (and a declared charset
    may be unknown or lie); Latin-1 decodes any bytes, so nothing is replaced by U+FFFD."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = part.get_content_charset()
    for charset in (declared, "utf-8") if declared else ("utf-8",):
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")
