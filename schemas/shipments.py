"""Shipment events from order and shipping systems, on the shipments topic (key: shipment id)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from schemas.base import Record


class ShipmentEvent(Record):
    shipment_id: str = Field(min_length=1, max_length=200)
    order_id: str = Field(min_length=1, max_length=200)
    customer_id: str = Field(min_length=1, max_length=200)
    pool_id: str | None = Field(default=None, max_length=100)


class ShipmentCreated(ShipmentEvent):
    """A shipment left (or will leave) with a delivery date promised to the customer."""

    TYPE: ClassVar[str] = "shipment_created"

    promised_delivery: AwareDatetime
    carrier: str | None = Field(default=None, max_length=100)
    eta: AwareDatetime | None = None


class ShipmentEtaUpdated(ShipmentEvent):
    """The carrier's new estimated delivery time."""

    TYPE: ClassVar[str] = "shipment_eta_updated"

    eta: AwareDatetime


class ShipmentException(ShipmentEvent):
    """A carrier exception (damaged, held at customs, address problem, ...)."""

    TYPE: ClassVar[str] = "shipment_exception"

    code: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    eta: AwareDatetime | None = None


class ShipmentDelivered(ShipmentEvent):
    TYPE: ClassVar[str] = "shipment_delivered"

    delivered_at: AwareDatetime
