"""The desk's HTTP surface, declared: the agent API (``/api/*``), the page's sign-in, the
survey page, the guide API, the operations routes — and the admin and supervisor routes, whose
typed route tables describe themselves (``services.admin.openapi``). One OpenAPI document is
generated from both and served at ``/openapi.json``; ``tests/unit/test_openapi.py`` checks it
lists exactly the routes the app registers."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.admin.api import ADMIN_ROUTES
from services.admin.openapi import openapi_document as typed_routes_document
from services.api_table import (
    HTML,
    JSON,
    TEXT,
    Answer,
    Body,
    ErrorBody,
    Operation,
    Param,
    add_document_route,
    openapi_document,
    text_or_json,
)
from services.desk.page_routes import MAX_TOKEN, PAGE_HEADER
from services.desk.transfers import NOTE_LIMIT
from services.http_ops import OPS_OPERATIONS
from services.supervisor.api import SUPERVISOR_ROUTES

__all__ = ["DESK_OPERATIONS", "add_desk_document", "desk_document"]

STREAM = "text/event-stream"


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# ---------------------------------------------------------------- request bodies
class SignIn(BaseModel):
    token: str = Field(min_length=1, max_length=MAX_TOKEN)


class StateChange(BaseModel):
    state: Literal["ready", "not_ready", "logged_out"]
    reason: str | None = Field(default=None, max_length=100)


class Rejection(BaseModel):
    reason: str = Field(default="", max_length=200)


class Reply(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)
    id: str | None = Field(default=None, max_length=100, description="sent once per id")


class Completion(BaseModel):
    disposition: str = Field(default="", max_length=200)


class GuidePick(BaseModel):
    guide_id: str = Field(max_length=100)


class StepValue(BaseModel):
    value: str = Field(max_length=10_000)


class StepSkip(BaseModel):
    reason: str = Field(max_length=10_000)


class GuideNote(BaseModel):
    text: str = Field(max_length=10_000)
    step_id: str | None = None


class TransferRequest(BaseModel):
    to_agent_id: str | None = Field(default=None, max_length=200, description="or to_skill")
    to_skill: str | None = Field(default=None, max_length=100, description="a queue")
    note: str = Field(default="", max_length=NOTE_LIMIT)
    id: str | None = Field(default=None, max_length=100, description="sent once per id")


class ConsultRequest(BaseModel):
    to_agent_id: str = Field(min_length=1, max_length=200)
    note: str = Field(min_length=1, max_length=2000)
    contact_id: str | None = Field(default=None, max_length=200)
    reply_to: str | None = Field(default=None, max_length=100, description="the consult answered")


# ---------------------------------------------------------------- answers
class SignedIn(BaseModel):
    agent_id: str
    name: str | None


class Done(BaseModel):
    """An action's outcome: ``status`` and what it concerns."""

    model_config = ConfigDict(extra="allow")
    status: str


class AgentProfile(BaseModel):
    agent_id: str
    pool_id: str
    name: str | None
    skills: dict[str, int]
    role: str
    supervised_pools: list[str]


class DeskConfig(BaseModel):
    disposition_codes: list[Any]
    canned_replies: list[Any]


class QueueView(BaseModel):
    pool_id: str
    classes: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    unservable: list[dict[str, Any]]


class AgentStatus(_Open):
    state: str
    since: str


class ContactView(BaseModel):
    contact_id: str
    channel: str | None
    status: str | None
    messages: list[dict[str, Any]]


class TransferTargets(BaseModel):
    queues: list[str]
    agents: list[dict[str, Any]]


class Wrapup(BaseModel):
    contact_id: str
    wrapup_since: str


class GuideCatalogue(BaseModel):
    guides: list[dict[str, Any]]


class GuideView(_Open):
    """The contact's guide run: steps, the current step with its data, notes."""


class GuideRefusal(BaseModel):
    error: str
    kind: str
    steps: list[str]


# ---------------------------------------------------------------- declarations
AGENT = ("bearer", "session", "query_token")
ERR = text_or_json
UNAUTHORIZED = Answer(401, "no agent token, or an unknown or disabled one", (Body(TEXT),))
NOT_JSON = (
    ERR(400, "the body is not a JSON object, a field is not a string of its length"),
    Answer(413, "the body is larger than 256 KiB", (Body(TEXT),)),
    Answer(415, "the body is not JSON, or declares an unknown charset", (Body(TEXT),)),
)
UNAVAILABLE = Answer(
    503,
    "the broker did not take the event (call again)",
    (Body(JSON, ErrorBody),),
    ("Retry-After",),
)
FORBIDDEN = ERR(403, f"another agent's offer or contact, or a page's change without {PAGE_HEADER}")


def _api(
    method: str,
    path: str,
    operation_id: str,
    summary: str,
    answer: type[BaseModel] | None,
    *extra: Answer,
    body: type[BaseModel] | None = None,
    tag: str = "agent",
) -> Operation:
    ok = Answer(200, "done", (Body(JSON, answer) if answer else Body(STREAM),))
    refusals: tuple[Answer, ...] = (UNAUTHORIZED, FORBIDDEN)
    if method != "GET":
        refusals += (*NOT_JSON, UNAVAILABLE)
    else:
        refusals += (ERR(400, "the URL holds text that cannot be stored"),)
    answers = {a.status: a for a in (ok, *refusals, *extra)}
    return Operation(
        method,
        path,
        operation_id,
        summary,
        tag,
        tuple(answers[s] for s in sorted(answers)),
        body=body,
        security=AGENT,
    )


NO_OFFER = ERR(404, "no open offer of that id")
NOT_ASSIGNED = ERR(404, "the contact is not assigned")
CLOSED = ERR(409, "the conversation is closed, or the channel refused for good")
GUIDE_ANSWERS = (
    NOT_ASSIGNED,
    Answer(409, "the guide refused (kind names why)", (Body(JSON, _Open), Body(TEXT))),
    Answer(400, "the step does not take the answer", (Body(JSON, _Open), Body(TEXT))),
)
CHANNEL = (
    Answer(422, "the channel cannot carry it (no replies on it)", (Body(JSON, ErrorBody),)),
    Answer(502, "the channel's service did not answer (call again)", (Body(JSON, ErrorBody),)),
)
SURVEY = (Param("t", "query", "the survey link's token"),)

DESK_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/",
        "deskPage",
        "The agents' page",
        "page",
        (Answer(200, "the page", (Body(HTML),)),),
    ),
    Operation(
        "POST",
        "/session",
        "signIn",
        "The page signs in: the token is kept in an HttpOnly, SameSite=Strict cookie",
        "page",
        (
            Answer(200, "signed in", (Body(JSON, SignedIn),), ("Set-Cookie",)),
            ERR(400, "no token, or one longer than the limit"),
            Answer(401, "unknown agent token", (Body(JSON, ErrorBody),)),
            *NOT_JSON[1:],
        ),
        body=SignIn,
    ),
    Operation(
        "DELETE",
        "/session",
        "signOut",
        "The page signs out: the cookie is cleared",
        "page",
        (Answer(200, "signed out", (Body(JSON, Done),), ("Set-Cookie",)),),
    ),
    _api("GET", "/api/me", "me", "The agent: pool, skills, role, supervised pools", AgentProfile),
    _api(
        "GET",
        "/api/config",
        "deskConfig",
        "The pool's wrap-up codes and canned replies",
        DeskConfig,
    ),
    _api("GET", "/api/queue", "queue", "Waiting contacts the agent could take", QueueView),
    _api(
        "GET",
        "/api/status",
        "agentStatus",
        "The agent's state in routing, since when, and per channel load and capacity",
        AgentStatus,
        ERR(404, "routing holds no state of this agent yet"),
    ),
    _api(
        "GET",
        "/api/stream",
        "stream",
        "The agent's live events (Server-Sent Events): current work first, then offers,"
        " assignments, messages, typing…",
        None,
    ),
    _api("POST", "/api/login", "login", "The agent logs in to routing", Done),
    _api(
        "POST",
        "/api/state",
        "setState",
        "Ready, not ready (with a reason) or logged out",
        Done,
        body=StateChange,
    ),
    _api(
        "POST",
        "/api/offers/{offer_id}/accept",
        "acceptOffer",
        "Accept an offer: waits for routing's assignment (202 while pending)",
        Done,
        Answer(202, "routing has not answered yet", (Body(JSON, Done),)),
        NO_OFFER,
        Answer(409, "the offer expired, was rescinded or rejected", (Body(JSON, Done),)),
        *CHANNEL,
    ),
    _api(
        "POST",
        "/api/offers/{offer_id}/reject",
        "rejectOffer",
        "Reject an offer, with a reason",
        Done,
        NO_OFFER,
        body=Rejection,
    ),
    _api(
        "GET",
        "/api/contacts/{contact_id}",
        "contact",
        "The contact's conversation: channel, status, messages",
        ContactView,
        NOT_ASSIGNED,
    ),
    _api(
        "POST",
        "/api/contacts/{contact_id}/reply",
        "reply",
        "Send a reply on the contact's channel (once per id)",
        Done,
        NOT_ASSIGNED,
        CLOSED,
        *CHANNEL,
        body=Reply,
    ),
    _api(
        "POST",
        "/api/contacts/{contact_id}/wrapup",
        "wrapup",
        "Begin the contact's wrap-up",
        Wrapup,
        NOT_ASSIGNED,
    ),
    _api(
        "POST",
        "/api/contacts/{contact_id}/typing",
        "typing",
        "The agent is typing (published at most every two seconds per contact)",
        Done,
        NOT_ASSIGNED,
    ),
    _api(
        "POST",
        "/api/contacts/{contact_id}/complete",
        "complete",
        "Complete the contact with a disposition (409 naming the guide's missing steps)",
        Done,
        NOT_ASSIGNED,
        Answer(409, "the guide's required steps are missing", (Body(JSON, GuideRefusal),)),
        *CHANNEL,
        body=Completion,
    ),
    _api(
        "GET",
        "/api/transfer-targets",
        "transferTargets",
        "The pool's queues (skills) and its other agents, to transfer or consult",
        TransferTargets,
    ),
    _api(
        "POST",
        "/api/contacts/{contact_id}/transfer",
        "transfer",
        "Transfer the contact to a queue or a named agent, with a note (once per id)",
        Done,
        NOT_ASSIGNED,
        ERR(409, "the contact is in wrap-up"),
        *CHANNEL,
        body=TransferRequest,
    ),
    _api(
        "POST",
        "/api/consults",
        "consult",
        "Ask another agent of the pool (or answer their consult)",
        Done,
        body=ConsultRequest,
    ),
    _api(
        "GET", "/api/guides", "guides", "The guides an agent may pick", GuideCatalogue, tag="guide"
    ),
    _api(
        "GET",
        "/api/contacts/{contact_id}/guide",
        "guide",
        "The contact's guide run",
        GuideView,
        *GUIDE_ANSWERS,
        tag="guide",
    ),
    _api(
        "POST",
        "/api/contacts/{contact_id}/guide",
        "pickGuide",
        "The agent picks a guide (no run yet)",
        GuideView,
        *GUIDE_ANSWERS,
        ERR(404, "no such guide, or the contact is not assigned"),
        body=GuidePick,
        tag="guide",
    ),
    _api(
        "POST",
        "/api/contacts/{contact_id}/guide/steps/{step_id}",
        "recordStep",
        "Record a step's answer",
        GuideView,
        *GUIDE_ANSWERS,
        body=StepValue,
        tag="guide",
    ),
    _api(
        "POST",
        "/api/contacts/{contact_id}/guide/steps/{step_id}/skip",
        "skipStep",
        "Skip a step, with a reason",
        GuideView,
        *GUIDE_ANSWERS,
        body=StepSkip,
        tag="guide",
    ),
    _api(
        "POST",
        "/api/contacts/{contact_id}/guide/notes",
        "guideNote",
        "Add a note to the run",
        GuideView,
        *GUIDE_ANSWERS,
        body=GuideNote,
        tag="guide",
    ),
    _api(
        "POST",
        "/api/contacts/{contact_id}/guide/handover",
        "guideHandover",
        "Send an escalation's transfer again (after its publish failed)",
        GuideView,
        *GUIDE_ANSWERS,
        tag="guide",
    ),
    Operation(
        "GET",
        "/survey/{contact_id}",
        "surveyForm",
        "The satisfaction survey's page (the link in the e-mail or chat)",
        "survey",
        (
            Answer(200, "the form", (Body(HTML),)),
            ERR(400, "the URL holds text that cannot be stored"),
        ),
        params=SURVEY,
    ),
    Operation(
        "POST",
        "/survey/{contact_id}",
        "surveyAnswer",
        "The survey form's answer: a score from 1 to 5 and a comment",
        "survey",
        (
            Answer(200, "thanks", (Body(HTML),)),
            Answer(
                400, "no score from 1 to 5, or a body that is not a form", (Body(HTML), Body(TEXT))
            ),
            Answer(409, "answered already, or the link is not valid", (Body(HTML),)),
            Answer(413, "the body is larger than 256 KiB", (Body(TEXT),)),
            Answer(415, "the form declares a charset that is not a text encoding", (Body(TEXT),)),
        ),
        params=(
            Param("score", "form", "1 to 5", required=True),
            Param("comment", "form", "optional"),
            Param("t", "form", "the survey link's token"),
        ),
    ),
    Operation(
        "GET",
        "/supervisor",
        "floorPage",
        "The supervisors' floor page",
        "page",
        (Answer(200, "the page", (Body(HTML),)),),
    ),
    Operation(
        "GET",
        "/openapi.json",
        "deskOpenapi",
        "This document",
        "ops",
        (Answer(200, "the OpenAPI 3.1 document", (Body(JSON),)),),
    ),
    *OPS_OPERATIONS,
)

SECURITY_SCHEMES: dict[str, Any] = {
    "query_token": {"type": "apiKey", "in": "query", "name": "token"},
}


def desk_document() -> dict[str, Any]:
    return openapi_document(
        "contactcenter desk",
        "The agents' API and page, the guide and survey routes, the admin and supervisor APIs"
        " (least role named on each) and the operations routes. A page signed in with its"
        f" cookie sends {PAGE_HEADER}: 1 on changes. Generated from services/desk/api_doc.py"
        " and the admin and supervisor route tables.",
        DESK_OPERATIONS,
        SECURITY_SCHEMES,
        merge=typed_routes_document(ADMIN_ROUTES + SUPERVISOR_ROUTES),
    )


def add_desk_document(app: web.Application) -> None:
    add_document_route(app, desk_document())
