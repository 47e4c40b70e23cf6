"""The AsyncAPI 3 document of every topic, generated from the topic table and the record types.

For gateway teams in any language: each topic's name (with the deployment's prefix), its key
and partitioning rule, who produces and consumes it, every record that travels on it with its
JSON Schema, and the delivery promise. ``contactcenter export-schemas`` writes it
(``docs/asyncapi.yaml`` is the committed copy; a test fails when a topic or record changes
without it).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from schemas import agents, control, guides, notices, presence, routing, shipments
from schemas.base import Record
from schemas.codec import AGENT_INPUTS, CONTACT_INPUTS, RECORD_TYPES, json_schemas
from schemas.topics import (
    AGENT_EVENTS,
    ALL_TOPICS,
    CONTACTS,
    DEAD_LETTER,
    GUIDE_EVENTS,
    INTERACTIONS,
    NOTICES,
    OFFERS,
    ROUTING,
    SHIPMENTS,
    TYPING,
    TopicSpec,
)

ASYNCAPI_VERSION = "3.1.0"
KAFKA_BINDING_VERSION = "0.5.0"

DELIVERY = (
    "At least once. Every record carries an `event_id`; consumers recognise a record by it and"
    " keep the first copy (a retry, a rebalance or a producer's retry can deliver it again)."
    " Records of one key stay in order (one partition per key). Producers publish with"
    " `acks=all`; records are JSON objects whose `type` names the record and whose"
    " `schema_version` the consumer must support (a record it cannot read goes to"
    " `dead-letter`)."
)

PARTITIONING = {
    CONTACTS.name: "by contact id: every record of one contact in one partition, in order",
    AGENT_EVENTS.name: "by agent id: every record of one agent in one partition, in order",
    ROUTING.name: (
        "by pool id: one owner per pool (a record whose key is not its pool id is"
        " dead-lettered); clock ticks are keyed by their partition"
    ),
    OFFERS.name: "by agent id: an agent's desk reads its own offers in order",
    INTERACTIONS.name: "by contact id (the decision's subject)",
    SHIPMENTS.name: "by shipment id",
    NOTICES.name: "by customer id",
    GUIDE_EVENTS.name: "by contact id",
    DEAD_LETTER.name: "by the source topic of the failed input",
    TYPING.name: "by contact id",
}


def _of(*bases: type[Record]) -> list[str]:
    return sorted(t for t, c in RECORD_TYPES.items() if issubclass(c, bases))


def _pool_control() -> list[str]:
    """The control plane's inputs that belong to a pool, not to an agent's stream."""
    return sorted(
        t
        for t, c in RECORD_TYPES.items()
        if c.__module__ == control.__name__ and not issubclass(c, agents.AgentEvent)
    )


def carried() -> dict[str, list[str]]:
    """The record types that travel on each topic."""
    return {
        CONTACTS.name: sorted(CONTACT_INPUTS),
        AGENT_EVENTS.name: sorted(AGENT_INPUTS),
        ROUTING.name: sorted(
            {*CONTACT_INPUTS, *AGENT_INPUTS, routing.AdvanceRoutingClock.TYPE, *_pool_control()}
        ),
        OFFERS.name: sorted(routing.AGENT_FACING),
        INTERACTIONS.name: _of(routing.RoutingOutput),
        SHIPMENTS.name: _of(shipments.ShipmentEvent),
        NOTICES.name: _of(notices.NoticeRecord),
        GUIDE_EVENTS.name: _of(guides.GuideEvent),
        DEAD_LETTER.name: [routing.DeadLettered.TYPE],
        TYPING.name: [presence.Typing.TYPE],
    }


def document() -> dict[str, Any]:
    """The whole AsyncAPI document, as a plain structure (written as YAML or JSON)."""
    schemas, messages = _components(json_schemas())
    travels = carried()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in ALL_TOPICS:
        channels[spec.name] = _channel(spec, travels[spec.name])
        refs = [{"$ref": f"#/channels/{spec.name}/messages/{t}"} for t in travels[spec.name]]
        channel_ref = {"$ref": f"#/channels/{spec.name}"}
        operations[f"produce-{spec.name}"] = {
            "action": "send",
            "channel": channel_ref,
            "summary": f"Publish to {spec.name}",
            "description": "Producers: " + "; ".join(spec.producers) + ".",
            "messages": refs,
        }
        operations[f"consume-{spec.name}"] = {
            "action": "receive",
            "channel": channel_ref,
            "summary": f"Consume {spec.name}",
            "description": "Consumers: " + "; ".join(spec.consumers) + ".",
            "messages": refs,
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Contact center backbone: topics and records",
            "version": "1.0.0",
            "description": (
                "Every Kafka topic of the backbone: what travels on it, keyed how, written and"
                " read by whom. " + DELIVERY + " Topic names carry the deployment's prefix"
                " (`CC_TOPIC_PREFIX`, empty by default)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "KAFKA_BOOTSTRAP_SERVERS (PLAINTEXT; restrict to the backbone's"
                " network)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _channel(spec: TopicSpec, types: Iterable[str]) -> dict[str, Any]:
    return {
        "address": "{prefix}" + spec.name,
        "title": spec.name,
        "description": (
            f"{spec.doc[:1].upper()}{spec.doc[1:]}. Key: `{spec.key}`; partitioned"
            f" {PARTITIONING[spec.name]}. {spec.partitions} partition(s)"
            + (", compacted" if spec.compacted else "")
            + (f", records kept {spec.retention_ms} ms." if spec.retention_ms else ".")
        ),
        "parameters": {
            "prefix": {
                "description": "The deployment's topic prefix (CC_TOPIC_PREFIX).",
                "default": "",
            }
        },
        "messages": {t: {"$ref": f"#/components/messages/{t}"} for t in types},
        "bindings": {
            "kafka": {
                "topic": spec.name,
                "partitions": spec.partitions,
                "topicConfiguration": {
                    "cleanup.policy": ["compact" if spec.compacted else "delete"],
                    **({"retention.ms": spec.retention_ms} if spec.retention_ms else {}),
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _components(
    per_record: dict[str, dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each record's schema as a component, its ``$defs`` hoisted to shared components (the
    ``$ref``s rewritten to point there) and its ``$id`` dropped (it would change where the
    references resolve)."""
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    travels = carried()
    keys = {
        t: "; ".join(
            f"on {spec.name}: {spec.key}" for spec in ALL_TOPICS if t in travels[spec.name]
        )
        for t in per_record
    }
    for type_name, original in per_record.items():
        schema = copy.deepcopy(original)
        schema.pop("$id", None)
        for name, definition in schema.pop("$defs", {}).items():
            existing = schemas.get(name)
            if existing is not None and existing != _rewrite(definition):
                raise ValueError(f"two different definitions named {name}")
            schemas[name] = _rewrite(definition)
        schemas[type_name] = _rewrite(schema)
        record = RECORD_TYPES[type_name]
        messages[type_name] = {
            "name": type_name,
            "title": record.__name__,
            "summary": (record.__doc__ or type_name).strip().split("\n\n")[0].replace("\n", " "),
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{type_name}"},
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": keys[type_name]},
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
    return dict(sorted(schemas.items())), messages


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                v.replace("#/$defs/", "#/components/schemas/")
                if k == "$ref" and isinstance(v, str)
                else _rewrite(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node
