"""Which ``oneOf``/``anyOf`` branch a failing value is reported against (``mockserver.validation``).

The branch is chosen by the spec's ``discriminator.propertyName`` — whatever the property is called — and,
without a discriminator, by the property every tagged branch constrains with an ``enum``.
"""

from __future__ import annotations

import typing as t

import pytest

from mockserver.errors import Violation
from mockserver.validation import compiled_validator, discriminating_property, violation_from_error


def _branches(tag: str) -> list[dict]:
    return [
        {"type": "object", "required": [tag, "text"],
         "properties": {tag: {"type": "string", "enum": ["note"]}, "text": {"type": "string"}}},
        {"type": "object", "required": [tag, "url"],
         "properties": {tag: {"type": "string", "enum": ["link"]}, "url": {"type": "string"},
                        "rank": {"type": "integer", "enum": [1, 2]}}},
    ]


def _violation(schema: dict, value: t.Any) -> Violation:
    errors = list(compiled_validator(schema).iter_errors(value))
    assert errors, "the value must be invalid"
    return violation_from_error(errors[0], "body")


@pytest.mark.parametrize("tag", ["kind", "type"])
def test_the_declared_discriminator_picks_the_branch(tag: str) -> None:
    branches = _branches(tag)
    schema: dict[str, t.Any] = {"oneOf": branches, "discriminator": {"propertyName": tag}}
    assert discriminating_property(schema, branches) == tag
    missing = _violation(schema, {tag: "link", "text": "not a link"})
    assert (missing.path, missing.keyword) == (("url",), "required")
    unknown = _violation(schema, {tag: "video"})
    assert (unknown.path, unknown.keyword, unknown.expected, unknown.actual) == ((tag,), "enum", ["note", "link"],
                                                                                 "video")


def test_the_discriminator_wins_over_other_enumerated_properties() -> None:
    branches = _branches("kind")
    branches[0]["properties"]["rank"] = {"type": "integer", "enum": [3]}  # both branches now enumerate "rank"
    schema = {"oneOf": branches, "discriminator": {"propertyName": "kind"}}
    assert discriminating_property(schema, branches) == "kind"
    assert discriminating_property({"oneOf": branches}, branches) == "kind", "first common tag by name"
    assert _violation(schema, {"kind": "link"}).path == ("url",)


def test_without_discriminator_the_common_enumerated_property_decides() -> None:
    schema = {"anyOf": _branches("kind")}
    assert discriminating_property(schema, schema["anyOf"]) == "kind"
    assert _violation(schema, {"kind": "note"}).path == ("text",)
    untagged = {"anyOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"type": "string"}]}
    assert discriminating_property(untagged, untagged["anyOf"]) is None
    assert _violation(untagged, 5).keyword == "type", "no tag: the branch is chosen by JSON type"
