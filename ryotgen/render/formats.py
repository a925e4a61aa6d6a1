"""Serialising data to YAML and JSON with the do-not-edit header; shared by renderers."""

from __future__ import annotations

from typing import Any

import yaml

from ryotgen.render import fast_json
from ryotgen.render.fast_yaml import FastEmitter


class _Dumper(FastEmitter, yaml.SafeDumper):
    """SafeDumper that never emits anchors/aliases, so shared objects stay readable."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line strings (descriptions, long PromQL) as literal blocks are easier to review.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def to_yaml(data: Any, header: str) -> str:
    """YAML document with a `# header` line; keys keep the order the renderer chose."""
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    return f"# {header}\n{body}"


def to_json(data: Any) -> str:
    """Stable JSON: sorted keys, two-space indent, trailing newline."""
    return fast_json.dumps(data) + "\n"  # json.dumps(indent=2, sort_keys=True, ensure_ascii=False)
