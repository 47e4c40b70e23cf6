"""The exported JSON Schemas accept what the worker accepts and refuse what it dead-letters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from schemas.codec import RECORD_TYPES, InvalidMessage, decode, json_schemas
from tests.support.records import datetime_fields, example

SCHEMAS = json_schemas()


def validator(type_name: str) -> Draft202012Validator:
    return Draft202012Validator(SCHEMAS[type_name])


def rejected_by_the_worker(body: dict[str, Any]) -> bool:
    try:
        decode(json.dumps(body).encode())
    except InvalidMessage:
        return True
    return False


@pytest.mark.parametrize("type_name", sorted(RECORD_TYPES))
def test_a_valid_record_validates_against_its_schema(type_name: str) -> None:
    body = example(RECORD_TYPES[type_name])
    validator(type_name).validate(body)
    for offset in ("Z", "+02:00", "-05:30", ".123456+00:00"):
        for name in datetime_fields(RECORD_TYPES[type_name]):
            validator(type_name).validate({**body, name: f"2024-05-01T10:00:00{offset}"})


@pytest.mark.parametrize("type_name", sorted(RECORD_TYPES))
def test_an_unsupported_schema_version_is_refused(type_name: str) -> None:
    body = example(RECORD_TYPES[type_name])
    for version in (0, 2, 99):
        wrong = {**body, "schema_version": version}
        assert not validator(type_name).is_valid(wrong)
        assert rejected_by_the_worker(wrong)


@pytest.mark.parametrize("type_name", sorted(RECORD_TYPES))
def test_a_naive_timestamp_is_refused_in_every_date_time_field(type_name: str) -> None:
    record_type = RECORD_TYPES[type_name]
    body = example(record_type)
    assert "occurred_at" in datetime_fields(record_type)
    for name in datetime_fields(record_type):
        for naive in ("2024-05-01T10:00:00", "2024-05-01T10:00:00.5"):
            wrong = {**body, name: naive}
            assert not validator(type_name).is_valid(wrong), name
            assert rejected_by_the_worker(wrong), name


def test_the_schemas_name_the_supported_versions_and_require_an_offset() -> None:
    arrived = SCHEMAS["contact_arrived"]["properties"]
    assert arrived["schema_version"]["enum"] == [1]
    assert arrived["occurred_at"]["format"] == "date-time"
    assert "pattern" in arrived["occurred_at"]
    optional = arrived["last_agent_at"]["anyOf"]
    assert any(branch.get("pattern") for branch in optional)
