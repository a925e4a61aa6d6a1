"""docs/spec-reference.md is generated from the pydantic models and must stay in step with them."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ryotgen import spec_reference
from tests.conftest import ROOT

REFERENCE = ROOT / "docs" / "spec-reference.md"


def test_committed_reference_is_current() -> None:
    expected = spec_reference.render()
    actual = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    assert actual == expected, (
        f"{REFERENCE.relative_to(ROOT)} is stale; regenerate it with `{spec_reference.COMMAND}`")


def test_module_command_prints_the_reference() -> None:
    result = subprocess.run([sys.executable, "-m", "ryotgen.spec_reference"], capture_output=True,
                            text=True, check=True, cwd=ROOT, timeout=60)
    assert result.stdout == spec_reference.render()


@pytest.mark.parametrize("section", spec_reference.sections(), ids=lambda s: s.paths[0] or "top level")
def test_every_field_is_described(section: spec_reference.Section) -> None:
    missing = [key for key, info in spec_reference._fields(section.model)
               if not spec_reference.description(info)]
    assert not missing, f"add a Field(description=...) in ryotgen/spec.py for: {', '.join(missing)}"


def test_every_key_of_the_default_spec_is_documented() -> None:
    """Each key used in specs/ryot.yaml appears as a row of the section documenting it."""
    import typing

    import yaml

    text = spec_reference.render()
    documented = set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE))
    # Maps keyed by the user's own names (label sets, matchers, Kubernetes labels) hold no spec keys.
    free_maps = {key for section in spec_reference.sections()
                 for key, info in spec_reference._fields(section.model)
                 if dict in (typing.get_origin(info.annotation), typing.get_origin(
                     typing.get_args(info.annotation)[0]) if typing.get_args(info.annotation) else None)}
    data = yaml.safe_load((ROOT / "specs" / "ryot.yaml").read_text(encoding="utf-8"))
    used: set[str] = set()

    def walk(node: object, free_keys: bool = False) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if not free_keys:
                    used.add(str(key))
                walk(value, free_keys=not free_keys and key in free_maps)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    assert free_maps >= {"labels", "matchers"}
    assert used - documented == set()


def test_internal_links_resolve() -> None:
    text = spec_reference.render()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    targets = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert targets and targets <= anchors, sorted(targets - anchors)
