"""What a pool remembers past the life of its records: the inputs it applied and the contacts
it finished, each for a horizon of pool time.

An input redelivered by any upstream stage (a re-forward after a crash, a gateway retry, a
webhook sent again) reaches routing at a new offset, where a skip by offset cannot see it; the
pool recognises it by its event id instead. A finished contact is dropped from the queue, so
without this memory an arrival sent again would queue it anew."""

from __future__ import annotations

from collections.abc import Iterable


class RecentIds:
    """Ids with the pool time they were added at, oldest first; forgets those older than a
    horizon. Pool time never goes back, so the order of addition is the order of time and
    forgetting costs only what it forgets. What was added since the last ``take_new`` is
    kept apart for storage."""

    __slots__ = ("_at", "_new")

    def __init__(self, items: Iterable[tuple[str, float]] = ()) -> None:
        self._at: dict[str, float] = dict(sorted(items, key=lambda item: (item[1], item[0])))
        self._new: dict[str, float] = {}

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._at

    def __len__(self) -> int:
        return len(self._at)

    def add(self, item_id: str, at: float) -> None:
        if item_id not in self._at:
            self._at[item_id] = at
            self._new[item_id] = at

    def forget_before(self, cutoff: float) -> None:
        at = self._at
        while at:
            oldest = next(iter(at))
            if at[oldest] >= cutoff:
                return
            del at[oldest]
            self._new.pop(oldest, None)

    def has_new(self) -> bool:
        return bool(self._new)

    def take_new(self) -> dict[str, float]:
        new, self._new = self._new, {}
        return new

    def items(self) -> list[tuple[str, float]]:
        return list(self._at.items())


class MovedAway:
    """Contacts a supervisor moved to another pool: where each went, with the pool time of the
    move. The customer's side of such a contact (hung up, gave up, asked for a callback) still
    names this pool — the edge knows where the contact arrived, not where it went — so the
    pool forwards it to the contact's new pool. Forgotten after a horizon; stored whole when
    it changed (moves are rare)."""

    __slots__ = ("_to", "changed")

    def __init__(self, row: dict[str, list[object]] | None = None) -> None:
        items = ((str(cid), (str(w[0]), float(str(w[1])))) for cid, w in (row or {}).items())
        # oldest first (pool time never goes back), so forgetting costs what it forgets
        self._to: dict[str, tuple[str, float]] = dict(sorted(items, key=lambda i: (i[1][1], i[0])))
        self.changed = False

    def __len__(self) -> int:
        return len(self._to)

    def add(self, contact_id: str, to_pool_id: str, at: float) -> None:
        self._to.pop(contact_id, None)
        self._to[contact_id] = (to_pool_id, at)
        self.changed = True

    def where(self, contact_id: str) -> str | None:
        found = self._to.get(contact_id)
        return None if found is None else found[0]

    def discard(self, contact_id: str) -> None:
        if self._to.pop(contact_id, None) is not None:
            self.changed = True

    def forget_before(self, cutoff: float) -> None:
        to = self._to
        while to:
            oldest = next(iter(to))
            if to[oldest][1] >= cutoff:
                return
            del to[oldest]
            self.changed = True

    def to_row(self) -> dict[str, list[object]]:
        return {cid: [to, at] for cid, (to, at) in sorted(self._to.items())}
