"""One routing step per batch of one routing partition, with its effects stored atomically.

Per batch: claim the batch's processing time (committed at once, reused by any replay of the
same batch); lock the partition's stored offset in PostgreSQL; if it is not the offset this
process last wrote, another owner moved it (a rebalance, a restart), so reload the partition's
pools; skip inputs at or below it; route the rest; publish the outputs and wait for the broker;
store the changed rows, the remembered ids, every moved clock and the new offset in the same
transaction. A crash before the commit replays the batch from the same stored state with the
same processing time, so the replay yields byte-identical outputs, which consumers
deduplicate by event id.

An input delivered again at a *new* offset (re-forwarded after a crash upstream, a gateway or
webhook retry) is recognised by its event id within the pool and yields nothing.

An input at or below the stored offset is a replay only if its pool applied it (its event id
is remembered): one never applied means the log went backwards (a broker restarted empty, a
topic recreated, a cluster restored), and the batch raises ``OffsetRegression`` rather than
skip new inputs silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from schemas.base import Record
from schemas.codec import InvalidMessage, decode
from schemas.routing import AGENT_FACING, AdvanceRoutingClock
from schemas.topics import DEAD_LETTER, INTERACTIONS, OFFERS, ROUTING
from streams.platform import metrics
from streams.platform.deps import dead_letter_record
from streams.routing import domain
from streams.routing.metrics import count_offers
from streams.routing.ports import (
    BatchClaimLost,
    InputRecord,
    OffsetRegression,
    Outbound,
    OutputPublisher,
    PoolChanges,
    RoutingStore,
    RoutingTransaction,
)
from streams.routing.translate import (
    ROUTED_TYPES,
    admission,
    encode_output,
    event_time,
    forwarded_input,
    to_domain,
)

log = logging.getLogger(__name__)

ACCEPTED_TYPES = ROUTED_TYPES | {AdvanceRoutingClock.TYPE}


class RoutingProcessor:
    def __init__(
        self,
        store: RoutingStore,
        publisher: OutputPublisher,
        *,
        topic: str,
        config: domain.PoolConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._topic = topic
        self._config = config
        self._clock = clock
        self._routers: dict[int, dict[str, domain.Router]] = {}
        self._known_offsets: dict[int, int] = {}
        self._may_renew: set[int] = set()

    def routers(self, partition: int) -> dict[str, domain.Router]:
        return self._routers.get(partition, {})

    def forget(self, partition: int) -> None:
        """Drop what this process holds of a partition; the next batch reloads it."""
        self._routers.pop(partition, None)
        self._known_offsets.pop(partition, None)

    async def process(self, partition: int, records: Sequence[InputRecord]) -> list[Outbound]:
        """Route one batch of one partition; return what was published."""
        now = self._clock()
        renew = partition in self._may_renew
        self._may_renew.discard(partition)
        published = False
        claimed_here = False
        try:
            async with self._store.partition(
                self._topic, partition, now=now, until=records[-1].offset, renew=renew
            ) as transaction:
                claimed_here = transaction.processed_at == now
                stored = transaction.stored_offset
                if self._known_offsets.get(partition) != stored:
                    await self._reload(partition, transaction)
                fresh = [r for r in records if r.offset > stored]
                if len(fresh) < len(records):
                    await self._only_replays(
                        partition, stored, [r for r in records if r.offset <= stored], transaction
                    )
                    log.info(
                        "partition %s: skipped %d inputs at or below stored offset %d",
                        partition,
                        len(records) - len(fresh),
                        stored,
                    )
                if not fresh:
                    self._known_offsets[partition] = stored
                    return []
                outbound, decided = self._route(partition, fresh, transaction.processed_at)
                published = True
                # the broker's acknowledgements and the state's statements overlap; the commit
                # (leaving this block) waits for both, so the state never runs ahead of outputs
                await _both(
                    self._publisher.publish(outbound),
                    transaction.save(self._changes(partition), fresh[-1].offset),
                )
            self._known_offsets[partition] = fresh[-1].offset
            for pool_id, decisions in decided:  # counted once committed, not per attempt
                count_offers(pool_id, decisions)
            return outbound
        except BaseException as exc:
            self.forget(partition)
            if isinstance(exc, BatchClaimLost) or (claimed_here and not published):
                # nothing of this batch went out with the claimed time: the retry may take
                # a fresh one, so its offers are not already due when they reach agents
                self._may_renew.add(partition)
            raise

    async def _only_replays(
        self,
        partition: int,
        stored: int,
        stale: Sequence[InputRecord],
        transaction: RoutingTransaction,
    ) -> None:
        """Inputs at or below the stored offset are skipped as replays only if the pools
        applied them (every routed input's event id is remembered with the state). One that
        was never applied means the log went backwards: raise rather than lose it."""
        routed = [(item.offset, key) for item in stale if (key := _routed_input(item))]
        if not routed:
            return  # clock ticks or dead letters only: nothing a pool remembers
        applied = await transaction.applied_inputs([key for _offset, key in routed])
        unseen = [offset for offset, key in routed if key not in applied]
        if unseen:
            raise OffsetRegression(self._topic, partition, stored, unseen)

    async def _reload(self, partition: int, transaction: RoutingTransaction) -> None:
        rows = await transaction.load_pools()
        self._routers[partition] = {
            pool.pool_id: domain.Router.restore(
                self._config,
                pool.pool_id,
                pool.contacts,
                pool.agents,
                pool.clock,
                inputs=pool.inputs,
                finished=pool.finished,
                estimator=pool.estimator,
                policy=pool.policy,
                moved=pool.moved,
            )
            for pool in rows
        }
        log.info("partition %s: loaded %d pools", partition, len(rows))

    def _changes(self, partition: int) -> list[PoolChanges]:
        routers = self._routers.get(partition, {})
        return [
            _changes(routers[pool_id]) for pool_id in sorted(routers) if routers[pool_id].unsaved()
        ]

    def _route(
        self, partition: int, records: Sequence[InputRecord], processed_at: float
    ) -> tuple[list[Outbound], list[tuple[str, list[domain.Decision]]]]:
        routers = self._routers.setdefault(partition, {})
        decided: list[tuple[str, list[domain.Decision]]] = []
        outbound: list[Outbound] = []
        for item in records:
            try:
                record = decode(item.value, accept=ACCEPTED_TYPES)
            except InvalidMessage as exc:
                outbound.append(self._dead_letter(exc.reason, item))
                continue
            if isinstance(record, AdvanceRoutingClock):
                now = event_time(record)
                for pool_id in sorted(routers):
                    decisions: list[domain.Decision] = [
                        d
                        for d in _timed(routers[pool_id], domain.Tick(), now, processed_at)
                        if not isinstance(d, domain.EventIgnored)
                    ]
                    decided.append((pool_id, decisions))
                    outbound.extend(self._outputs(decisions, pool_id, record, now))
                continue
            pool_id = getattr(record, "pool_id", "")
            if item.key != pool_id.encode():
                reason = f"routing record key {item.key!r} does not match its pool_id {pool_id!r}"
                outbound.append(self._dead_letter(reason, item))
                continue
            try:
                command = to_domain(record)
            except ValueError as exc:
                outbound.append(self._dead_letter(f"invalid {record.TYPE}: {exc}", item))
                continue
            if command is None:
                continue
            router = routers.get(pool_id)
            if router is None:
                router = routers[pool_id] = domain.Router(self._config, pool_id)
            decisions = _timed(
                router, command, event_time(record), processed_at, input_id=record.event_id
            )
            if decisions == [domain.EventIgnored("duplicate_input", record.event_id)]:
                metrics.ROUTING_REDELIVERED_INPUTS.labels(pool=pool_id).inc()
                continue
            decided.append((pool_id, decisions))
            outbound.extend(self._outputs(decisions, pool_id, record, event_time(record)))
        return outbound, decided

    def _outputs(
        self, decisions: Sequence[domain.Decision], pool_id: str, cause: Record, now: float
    ) -> list[Outbound]:
        result: list[Outbound] = []
        for index, decision in enumerate(decisions):
            output = encode_output(
                decision, pool_id=pool_id, cause_id=cause.event_id, index=index, now=now
            )
            result.append(Outbound(INTERACTIONS, output.subject, output.value))
            if output.type_name in AGENT_FACING and output.agent_id:
                result.append(Outbound(OFFERS, output.agent_id.encode(), output.value))
            if isinstance(decision, domain.ContactMoved):  # the contact joins the other pool
                arrival = admission(
                    decision, pool_id=pool_id, cause_id=cause.event_id, index=index, now=now
                )
                result.append(Outbound(ROUTING, decision.to_pool_id.encode(), arrival.to_bytes()))
            elif isinstance(decision, domain.ContactInputForwarded):  # to where it was moved
                sent_on = forwarded_input(
                    decision, pool_id=pool_id, cause_id=cause.event_id, index=index, now=now
                )
                result.append(Outbound(ROUTING, decision.to_pool_id.encode(), sent_on.to_bytes()))
        return result

    def _dead_letter(self, reason: str, item: InputRecord) -> Outbound:
        log.warning("dead-lettered routing input %s:%s: %s", item.partition, item.offset, reason)
        record = dead_letter_record(
            reason, self._topic, item.value, item.key, item.partition, item.offset
        )
        return Outbound(DEAD_LETTER, self._topic.encode(), record.to_bytes())


def _routed_input(item: InputRecord) -> tuple[str, str] | None:
    """(pool id, event id) of an input routing would apply and remember, else None (the same
    filters as ``_route``: undecodable, a clock tick, a key not its pool, not a command)."""
    try:
        record = decode(item.value, accept=ACCEPTED_TYPES)
    except InvalidMessage:
        return None
    if isinstance(record, AdvanceRoutingClock):
        return None
    pool_id = getattr(record, "pool_id", "")
    if item.key != pool_id.encode():
        return None
    try:
        command = to_domain(record)
    except ValueError:
        return None
    return None if command is None else (pool_id, record.event_id)


async def _both(first: Awaitable[None], second: Awaitable[None]) -> None:
    """Run both to the end, then raise the first failure if any (no task left behind)."""
    for outcome in await asyncio.gather(first, second, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


def _timed(
    router: domain.Router,
    command: domain.RoutingInput,
    now: float,
    processed_at: float,
    *,
    input_id: str | None = None,
) -> list[domain.Decision]:
    started = time.perf_counter()
    decisions = router.handle(command, now, input_id=input_id, processed_at=processed_at)
    metrics.ROUTING_DECISION_DURATION.observe(time.perf_counter() - started)
    return decisions


def _changes(router: domain.Router) -> PoolChanges:
    moved = router.moved_row()  # before take_dirty, which marks everything saved
    contacts, agents = router.take_dirty()
    inputs, finished = router.take_memory()
    forget_inputs, forget_finished = router.memory_horizons()
    return PoolChanges(
        pool_id=router.pool_id,
        clock=router.clock,
        contacts=contacts,
        agents=agents,
        inputs=inputs,
        finished=finished,
        forget_inputs_before=forget_inputs,
        forget_finished_before=forget_finished,
        estimator=router.estimator_row(),
        predicted_waits=dict(router.predicted_waits()),
        policy=router.policy_row(),
        moved=moved,
        serving=router.serving(),
    )
