"""Guide audit events, published by the agent desk on the guide-events topic (key: contact id).

One record per fact of a guide's run: a step started, completed, skipped (with a reason) or
failed (a check answered "no"), a note added, the contact escalated to a specialist and the
run resumed there, the guide completed. ``seq`` is the fact's place in the run; the event id is
the contact id and ``seq``, so a fact is one record however often it is sent."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from schemas.base import PoolRecord


class GuideEvent(PoolRecord):
    contact_id: str = Field(min_length=1, max_length=200)
    guide_id: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    seq: int = Field(ge=1)
    agent_id: str | None = None
    step_id: str | None = None
    value: str | None = Field(default=None, max_length=10_000)
    reason: str = Field(default="", max_length=1000)


class GuideStepStarted(GuideEvent):
    TYPE: ClassVar[str] = "guide_step_started"


class GuideStepCompleted(GuideEvent):
    TYPE: ClassVar[str] = "guide_step_completed"


class GuideStepSkipped(GuideEvent):
    TYPE: ClassVar[str] = "guide_step_skipped"


class GuideStepFailed(GuideEvent):
    TYPE: ClassVar[str] = "guide_step_failed"


class GuideNoteAdded(GuideEvent):
    TYPE: ClassVar[str] = "guide_note_added"


class GuideEscalated(GuideEvent):
    """The contact went to another skill's queue; ``value`` names the skills."""

    TYPE: ClassVar[str] = "guide_escalated"


class GuideResumed(GuideEvent):
    TYPE: ClassVar[str] = "guide_resumed"


class GuideCompleted(GuideEvent):
    TYPE: ClassVar[str] = "guide_completed"


GUIDE_EVENT_TYPES: dict[str, type[GuideEvent]] = {
    "step_started": GuideStepStarted,
    "step_completed": GuideStepCompleted,
    "step_skipped": GuideStepSkipped,
    "step_failed": GuideStepFailed,
    "note_added": GuideNoteAdded,
    "guide_escalated": GuideEscalated,
    "guide_resumed": GuideResumed,
    "guide_completed": GuideCompleted,
}
