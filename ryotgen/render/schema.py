"""The spec's JSON Schema, generated from the pydantic models."""

from __future__ import annotations

from typing import Any

from ryotgen import conventions
from ryotgen.model import Model
from ryotgen.render.formats import to_json
from ryotgen.spec import Spec


def spec_schema() -> dict[str, Any]:
    """JSON Schema of the spec (draft 2020-12), titled for editors."""
    schema = Spec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ryotgen spec"
    return schema


def render(model: Model) -> dict[str, str]:
    schema = spec_schema()
    schema["$comment"] = model.header
    return {conventions.SCHEMA_PATH: to_json(schema)}
