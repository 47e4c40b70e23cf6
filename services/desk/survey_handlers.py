"""The satisfaction survey on the desk: planned when the agent completes a contact (a prompt in
the chat right away; SMS and e-mail go out through the notifier), and the page behind the link
in the e-mail and chat: ``GET /survey/{contact_id}?t=<token>`` and its form's POST."""

from __future__ import annotations

import html
import logging

from aiohttp import web

from schemas.base import utc_now
from services.conversations import Conversation
from services.desk.auth import Agent
from services.desk.desk import Desk
from services.surveys import answer_by_link, plan_survey
from streams.notices.config import notice_policy
from streams.platform import metrics
from streams.surveys.rules import chat_text, parse_answer

log = logging.getLogger(__name__)
SURVEY_DESK: web.AppKey[Desk] = web.AppKey("survey_desk", Desk)


async def survey_after_completion(desk: Desk, agent: Agent, conversation: Conversation) -> None:
    """Plan the contact's survey (once per contact); a failure here never fails completion."""
    try:
        reason = "none"
        if desk.guides is not None:
            stored = await desk.guides.current(conversation.contact_id)
            if stored is not None:
                reason = desk.guides.guide(stored.run.guide_id, stored.run.version).reason
        planned = await plan_survey(
            desk.pool,
            contact_id=conversation.contact_id,
            channel=conversation.channel,
            address=conversation.address,
            customer_id=conversation.customer_id,
            customer_class=conversation.customer_class,
            agent_id=agent.agent_id,
            reason=reason or "none",
            policy=notice_policy(desk.settings),
            public_url=desk.settings.survey_public_url,
            now=utc_now(),
        )
        if planned is not None and planned.channel == "chat" and planned.status == "sent":
            await desk.actions.reply(conversation, agent, chat_text(planned.link))
    except Exception as exc:
        log.warning("survey of %s not planned: %r", conversation.contact_id, exc)
        metrics.ERRORS.labels(component="desk_survey", kind=type(exc).__name__).inc()


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>How did we do?</title>
</head><body style="font:16px system-ui,sans-serif;max-width:30em;margin:2em auto">{body}
</body></html>"""


def _page(body: str, status: int = 200) -> web.Response:
    return web.Response(text=PAGE.format(body=body), content_type="text/html", status=status)


async def survey_form(request: web.Request) -> web.Response:
    contact_id, token = request.match_info["contact_id"], request.query.get("t", "")
    buttons = "".join(
        f'<button name="score" value="{n}" type="submit">{n}</button> ' for n in range(1, 6)
    )
    return _page(
        "<h1>How satisfied are you?</h1><p>1 = not at all, 5 = very.</p>"
        f'<form method="post"><input type="hidden" name="t" value="{html.escape(token)}">'
        f'<p><textarea name="comment" rows="3" cols="40" placeholder="A comment (optional)">'
        f"</textarea></p><p>{buttons}</p></form>"
        f"<!-- {html.escape(contact_id)} -->"
    )


async def survey_answer(request: web.Request) -> web.Response:
    form = await request.post()
    score, comment = str(form.get("score", "")), str(form.get("comment", ""))
    answer = parse_answer(f"{score} {comment[:1000]}") if score.isdigit() else None
    if answer is None:
        return _page("<p>Please choose a score from 1 to 5.</p>", status=400)
    desk = request.app[SURVEY_DESK]
    if not await answer_by_link(
        desk.pool, request.match_info["contact_id"], str(form.get("t", "")), answer
    ):
        return _page("<p>This survey was answered already or the link is not valid.</p>", 409)
    return _page("<h1>Thank you!</h1><p>Your answer helps us do better.</p>")


def add_survey_routes(app: web.Application, desk: Desk) -> None:
    app[SURVEY_DESK] = desk
    app.router.add_get("/survey/{contact_id}", survey_form)
    app.router.add_post("/survey/{contact_id}", survey_answer)
