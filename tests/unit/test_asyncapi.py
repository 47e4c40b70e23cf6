"""The AsyncAPI document of the topics (docs/asyncapi.yaml): generated from the code, kept in
sync with it, valid for the official AsyncAPI parser, and its schemas accept real records."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from schemas.asyncapi import carried, document
from schemas.codec import RECORD_TYPES, decode
from schemas.contacts import ContactArrived
from schemas.topics import ALL_TOPICS
from tests.support.records import example

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "asyncapi.yaml"
TOOLS = ROOT / "tests" / "tools"
REGENERATE = "contactcenter export-schemas --asyncapi docs/asyncapi.yaml"


def test_the_committed_document_is_the_generated_one() -> None:
    committed = yaml.safe_load(COMMITTED.read_text())
    assert committed == document(), f"docs/asyncapi.yaml is stale: run `{REGENERATE}`"


def test_every_record_travels_on_a_topic_and_every_topic_says_who_uses_it() -> None:
    travels = carried()
    assert {t for types in travels.values() for t in types} == set(RECORD_TYPES)
    for spec in ALL_TOPICS:
        assert travels[spec.name], spec.name
        assert spec.producers and spec.consumers, spec.name


def test_the_official_parser_finds_no_error() -> None:
    node = shutil.which("node")
    if node is None or not (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("the AsyncAPI parser is not installed: run scripts/install-test-deps.sh")
    result = subprocess.run(
        [node, str(TOOLS / "validate_asyncapi.mjs"), str(COMMITTED)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"valid: {len(ALL_TOPICS)} channels, {len(RECORD_TYPES)} messages" in result.stdout


@pytest.mark.parametrize("type_name", sorted(RECORD_TYPES))
def test_each_message_schema_accepts_a_record_and_refuses_another_type(type_name: str) -> None:
    spec = document()
    registry = Registry().with_resource(
        "urn:asyncapi", Resource(contents=spec, specification=DRAFT202012)
    )
    ref = spec["components"]["messages"][type_name]["payload"]["$ref"]
    validator = Draft202012Validator({"$ref": "urn:asyncapi" + ref}, registry=registry)
    body = example(RECORD_TYPES[type_name])
    validator.validate(body)
    assert not validator.is_valid({**body, "type": "not_" + type_name})


def test_the_guides_example_record_is_a_valid_contact_arrived() -> None:
    """docs/integrate.md's example is what a gateway in another language would publish: the
    workers' own decoder takes it."""
    guide = (ROOT / "docs" / "integrate.md").read_text()
    example_json = guide.split("```json\n", 1)[1].split("```", 1)[0]
    record = decode(example_json.encode())
    assert isinstance(record, ContactArrived) and record.contact_id == "acme-4711"
