"""Bytes ↔ records. ``decode`` never raises anything but ``InvalidMessage``."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from schemas import agents, contacts, control, guides, notices, presence, routing, shipments
from schemas.base import SCHEMA_VERSION, SUPPORTED_SCHEMA_VERSIONS, Record

MAX_MESSAGE_BYTES = 1_000_000


class InvalidMessage(Exception):
    """The input cannot be processed as it is; it goes to the dead-letter topic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _registry(*modules: Any) -> dict[str, type[Record]]:
    found: dict[str, type[Record]] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Record) and value.TYPE:
                found[value.TYPE] = value
    return found


RECORD_TYPES: dict[str, type[Record]] = _registry(
    contacts, agents, routing, shipments, notices, guides, control, presence
)
CONTACT_INPUTS = frozenset(
    t for t, c in RECORD_TYPES.items() if issubclass(c, contacts.ContactEvent)
)
AGENT_INPUTS = frozenset(t for t, c in RECORD_TYPES.items() if issubclass(c, agents.AgentEvent))


# JSON escapes of a NUL or a UTF-16 surrogate: PostgreSQL stores neither as text, so a record
# carrying one would fail every write of the batch it is in, again and again.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _unstorable_text(value: Any, path: str = "(record)") -> str | None:
    """Where in a parsed JSON value a string (or key) cannot be stored as text, if anywhere."""
    if isinstance(value, str):
        if "\x00" in value:
            return path
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unstorable_text(key, path) or _unstorable_text(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable_text(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def decode(raw: bytes | None, accept: frozenset[str] | None = None) -> Record:
    """Parse and validate one record; ``accept`` limits the record types allowed here."""
    if raw is None:
        raise InvalidMessage("empty payload")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(f"payload of {len(raw)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidMessage(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidMessage("payload is not a JSON object")
    if _SUSPECT_ESCAPE.search(raw) and (where := _unstorable_text(body)) is not None:
        raise InvalidMessage(
            f"{where}: text with a NUL character or a lone surrogate cannot be stored"
        )
    type_name = body.pop("type", None)
    if not isinstance(type_name, str):
        raise InvalidMessage("missing 'type'")
    record_type = RECORD_TYPES.get(type_name)
    if record_type is None or (accept is not None and type_name not in accept):
        raise InvalidMessage(f"unknown record type {type_name!r}")
    version = body.get("schema_version", 1)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise InvalidMessage(
            f"unsupported schema_version {version!r} for {type_name!r}"
            f" (supported: {sorted(SUPPORTED_SCHEMA_VERSIONS)})"
        )
    try:
        return record_type.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(record)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidMessage(f"invalid {type_name}: {problems}") from None


# A timezone-aware timestamp ends with its UTC offset: "Z" or ±hh:mm (RFC 3339).
AWARE_DATETIME_PATTERN = "([Zz]|[+-][0-9]{2}:[0-9]{2})$"


class _RecordJsonSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema, with the offset of aware timestamps required: ``format:
    date-time`` alone is not checked by most validators, and a naive timestamp is refused."""

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        json_schema = super().datetime_schema(schema)
        if schema.get("tz_constraint") == "aware":
            json_schema["pattern"] = AWARE_DATETIME_PATTERN
        return json_schema


def json_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema per record type, with the ``type`` discriminator required, the schema
    versions the decoder supports, and a UTC offset required on every timestamp."""
    out: dict[str, dict[str, Any]] = {}
    for type_name, record_type in sorted(RECORD_TYPES.items()):
        schema = record_type.model_json_schema(schema_generator=_RecordJsonSchema)
        schema["properties"]["type"] = {"const": type_name}
        schema["properties"]["schema_version"] = {
            "title": "Schema Version",
            "type": "integer",
            "enum": sorted(SUPPORTED_SCHEMA_VERSIONS),
            "default": SCHEMA_VERSION,
        }
        schema.setdefault("required", []).insert(0, "type")
        schema["$id"] = f"contactcenter/{type_name}.v1.json"
        out[type_name] = schema
    return out
