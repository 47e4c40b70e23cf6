"""Valid records of any type, built from the record classes alone."""

from __future__ import annotations

import json
import typing
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import AwareDatetime

from schemas.base import Record

MOMENT = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
NAMED_VALUES = {"channel": "sms"}  # a notice's channel is a string limited to sms or email


def _is_aware_datetime(annotation: Any) -> bool:
    return annotation is AwareDatetime or AwareDatetime in typing.get_args(annotation)


def datetime_fields(record_type: type[Record]) -> list[str]:
    """The record's timezone-aware timestamp fields, optional ones included."""
    return [n for n, f in record_type.model_fields.items() if _is_aware_datetime(f.annotation)]


def required_fields(record_type: type[Record]) -> list[str]:
    return [n for n, f in record_type.model_fields.items() if f.is_required()]


def _value(name: str, annotation: Any) -> Any:
    if _is_aware_datetime(annotation):
        return MOMENT
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return next(iter(annotation))
    if annotation is str and name in NAMED_VALUES:
        return NAMED_VALUES[name]
    if typing.get_origin(annotation) is dict:
        return {"x1": 1}
    return {str: "x1", int: 1, float: 1.5}[annotation]


def example(record_type: type[Record]) -> dict[str, Any]:
    """A valid record of this type as JSON, every date-time field set."""
    stamps = datetime_fields(record_type)
    values = {
        name: _value(name, field.annotation)
        for name, field in record_type.model_fields.items()
        if field.is_required() or name in stamps
    }
    body: dict[str, Any] = json.loads(record_type(**values).to_bytes())
    return body
