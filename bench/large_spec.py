"""Scale a spec N times, for benchmarks: N copies of every metric, indicator, SLO, alert,
runbook, dashboard, support entry and checklist, each copy renamed so the result stays valid.

Copy 0 keeps the original names (so single sections such as `baselines` still resolve); copy i
inserts `xi_` after the metric prefix (`ryot_x3_ttft_latency_seconds`, which keeps the unit and
`_total` suffixes the naming lint wants) and appends `_xi` to every other name, rewriting the
references (`indicator`, `of`, `runbook`, `metric`, metric names inside `expr`) alike. The
total cardinality budget grows N-fold; the per-metric budget stays as it is.

    python bench/large_spec.py --scale 10 --out /tmp/ryot-10x.yaml
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT / "specs" / "ryot.yaml"

# Sections that grow with the organisation (and `metrics`, renamed by its own rule, and the
# guide's checklists); everything else (service, labels, teams, policy,
# baselines, retention, prose) is shared by all copies.
SCALED = ("indicators", "slos", "alerts", "runbooks", "dashboards", "support")
# Keys whose string (or list of strings) values name something defined in a scaled section.
REFERENCES = ("name", "indicator", "indicators", "of", "runbook")
# Free text that gets a copy number so titles stay distinguishable.
LABELLED = ("title", "issue")
_SERIES_SUFFIXES = ("_bucket", "_sum", "_count")


class _Renamer:
    def __init__(self, prefix: str, metrics: set[str], copy_index: int) -> None:
        self.prefix = prefix
        self.metrics = metrics
        self.i = copy_index
        self.token = re.compile(re.escape(prefix) + r"[a-zA-Z0-9_]+")

    def metric(self, name: str) -> str:
        if self.i == 0 or name not in self.metrics:
            return name
        return f"{self.prefix}x{self.i}_{name.removeprefix(self.prefix)}"

    def name(self, name: str) -> str:
        return name if self.i == 0 else f"{name}_x{self.i}"

    def expr(self, text: str) -> str:
        """Rename metric names (and their _bucket/_sum/_count series) inside PromQL."""
        def sub(match: re.Match[str]) -> str:
            token = match.group(0)
            for suffix in ("", *_SERIES_SUFFIXES):
                base = token.removesuffix(suffix) if suffix else token
                if base in self.metrics and (not suffix or token.endswith(suffix)):
                    return self.metric(base) + suffix
            return token
        return text if self.i == 0 else self.token.sub(sub, text)

    def walk(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "metric" and isinstance(value, str):
                out[key] = self.metric(value)
            elif key == "expr" and isinstance(value, str):
                out[key] = self.expr(value)
            elif key == "uid" and isinstance(value, str):
                out[key] = value if self.i == 0 else f"{value}-x{self.i}"
            elif key in REFERENCES and isinstance(value, str):
                out[key] = self.name(value)
            elif key in REFERENCES and isinstance(value, list) and all(isinstance(v, str) for v in value):
                out[key] = [self.name(v) for v in value]
            elif key in LABELLED and isinstance(value, str) and self.i:
                out[key] = f"{value} (x{self.i})"
            else:
                out[key] = self.walk(value)
        return out


def scale(data: dict[str, Any], n: int) -> dict[str, Any]:
    """The spec `data` with every scaled section repeated `n` times under fresh names."""
    if n < 1:
        raise ValueError("scale must be at least 1")
    out = copy.deepcopy(data)
    prefix = data["service"]["metric_prefix"]
    metrics = {m["name"] for m in data.get("metrics", [])}
    for section in SCALED:
        items = data.get(section, [])
        out[section] = [
            _Renamer(prefix, metrics, i).walk(item) for i in range(n) for item in items
        ]
    # Metric names follow the metric rule (prefix kept, unit suffix last), not the `_xi` one.
    out["metrics"] = []
    for i in range(n):
        renamer = _Renamer(prefix, metrics, i)
        out["metrics"] += [{**renamer.walk(m), "name": renamer.metric(m["name"])}
                           for m in data.get("metrics", [])]
    guide = out.get("guide") or {}
    if guide.get("checklists"):
        guide["checklists"] = [
            _Renamer(prefix, metrics, i).walk(c) for i in range(n) for c in data["guide"]["checklists"]
        ]
    budget = out.get("cardinality")
    if budget and "max_series_total" in budget:
        budget["max_series_total"] = budget["max_series_total"] * n
    return out


def scaled_text(n: int, spec: Path = DEFAULT_SPEC) -> str:
    """YAML text of `spec` scaled `n` times."""
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    header = f"# {spec.name} scaled {n}x by bench/large_spec.py; benchmark input, not a real spec.\n"
    return header + yaml.safe_dump(scale(data, n), sort_keys=False, allow_unicode=True, width=200)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10, help="copies of each scaled section")
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="spec to scale")
    parser.add_argument("--out", type=Path, help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    text = scaled_text(args.scale, args.spec)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
