"""A guide's run on one contact: pure transitions that return the new run and the audit events
they cause (step started, completed, skipped with a reason, failed; notes; escalation;
completion). A refused action raises GuideRefused and changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from streams.guides.domain.model import Escalation, Guide, Step

ACTIVE, ESCALATED, COMPLETED = "active", "escalated", "completed"


class GuideRefused(Exception):
    """An action the run cannot take now; ``kind`` says why, ``steps`` which steps."""

    def __init__(self, kind: str, message: str, steps: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.steps = steps


@dataclass(frozen=True)
class StepResult:
    status: str  # completed | skipped | failed
    value: str | None = None
    reason: str = ""
    at: float = 0.0


@dataclass(frozen=True)
class Note:
    """Free text the agent added at a step, kept with the run for whoever takes it next."""

    step_id: str | None
    text: str
    at: float
    by: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    """One audited fact; ``seq`` is its place in the run (1, 2, …): with the contact id it
    makes the event's id, so a transition applied twice gives the same ids."""

    seq: int
    kind: str  # step_started | step_completed | step_skipped | step_failed | note_added |
    #            guide_escalated | guide_resumed | guide_completed
    at: float
    step_id: str | None = None
    value: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class GuideRun:
    contact_id: str
    guide_id: str
    version: int
    status: str = ACTIVE
    current: str | None = None
    results: Mapping[str, StepResult] = field(default_factory=dict)
    bypassed: frozenset[str] = frozenset()
    seq: int = 0
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Transition:
    run: GuideRun
    events: tuple[AuditEvent, ...]
    escalation: Escalation | None = None


class _Builder:
    def __init__(self, run: GuideRun) -> None:
        self.run = run
        self.events: list[AuditEvent] = []

    def emit(self, kind: str, at: float, step_id: str | None, **extra: str | None) -> None:
        seq = self.run.seq + 1
        value, reason = extra.get("value"), extra.get("reason") or ""
        self.events.append(AuditEvent(seq, kind, at, step_id, value, reason))
        self.run = replace(self.run, seq=seq)

    def move_to(self, step_id: str | None, at: float) -> None:
        changed = step_id != self.run.current
        self.run = replace(self.run, current=step_id)
        if changed and step_id is not None:
            self.emit("step_started", at, step_id)

    def done(self, escalation: Escalation | None = None) -> Transition:
        return Transition(self.run, tuple(self.events), escalation)


def start(guide: Guide, contact_id: str, now: float) -> Transition:
    built = _Builder(GuideRun(contact_id, guide.guide_id, guide.version))
    built.move_to(guide.steps[0].id, now)
    return built.done()


def _open(run: GuideRun, step_id: str) -> bool:
    return step_id not in run.results and step_id not in run.bypassed


def _next_open(guide: Guide, run: GuideRun, after: int) -> str | None:
    later = [s.id for s in guide.steps[after + 1 :] if _open(run, s.id)]
    earlier = [s.id for s in guide.steps[: after + 1] if _open(run, s.id)]
    found = later or earlier
    return found[0] if found else None


def _usable_step(guide: Guide, run: GuideRun, step_id: str) -> Step:
    if run.status == COMPLETED:
        raise GuideRefused("completed", "the guide is completed")
    if run.status == ESCALATED:
        raise GuideRefused("escalated", "the contact is escalated: a specialist resumes it")
    if not guide.has_step(step_id):
        raise GuideRefused("unknown_step", f"no step {step_id!r} in {guide.guide_id}")
    if not _open(run, step_id):
        raise GuideRefused("step_done", f"step {step_id!r} is done already", (step_id,))
    return guide.step(step_id)


def unmet_preconditions(run: GuideRun, step: Step) -> tuple[str, ...]:
    unmet = []
    for pre in step.requires:
        result = run.results.get(pre.step)
        ok = result is not None and result.status == "completed"
        if ok and pre.answer is not None:
            ok = result is not None and result.value == pre.answer
        if not ok:
            unmet.append(pre.step)
    return tuple(unmet)


def record_step(guide: Guide, run: GuideRun, step_id: str, value: str, now: float) -> Transition:
    """The agent records the step's answer; a check answered "no" is a failed step. The run
    moves to the branch for the answer, else to the next open step; an escalation step hands
    the contact over and stops the run here until a specialist resumes it."""
    step = _usable_step(guide, run, step_id)
    unmet = unmet_preconditions(run, step)
    if unmet:
        names = ", ".join(unmet)
        raise GuideRefused("precondition", f"{step_id!r} needs {names} first", unmet)
    accepted = step.answers()
    value = value.strip()
    if accepted is None and not value:
        raise GuideRefused("bad_value", f"{step_id!r} needs a note")
    if accepted is not None and value not in accepted:
        raise GuideRefused("bad_value", f"{step_id!r} accepts {', '.join(accepted)}")
    built = _Builder(run)
    if built.run.current != step_id:
        built.emit("step_started", now, step_id)
    status = "failed" if step.record == "check" and value == "no" else "completed"
    built.emit(f"step_{status}", now, step_id, value=value)
    results = {**run.results, step_id: StepResult(status, value, at=now)}
    built.run = replace(built.run, results=results)
    index = guide.index(step_id)
    target = step.branches.get(value)
    if target is not None:
        between = {s.id for s in guide.steps[index + 1 : guide.index(target)]}
        bypass = frozenset(s for s in between if _open(built.run, s))
        built.run = replace(built.run, bypassed=built.run.bypassed | bypass)
    following = target or _next_open(guide, built.run, index)
    if step.escalate is not None:
        built.run = replace(built.run, status=ESCALATED, current=following)
        skills = ",".join(sorted(step.escalate.skills))
        built.emit("guide_escalated", now, step_id, value=skills, reason=step.escalate.reason)
        return built.done(step.escalate)
    built.move_to(following, now)
    return built.done()


def skip_step(guide: Guide, run: GuideRun, step_id: str, reason: str, now: float) -> Transition:
    step = _usable_step(guide, run, step_id)
    if not reason.strip():
        raise GuideRefused("reason_missing", f"skipping {step.id!r} needs a reason")
    built = _Builder(run)
    built.emit("step_skipped", now, step_id, reason=reason.strip())
    results = {**run.results, step_id: StepResult("skipped", reason=reason.strip(), at=now)}
    built.run = replace(built.run, results=results)
    if run.current == step_id:
        built.move_to(_next_open(guide, built.run, guide.index(step_id)), now)
    return built.done()


def add_note(
    run: GuideRun, step_id: str | None, text: str, now: float, by: str | None = None
) -> Transition:
    if not text.strip():
        raise GuideRefused("bad_value", "a note needs text")
    if run.status == COMPLETED:
        raise GuideRefused("completed", "the guide is completed")
    at_step = step_id or run.current
    built = _Builder(replace(run, notes=(*run.notes, Note(at_step, text.strip(), now, by))))
    built.emit("note_added", now, at_step, value=text.strip())
    return built.done()


def resume(guide: Guide, run: GuideRun, now: float) -> Transition:
    """A specialist takes over an escalated run at the step where it stopped."""
    if run.status != ESCALATED:
        return Transition(run, ())
    built = _Builder(replace(run, status=ACTIVE))
    built.emit("guide_resumed", now, run.current)
    if run.current is not None:
        built.emit("step_started", now, run.current)
    return built.done()


def missing_required(guide: Guide, run: GuideRun) -> tuple[str, ...]:
    """Required steps neither run (completed or failed) nor left out by a branch taken."""
    return tuple(
        step_id
        for step_id in guide.required
        if step_id not in run.bypassed
        and (run.results.get(step_id) is None or run.results[step_id].status == "skipped")
    )


def complete(guide: Guide, run: GuideRun, now: float) -> Transition:
    if run.status == COMPLETED:
        return Transition(run, ())
    if run.status == ESCALATED:
        raise GuideRefused("escalated", "the contact is escalated: a specialist completes it")
    missing = missing_required(guide, run)
    if missing:
        raise GuideRefused(
            "missing_required", f"required steps missing: {', '.join(missing)}", missing
        )
    built = _Builder(replace(run, status=COMPLETED, current=None))
    built.emit("guide_completed", now, None)
    return built.done()
