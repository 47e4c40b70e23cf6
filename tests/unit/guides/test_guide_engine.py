"""The guide engine: a run through its steps, preconditions, branches, skips, escalation and
completion, each with its audit events (pure, no I/O)."""

from __future__ import annotations

import pytest

from streams.guides import domain as g
from streams.guides.definitions import load_guides


@pytest.fixture(scope="module")
def address() -> g.Guide:
    return next(x for x in load_guides() if x.guide_id == "address_change")


def kinds(transition: g.Transition) -> list[tuple[str, str | None]]:
    return [(e.kind, e.step_id) for e in transition.events]


def test_a_run_goes_through_its_steps_with_audit_events(address: g.Guide) -> None:
    t = g.start(address, "c1", 10.0)
    assert t.run.current == "verify_identity" and kinds(t) == [("step_started", "verify_identity")]
    t = g.record_step(address, t.run, "verify_identity", "yes", 11.0)
    assert kinds(t) == [
        ("step_completed", "verify_identity"),
        ("step_started", "check_arrears"),
    ]
    t = g.record_step(address, t.run, "check_arrears", "none", 12.0)
    assert t.run.current == "change_address"
    assert t.run.bypassed == {"escalate_collections"}  # the branch leaves it out
    t = g.add_note(t.run, None, "customer moving abroad", 12.5)
    assert kinds(t) == [("note_added", "change_address")]
    t = g.record_step(address, t.run, "change_address", "1 New Street", 13.0)
    t = g.skip_step(address, t.run, "confirm_change", "customer in a hurry", 14.0)
    assert t.events[0].reason == "customer in a hurry" and t.run.current is None
    done = g.complete(address, t.run, 15.0)
    assert done.run.status == "completed" and kinds(done) == [("guide_completed", None)]
    assert [e.seq for e in done.events] == [t.run.seq + 1]


def test_a_step_whose_precondition_is_unmet_is_refused(address: g.Guide) -> None:
    run = g.start(address, "c2", 0.0).run
    with pytest.raises(g.GuideRefused) as refused:
        g.record_step(address, run, "change_address", "1 New Street", 1.0)
    assert refused.value.kind == "precondition" and "verify_identity" in refused.value.steps
    failed = g.record_step(address, run, "verify_identity", "no", 1.0)
    assert failed.events[0].kind == "step_failed"  # a failed check does not meet it either
    with pytest.raises(g.GuideRefused):
        g.record_step(address, failed.run, "check_arrears", "none", 2.0)


def test_completion_names_the_missing_required_steps(address: g.Guide) -> None:
    run = g.record_step(address, g.start(address, "c3", 0.0).run, "verify_identity", "yes", 1).run
    run = g.skip_step(address, run, "check_arrears", "system down", 2.0).run
    with pytest.raises(g.GuideRefused) as refused:
        g.complete(address, run, 3.0)
    assert refused.value.kind == "missing_required"
    assert refused.value.steps == ("check_arrears", "change_address")
    assert "check_arrears, change_address" in str(refused.value)


def test_bad_answers_and_reasonless_skips_are_refused(address: g.Guide) -> None:
    run = g.start(address, "c4", 0.0).run
    for step, value in (("verify_identity", "maybe"), ("nope", "yes")):
        with pytest.raises(g.GuideRefused):
            g.record_step(address, run, step, value, 1.0)
    with pytest.raises(g.GuideRefused):
        g.skip_step(address, run, "verify_identity", "  ", 1.0)
    run = g.record_step(address, run, "verify_identity", "yes", 1.0).run
    with pytest.raises(g.GuideRefused) as refused:
        g.record_step(address, run, "verify_identity", "yes", 2.0)
    assert refused.value.kind == "step_done"


def test_escalation_stops_the_run_and_a_specialist_resumes_where_it_stopped(
    address: g.Guide,
) -> None:
    run = g.record_step(address, g.start(address, "c5", 0.0).run, "verify_identity", "yes", 1).run
    run = g.record_step(address, run, "check_arrears", "large", 2.0).run
    assert run.current == "escalate_collections"
    t = g.record_step(address, run, "escalate_collections", "done", 3.0)
    assert t.escalation is not None and dict(t.escalation.skills) == {"collections": 1}
    assert t.run.status == "escalated" and t.run.current == "change_address"
    assert kinds(t)[-1] == ("guide_escalated", "escalate_collections")
    with pytest.raises(g.GuideRefused):
        g.record_step(address, t.run, "change_address", "x", 4.0)
    with pytest.raises(g.GuideRefused):
        g.complete(address, t.run, 4.0)
    resumed = g.resume(address, t.run, 5.0)
    assert resumed.run.status == "active"
    assert kinds(resumed) == [
        ("guide_resumed", "change_address"),
        ("step_started", "change_address"),
    ]
    assert g.resume(address, resumed.run, 6.0).events == ()  # resuming twice changes nothing


def test_the_same_transition_gives_the_same_events(address: g.Guide) -> None:
    run = g.start(address, "c6", 0.0).run
    first = g.record_step(address, run, "verify_identity", "yes", 1.0)
    again = g.record_step(address, run, "verify_identity", "yes", 1.0)
    assert first == again


def test_a_guide_is_chosen_by_skill_keyword_or_subject() -> None:
    guides = load_guides()
    assert g.guide_for(guides, "voice", ["account"], "").guide_id == "address_change"  # type: ignore[union-attr]
    assert g.guide_for(guides, "sms", [], "ADDRESS change please").guide_id == "address_change"  # type: ignore[union-attr]
    assert g.guide_for(guides, "email", [], "Re: my parcel is late").guide_id == "delivery_delay"  # type: ignore[union-attr]
    assert g.guide_for(guides, "chat", [], "hello") is None
