"""Validate sandbox responses against ClickSend's official OpenAPI description.

The description (OpenAPI 3.0, the SMS section of ClickSend's published spec)
is shipped as sandbox/clicksend-sms-openapi.json. OpenAPI 3.0 marks
nullable fields with `nullable: true`; JSON Schema spells that as a type
list with "null", so the schemas are converted before use.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import sandbox

SPEC_PATH = Path(sandbox.__file__).parent / "clicksend-sms-openapi.json"


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _convert(value) for key, value in node.items() if key not in ("example", "nullable")}
    if node.get("nullable") is True:
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        elif "$ref" in converted:
            converted = {"anyOf": [{"$ref": converted.pop("$ref")}, {"type": "null"}], **converted}
    return converted


@cache
def _spec() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        pytest.skip(f"ClickSend's OpenAPI description is not at {SPEC_PATH}; conformance checks need it")
    return json.loads(SPEC_PATH.read_text())


@cache
def _components() -> dict[str, Any]:
    return _convert(_spec()["components"])


def response_schema_name(method: str, path: str) -> str:
    """Return the component name of the 200 response of `METHOD /v3/...`."""
    operation = _spec()["paths"][path][method.lower()]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[1]


def schema_errors(method: str, path: str, body: Any) -> set[str]:
    """Validate `body` against the operation's response schema; return the failing locations.

    A location is the dotted path of the failing value, e.g. "data.messages.0.schedule".
    """
    name = response_schema_name(method, path)
    schema = {"$ref": f"#/components/schemas/{name}", "components": _components()}
    validator = jsonschema.Draft202012Validator(schema)
    return {".".join(str(part) for part in error.absolute_path) for error in validator.iter_errors(body)}
