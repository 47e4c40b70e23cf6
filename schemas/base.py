"""The envelope every record carries, and the registry of record types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar
from uuid import uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
EVENT_ID_MAX_LENGTH = 200
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_event_id() -> str:
    return uuid4().hex


class Record(BaseModel):
    """A versioned record: ``type`` names it, ``event_id`` identifies it for deduplication,
    ``occurred_at`` is when it happened at its source (timezone-aware)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str] = ""

    schema_version: int = SCHEMA_VERSION
    event_id: str = Field(
        default_factory=new_event_id, min_length=1, max_length=EVENT_ID_MAX_LENGTH
    )
    occurred_at: AwareDatetime = Field(default_factory=utc_now)

    def to_bytes(self) -> bytes:
        body = self.model_dump(mode="json")
        body["type"] = self.TYPE
        return _dumps(body)


class PoolRecord(Record):
    """A record that belongs to one routing pool (the unit of sharing of agents)."""

    pool_id: str = Field(min_length=1, max_length=100)


def _dumps(body: dict[str, object]) -> bytes:
    import json

    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
