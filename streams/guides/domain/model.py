"""A guide's definition: its trigger (which contacts it is for) and its ordered steps, each with
the customer data it shows, what the agent records, whether it is required, its preconditions,
its branches and an optional escalation. ``Guide.check()`` finds what would make a run stuck."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

DATA_SOURCES = frozenset({"profile", "tier", "notices", "recent_contacts", "balances"})
RECORD_KINDS = frozenset({"choice", "check", "note", "confirm"})
CHECK_VALUES = ("yes", "no")


class GuideError(ValueError):
    """A definition that cannot run; ``step`` names the step at fault (None: the guide)."""

    def __init__(self, message: str, step: str | None = None) -> None:
        super().__init__(f"step {step!r}: {message}" if step else message)
        self.step = step


@dataclass(frozen=True)
class Trigger:
    """Which contacts a guide is for: a routing skill (the IVR choice maps to one), a first
    word of an SMS or a word of an e-mail subject, or the agent's pick on the desk."""

    skills: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    agent_pick: bool = True

    def matches(self, channel: str, skills: Sequence[str], text: str) -> bool:
        if self.channels and channel not in self.channels:
            return False
        if any(skill in self.skills for skill in skills):
            return True
        words = {w.strip(".,:;!?()[]").casefold() for w in text.split()}
        return any(k.casefold() in words for k in self.keywords)


@dataclass(frozen=True)
class Precondition:
    """A step that must have been completed first, optionally with a given answer."""

    step: str
    answer: str | None = None


@dataclass(frozen=True)
class Escalation:
    """Recording this step hands the contact to another skill's queue."""

    skills: Mapping[str, int]
    reason: str = ""


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    record: str = "confirm"  # choice | check | note | confirm
    instructions: str = ""
    shows: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    required: bool = False
    requires: tuple[Precondition, ...] = ()
    branches: Mapping[str, str] = field(default_factory=dict)
    escalate: Escalation | None = None

    def answers(self) -> tuple[str, ...] | None:
        """The values this step accepts; None for free text."""
        if self.record == "choice":
            return self.options
        if self.record == "check":
            return CHECK_VALUES
        if self.record == "confirm":
            return ("done",)
        return None


@dataclass(frozen=True)
class Guide:
    guide_id: str
    version: int
    title: str
    steps: tuple[Step, ...]
    trigger: Trigger = Trigger()
    reason: str = ""

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def index(self, step_id: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.id == step_id)

    def has_step(self, step_id: str) -> bool:
        return any(s.id == step_id for s in self.steps)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.steps if s.required)

    def check(self) -> Guide:
        """This guide, if every step can run; else GuideError naming the step."""
        if not self.steps:
            raise GuideError("a guide needs at least one step")
        seen: dict[str, Step] = {}
        for step in self.steps:
            self._check_step(step, seen)
            seen[step.id] = step
        return self

    def _check_step(self, step: Step, earlier: Mapping[str, Step]) -> None:
        if step.id in earlier:
            raise GuideError("step id used twice", step.id)
        if step.record not in RECORD_KINDS:
            raise GuideError(f"record must be one of {sorted(RECORD_KINDS)}", step.id)
        if step.record == "choice" and len(set(step.options)) < 2:
            raise GuideError("a choice needs at least two distinct options", step.id)
        unknown = sorted(set(step.shows) - DATA_SOURCES)
        if unknown:
            raise GuideError(f"shows unknown data {unknown}", step.id)
        for pre in step.requires:
            before = earlier.get(pre.step)
            if before is None:
                raise GuideError(f"precondition on {pre.step!r}, not an earlier step", step.id)
            accepted = before.answers()
            if pre.answer is not None and accepted is not None and pre.answer not in accepted:
                raise GuideError(f"precondition answer {pre.answer!r} is not possible", step.id)
        accepted = step.answers()
        for answer, target in step.branches.items():
            if accepted is not None and answer not in accepted:
                raise GuideError(f"branch on {answer!r}, not an answer of this step", step.id)
            if target in earlier or target == step.id or not self.has_step(target):
                raise GuideError(f"branch to {target!r}, not a later step", step.id)
        if step.escalate is not None and not step.escalate.skills:
            raise GuideError("an escalation names the skills of its queue", step.id)


def guide_for(
    guides: Sequence[Guide], channel: str, skills: Sequence[str], text: str
) -> Guide | None:
    """The first guide whose trigger matches the contact (channel, routing skills, the first
    message or the subject); None when the agent picks one."""
    return next((g for g in guides if g.trigger.matches(channel, skills, text)), None)
