"""The how-to's YAML snippets are real spec fragments: added to the default spec, it still builds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ryotgen import pipeline
from tests.conftest import DEFAULT_SPEC, ROOT

HOWTO = ROOT / "docs" / "howto.md"


def snippets() -> list[dict[str, Any]]:
    text = HOWTO.read_text(encoding="utf-8")
    return [yaml.safe_load(body) for body in re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)]


def test_the_howto_has_a_snippet_per_section() -> None:
    keys = {key for snippet in snippets() for key in snippet}
    assert {"metrics", "labels", "indicators", "alerts", "slos"} <= keys


def test_the_snippets_extend_the_default_spec_into_a_valid_one(tmp_path: Path) -> None:
    spec = yaml.safe_load(DEFAULT_SPEC.read_text(encoding="utf-8"))
    for snippet in snippets():
        for key, value in snippet.items():
            if isinstance(value, list):
                spec[key] = [*spec.get(key, []), *value]
            else:
                spec[key] = {**spec.get(key, {}), **value}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    model = pipeline.load_model(path)  # raises SpecError, with every problem, if a snippet is wrong
    assert "rejected_ratio" in model.indicators
    assert model.alert_name("high_rejection_rate") == "RyotHighRejectionRate"
    assert "RyotHighRejectionRate" in HOWTO.read_text(encoding="utf-8")
