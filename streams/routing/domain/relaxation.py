"""Relaxation: a waiting contact's requirement widens in configured steps over its wait
(the bullseye of Genesys, the workflow timeouts of TaskRouter), so that a contact nobody
qualified can take now reaches a wider ring of agents at a known time, not never.

A step applies ``after_seconds`` of waiting (from the contact's arrival, which a requeue
keeps): it may lower every remaining minimum proficiency (``lower_by``), drop named skills
(``drop``), or drop every skill but the language ones (``any_agent``: "any agent of the
pool"). A language skill (``lang_*``) is dropped only when a step names it in ``drop``: a
customer is never handed to an agent who cannot speak with them by a timer.

Steps are cumulative and applied from the original requirement, so the requirement after
step k is a pure function of (original, steps, k); only k is stored with the contact, and the
due times are rebuilt from the arrival on restore. The router applies due steps when its
clock, which comes from the inputs (ticks included), passes them, so replays are identical."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sortedcontainers import SortedList

LANGUAGE_PREFIX = "lang_"


@dataclass(frozen=True)
class RelaxStep:
    after_seconds: float
    lower_by: int = 0
    drop: frozenset[str] = frozenset()
    any_agent: bool = False

    def __post_init__(self) -> None:
        if not math.isfinite(self.after_seconds) or self.after_seconds <= 0:
            raise ValueError("a relaxation step applies after > 0 seconds")
        if self.lower_by < 0:
            raise ValueError("lower_by must be >= 0")
        object.__setattr__(self, "drop", frozenset(self.drop))
        if not (self.lower_by or self.drop or self.any_agent):
            raise ValueError("a relaxation step must lower, drop or open to any agent")

    @classmethod
    def parse(cls, value: Mapping[str, object]) -> RelaxStep:
        unknown = set(value) - {"after_seconds", "lower_by", "drop", "any_agent"}
        if unknown:
            raise ValueError(f"unknown relaxation field(s): {sorted(unknown)}")
        drop = value.get("drop", ())
        if isinstance(drop, str) or not isinstance(drop, Iterable):
            raise ValueError("drop is a list of skill names")
        return cls(
            after_seconds=float(str(value["after_seconds"])),
            lower_by=int(str(value.get("lower_by", 0))),
            drop=frozenset(str(name) for name in drop),
            any_agent=bool(value.get("any_agent", False)),
        )

    def describe(self) -> str:
        parts: list[str] = []
        if self.lower_by:
            parts.append(f"proficiency {self.lower_by} lower")
        if self.drop:
            parts.append("without " + ", ".join(sorted(self.drop)))
        if self.any_agent:
            parts.append("any agent of the pool (languages kept)")
        return f"after {self.after_seconds:g} s: " + "; ".join(parts)


def check_steps(steps: Sequence[RelaxStep]) -> tuple[RelaxStep, ...]:
    times = [step.after_seconds for step in steps]
    if times != sorted(set(times)):
        raise ValueError("relaxation steps must be in strictly increasing after_seconds")
    return tuple(steps)


def relaxed(required: Mapping[str, int], steps: Sequence[RelaxStep], count: int) -> dict[str, int]:
    """The requirement after the first ``count`` steps."""
    skills = dict(required)
    for step in steps[:count]:
        for name in step.drop:
            skills.pop(name, None)
        if step.any_agent:
            skills = {k: v for k, v in skills.items() if k.startswith(LANGUAGE_PREFIX)}
        if step.lower_by:
            skills = {
                k: v if k.startswith(LANGUAGE_PREFIX) else max(1, v - step.lower_by)
                for k, v in skills.items()
            }
    return skills


class RelaxIndex:
    """Waiting contacts by the time their next step is due: (due, contact id)."""

    def __init__(self) -> None:
        self._due: SortedList[tuple[float, str]] = SortedList()
        self._of: dict[str, float] = {}

    def set(self, contact_id: str, due: float | None) -> None:
        self.discard(contact_id)
        if due is not None:
            self._due.add((due, contact_id))
            self._of[contact_id] = due

    def discard(self, contact_id: str) -> None:
        due = self._of.pop(contact_id, None)
        if due is not None:
            self._due.remove((due, contact_id))

    def pop_due(self, now: float) -> str | None:
        if self._due and self._due[0][0] <= now:
            contact_id = self._due.pop(0)[1]
            del self._of[contact_id]
            return contact_id
        return None
