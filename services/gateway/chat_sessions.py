"""Web chat sessions: who may read, write and end a chat (docs/security.md, "Web chat").

* A session's **secret** lives only in the customer's browser, in an HttpOnly cookie scoped to
  ``/chat`` (SameSite as configured); PostgreSQL keeps its SHA-256. No URL ever carries it or
  the chat's id, so neither leaks through history, logs or a shared link.
* Every **resume** (a page load) rotates the secret; the previous one works for a short grace
  (a second tab resuming at the same moment), then never again. A session unused for
  ``chat_session_idle_hours`` is gone.
* A chat belongs to a **known customer** only when the embedding site signed the customer's id:
  ``identity_hash = HMAC-SHA256(chat_identity_secret, customer_id)`` in hex, as Chatwoot's
  identity validation and Intercom's identity verification do. Anything else is anonymous: an
  unguessable chat id of its own, and the name and e-mail typed into the pre-chat form are shown
  to the agent as given, never used to look a customer up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn
from urllib.parse import urlsplit

import asyncpg
from aiohttp import web
from pydantic import SecretStr

from streams.platform import metrics
from streams.platform.settings import GatewaySettings

COOKIE = "cc_chat"
COOKIE_PATH = "/chat"


@dataclass(frozen=True)
class ChatSession:
    session_id: str
    chat_id: str  # the chat's address: a known customer's chat id, else random
    customer_id: str | None  # only from a verified identity
    name: str | None
    email: str | None  # as the visitor typed it: shown, never an identity

    @property
    def verified(self) -> bool:
        return self.customer_id is not None


class SessionRefused(Exception):
    """The request does not prove a session (401) or an identity (403)."""

    def __init__(self, reason: str, status: int, text: str) -> None:
        super().__init__(text)
        self.reason = reason  # a label of contactcenter_chat_sessions_refused_total
        self.status = status

    def response(self) -> web.Response:
        metrics.CHAT_SESSIONS_REFUSED.labels(reason=self.reason).inc()
        answer = web.Response(status=self.status, text=str(self))
        if self.status == 401:
            clear_cookie(answer)
        return answer


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def identity_hash(site_secret: str, customer_id: str) -> str:
    """What the embedding site's server computes for its signed-in customer."""
    return hmac.new(site_secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


def verify_identity(site_secret: SecretStr | None, customer_id: str, given: object) -> None:
    if site_secret is None or not site_secret.get_secret_value():
        raise SessionRefused(
            "identity_not_configured",
            403,
            "this gateway verifies no customer identities (CC_CHAT_IDENTITY_SECRET is not set);"
            " start an anonymous chat instead",
        )
    expected = identity_hash(site_secret.get_secret_value(), customer_id)
    if not isinstance(given, str) or not hmac.compare_digest(expected, given.lower()):
        raise SessionRefused(
            "bad_identity", 403, "identity_hash is not the site's signature of customer_id"
        )


def check_origin(request: web.Request, settings: GatewaySettings) -> None:
    """A browser names the page's origin; only the gateway's own and the configured embedding
    sites may open or use a chat session (a page elsewhere cannot drive the customer's)."""
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser's cross-origin request: the cookie is the proof
        return
    allowed = {_origin(url) for url in (settings.public_base_url, *settings.chat_allowed_origins)}
    own = f"{request.scheme}://{request.host}"
    if _origin(origin) not in allowed | {_origin(own)}:
        raise SessionRefused("bad_origin", 403, f"origin {origin!r} may not use this chat")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def secret_from(request: web.Request) -> str:
    secret = request.cookies.get(COOKIE, "")
    if not secret:
        raise SessionRefused("no_secret", 401, "no chat session: start one first")
    return secret


def set_cookie(
    request: web.Request, response: web.StreamResponse, secret: str, settings: GatewaySettings
) -> None:
    """The session cookie: Secure when the request came over TLS, unless set (a gateway behind
    a TLS-terminating proxy sets ``chat_cookie_secure``)."""
    secure = settings.chat_cookie_secure
    if secure is None:
        secure = request.secure
    response.set_cookie(
        COOKIE,
        secret,
        path=COOKIE_PATH,
        httponly=True,
        secure=secure,
        samesite=settings.chat_cookie_samesite,
        max_age=int(settings.chat_session_idle_hours * 3600),
    )


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=COOKIE_PATH)


_FIELDS = "session_id, chat_id, customer_id, name, email"


class ChatSessions:
    """The ``chat_sessions`` table: create, prove, rotate and end sessions."""

    def __init__(self, pool: asyncpg.Pool, settings: GatewaySettings) -> None:
        self.pool = pool
        self.idle = timedelta(hours=settings.chat_session_idle_hours)
        self.grace = timedelta(seconds=settings.chat_session_rotation_grace_seconds)

    async def create(
        self,
        *,
        name: str | None,
        email: str | None,
        customer_id: str | None = None,
        chat_id: str | None = None,
    ) -> tuple[ChatSession, str]:
        """A new session and its secret. ``customer_id`` only from a verified identity."""
        secret = secrets.token_urlsafe(32)
        session = ChatSession(
            session_id=uuid.uuid4().hex,
            chat_id=chat_id or f"web-{secrets.token_urlsafe(16)}",
            customer_id=customer_id,
            name=name,
            email=email,
        )
        await self.pool.execute(
            "INSERT INTO chat_sessions (session_id, token_hash, chat_id, customer_id, name, email)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            session.session_id,
            token_hash(secret),
            session.chat_id,
            session.customer_id,
            session.name,
            session.email,
        )
        return session, secret

    async def prove(self, secret: str) -> ChatSession:
        """The live session this secret opens (the current one, or the previous within the
        rotation grace); marks it used."""
        digest = token_hash(secret)
        row = await self.pool.fetchrow(
            "UPDATE chat_sessions SET last_seen_at = now() WHERE revoked_at IS NULL"
            " AND last_seen_at > now() - $2::interval AND (token_hash = $1"
            " OR (previous_token_hash = $1 AND rotated_at > now() - $3::interval))"
            f" RETURNING {_FIELDS}",
            digest,
            self.idle,
            self.grace,
        )
        if row is None:
            await self._refuse(digest)
        return ChatSession(**dict(row))

    async def rotate(self, secret: str) -> tuple[ChatSession, str]:
        """Prove the session and give it a new secret (a resume); the old one keeps working
        only for the rotation grace."""
        session = await self.prove(secret)
        fresh = secrets.token_urlsafe(32)
        await self.pool.execute(
            "UPDATE chat_sessions SET previous_token_hash = token_hash, token_hash = $2,"
            " rotated_at = now() WHERE session_id = $1",
            session.session_id,
            token_hash(fresh),
        )
        return session, fresh

    async def revoke(self, secret: str) -> bool:
        digest = token_hash(secret)
        status = await self.pool.execute(
            "UPDATE chat_sessions SET revoked_at = now() WHERE revoked_at IS NULL"
            " AND (token_hash = $1 OR previous_token_hash = $1)",
            digest,
        )
        return str(status).endswith(" 1")

    async def _refuse(self, digest: str) -> NoReturn:
        known = await self.pool.fetchval(
            "SELECT 1 FROM chat_sessions WHERE token_hash = $1 OR previous_token_hash = $1",
            digest,
        )
        if known:
            raise SessionRefused("expired", 401, "this chat session has expired: start a new one")
        raise SessionRefused("unknown_secret", 401, "unknown chat session: start a new one")
