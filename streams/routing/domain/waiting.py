"""What a pool tracks about its waiting contacts besides their order: whether anyone logged
in could take each of them (the unservable flags, kept in step with ``Eligibility``), and when
each one's requirement widens next (relaxation). The pool state owns the records and the
queues; these two keep their own indexes and say what to announce."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from streams.routing.domain import decisions
from streams.routing.domain.eligibility import Eligibility
from streams.routing.domain.model import (
    AgentRecord,
    Channel,
    ContactRecord,
    PoolConfig,
    QueueKey,
)
from streams.routing.domain.relaxation import RelaxIndex, RelaxStep, relaxed


class UnservableFlags:
    """The waiting contacts no logged-in agent could take, with the requirement nobody meets;
    the flag is stored with the contact (``ContactRecord.unservable``)."""

    def __init__(self, config: PoolConfig) -> None:
        self.eligibility = Eligibility(config)
        self._flags: dict[str, tuple[Channel, str]] = {}

    def check(self, contact: ContactRecord) -> decisions.ContactMarkedUnservable | None:
        """For a contact that starts waiting: flagged at once when nobody could take it,
        never left to a silent wait."""
        if self.eligibility.servable(contact.key) or contact.unservable is not None:
            return None
        return self._mark(contact)

    def _mark(self, contact: ContactRecord) -> decisions.ContactMarkedUnservable:
        label, reason = self.eligibility.unmet(contact.key)
        contact.unservable = label
        self._flags[contact.contact_id] = (contact.channel, label)
        return decisions.ContactMarkedUnservable(
            contact.contact_id, contact.channel.value, label, reason
        )

    def clear(self, contact: ContactRecord) -> bool:
        """Drop the flag (the contact stops waiting, or can be taken); whether it had one."""
        if contact.unservable is None:
            return False
        contact.unservable = None
        del self._flags[contact.contact_id]
        return True

    def agent_changed(
        self, agent: AgentRecord, waiting: Callable[[QueueKey], Iterator[ContactRecord]]
    ) -> list[decisions.ContactMarkedUnservable | decisions.ContactBecameServable]:
        """After an agent logged in or out or changed skills or capacity: the waiting
        contacts of every key that gained its first or lost its last possible agent are told
        (only those keys are walked, never the whole queue, and nothing per offer)."""
        out: list[decisions.ContactMarkedUnservable | decisions.ContactBecameServable] = []
        for key in self.eligibility.update(agent):
            servable = self.eligibility.servable(key)
            for contact in list(waiting(key)):
                if servable and self.clear(contact):
                    reason = f"agent {agent.agent_id} can take it"
                    out.append(decisions.ContactBecameServable(contact.contact_id, reason))
                elif not servable and contact.unservable is None:
                    out.append(self._mark(contact))
        return out

    def restored(self, contact: ContactRecord) -> None:
        if contact.unservable is not None:
            self._flags[contact.contact_id] = (contact.channel, contact.unservable)

    def view(self) -> dict[tuple[str, str], int]:
        """Per (channel, requirement nobody meets), how many wait; O(flagged contacts)."""
        counts: dict[tuple[str, str], int] = {}
        for channel, label in self._flags.values():
            counts[(channel.value, label)] = counts.get((channel.value, label), 0) + 1
        return dict(sorted(counts.items()))


class Relaxation:
    """When each waiting contact's next relaxation step is due (its arrival + the step's
    seconds), and the widening itself."""

    def __init__(self, steps: tuple[RelaxStep, ...]) -> None:
        self.steps = steps
        self._due = RelaxIndex()

    def schedule(self, contact: ContactRecord) -> None:
        due = None
        if contact.relaxed < len(self.steps):
            due = contact.arrived_at + self.steps[contact.relaxed].after_seconds
        self._due.set(contact.contact_id, due)

    def cancel(self, contact_id: str) -> None:
        self._due.discard(contact_id)

    def due(self, now: float) -> Iterator[str]:
        while (contact_id := self._due.pop_due(now)) is not None:
            yield contact_id

    def widen(self, contact: ContactRecord) -> RelaxStep:
        """Apply the contact's next step (it is out of the queues meanwhile): its skills
        become the original requirement after one more step; returns the step."""
        if contact.required is None:
            contact.required = dict(contact.skills)
        rule = self.steps[contact.relaxed]
        contact.relaxed += 1
        contact.skills = relaxed(contact.required, self.steps, contact.relaxed)
        return rule
