"""Which waiting contacts no logged-in agent of the pool could ever take (skills and channel
capacity), for the supervisor's "unservable" column.

Routing owns this judgement: where its live view says so for a contact
(``FloorContact.unservable`` is not None), that answer is used as it is. Until then it is
derived here from routing's live rows, by the same rule routing's eligibility uses (every
required skill at or above its minimum, room on the channel)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from streams.routing.live_view import FloorAgent, FloorContact


@dataclass(frozen=True)
class Staff:
    """A logged-in agent's skills and capacity per channel (overrides, else the default)."""

    skills: Mapping[str, int]
    capacity: Mapping[str, int]


def logged_in_staff(agents: Iterable[FloorAgent], defaults: Mapping[str, int]) -> list[Staff]:
    return [
        Staff(agent.skills, {**defaults, **agent.capacity})
        for agent in agents
        if agent.status != "logged_out"
    ]


def could_serve(staff: Staff, contact: FloorContact) -> bool:
    if staff.capacity.get(contact.channel or "", 0) <= 0:
        return False
    return all(staff.skills.get(skill, 0) >= level for skill, level in contact.skills.items())


def derive_unservable(contact: FloorContact, staff: Iterable[Staff]) -> bool:
    """Whether the waiting contact is unservable: routing's flag if it gives one, else no
    logged-in agent has its skills and room on its channel."""
    if contact.unservable is not None:
        return contact.unservable
    return contact.status == "waiting" and not any(could_serve(s, contact) for s in staff)
