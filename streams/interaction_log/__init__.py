"""The interaction log: every contact, agent, routing and dead-letter record into PostgreSQL.

One agent reads the contacts, agent-events, interactions and dead-letter topics in batches
(``stream.take_events``). Per batch, one transaction:

1. copies the records into a staging table (COPY) and moves them into ``interaction_events``
   (``ON CONFLICT DO NOTHING`` on the event id, ``RETURNING`` the ids that are new: a
   redelivered record writes nothing twice, the first copy is kept);
2. projects the *new* records only onto ``contacts`` (lifecycle), ``routing_decisions`` and
   ``agent_state_history`` with order-insensitive upserts (records of one contact come from
   several topics, so their relative order is not guaranteed), again through COPY into
   staging tables, one patch per contact (``merge_patches``).

The batch is acknowledged only after the transaction commits, so the Kafka offsets never pass
what PostgreSQL holds. When PostgreSQL is away the same batch is retried with capped
exponential backoff; the worker stays up and reports ``contactcenter_db_up{writer=...} 0``.
Metrics of contact outcomes are observed after the commit, for new records only, so they agree
with the rows.
"""

from streams.interaction_log.gauges import refresh_service_level, update_consumer_lag
from streams.interaction_log.ports import ContactLifecycle, InteractionLogStore, WriteResult
from streams.interaction_log.projection import (
    ContactPatch,
    LogEntry,
    agent_state_row,
    contact_patch,
    decision_outcome,
    decision_row,
    event_row,
    merge_patches,
    unique_entries,
)
from streams.interaction_log.sql import EVENT_COLUMNS
from streams.interaction_log.store_pg import PostgresInteractionLog
from streams.interaction_log.writer import WRITER, decode_entry, observe, write_with_retry

__all__ = [
    "EVENT_COLUMNS",
    "WRITER",
    "ContactLifecycle",
    "ContactPatch",
    "InteractionLogStore",
    "LogEntry",
    "PostgresInteractionLog",
    "WriteResult",
    "agent_state_row",
    "contact_patch",
    "decision_outcome",
    "decision_row",
    "decode_entry",
    "event_row",
    "merge_patches",
    "observe",
    "refresh_service_level",
    "unique_entries",
    "update_consumer_lag",
    "write_with_retry",
]
