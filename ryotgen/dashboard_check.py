"""Dashboard validator: checks dashboard JSON as Grafana would load it.

`check_dashboard(data, catalog)` works on any dashboard JSON (generated or hand-made) and
returns findings: the grid (24 columns, no overlaps), unique panel ids and a uid, a datasource
on every panel and target, and every query parses and selects only catalog series (spec
metrics and generated recordings) once Grafana's variables are replaced by sample values.

`spec_problems(model)` runs it on every spec dashboard; model building calls it, so a spec
whose panel breaks a rule fails validation (exit 2) with the line of that panel or query.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ryotgen.loader import PathKey
from ryotgen.model import Model
from ryotgen.promql_check import Series, check, result_labels

GRID_COLUMNS = 24
# Grafana's global variables that stand for durations in queries, with sample values.
DURATION_VARIABLES = {"__rate_interval": "1m", "__interval": "15s", "__range": "6h"}
# What a label variable becomes for parsing: its All value.
SAMPLE_VALUE = ".*"
# $name, ${name}, ${name:format} and [[name]], as Grafana interpolates them.
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")
_UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a dashboard: in a panel or query (`panel`, `ref`) or at a
    dashboard-level `key` such as uid."""

    message: str
    panel: int | None = None
    ref: str | None = None
    title: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = f"panel {self.panel}" if self.panel is not None else ""
        if self.title:
            where += f" ({self.title!r})"
        if self.ref is not None:
            where += f" query {self.ref}"
        return f"{where}: {self.message}" if where else self.message


def check_dashboard(data: Mapping[str, Any], catalog: Mapping[str, Series]) -> list[Finding]:
    """Every finding for one dashboard's JSON; [] when Grafana would load it as intended."""
    findings: list[Finding] = []
    uid = data.get("uid")
    if not isinstance(uid, str) or not _UID.match(uid):
        findings.append(Finding(f"dashboard uid {uid!r} must be 1-40 letters, digits, - or _",
                                key="uid"))
    if not isinstance(data.get("schemaVersion"), int):
        findings.append(Finding("schemaVersion is missing; Grafana would migrate from a guess"))
    variables = _variables(data, findings)
    top = list(data.get("panels") or [])
    findings += _check_ids(itertools.chain(top, *(_children(p) for p in top)))
    groups = [top] + [_children(p) for p in top if p.get("collapsed")]
    for group in groups:
        findings += _check_grid(group)
    for panel in itertools.chain(top, *(_children(p) for p in top)):
        if panel.get("type") == "row":
            if panel.get("panels") and not panel.get("collapsed"):
                findings.append(Finding("an expanded row must list its panels after it, not "
                                        "inside it", panel.get("id")))
            continue
        findings += _check_panel(panel, variables, catalog)
    titles = {p.get("id"): p.get("title") for p in itertools.chain(top, *(_children(p) for p in top))}
    return [Finding(f.message, f.panel, f.ref, titles.get(f.panel)) if f.panel is not None else f
            for f in findings]


def _children(panel: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(panel.get("panels") or []) if panel.get("type") == "row" else []


def _variables(data: Mapping[str, Any], findings: list[Finding]) -> dict[str, str]:
    """Dashboard variables by name -> type; reports duplicates."""
    out: dict[str, str] = {}
    for variable in (data.get("templating") or {}).get("list") or []:
        name = variable.get("name")
        if name in out:
            findings.append(Finding(f"template variable {name!r} is defined twice"))
        out[name] = variable.get("type", "query")
    return out


def _check_ids(panels: Iterator[Mapping[str, Any]]) -> list[Finding]:
    findings = []
    seen: set[int] = set()
    for panel in panels:
        panel_id = panel.get("id")
        if not isinstance(panel_id, int) or isinstance(panel_id, bool):
            findings.append(Finding(f"panel {panel.get('title')!r} has no integer id"))
        elif panel_id in seen:
            findings.append(Finding(f"id {panel_id} is used by more than one panel", panel_id))
        else:
            seen.add(panel_id)
    return findings


def _check_grid(panels: list[Mapping[str, Any]]) -> list[Finding]:
    findings = []
    boxes: list[tuple[Mapping[str, Any], tuple[int, int, int, int]]] = []
    for panel in panels:
        pos = panel.get("gridPos") or {}
        values = [pos.get(k) for k in ("x", "y", "w", "h")]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            findings.append(Finding("gridPos needs integer x, y, w and h", panel.get("id")))
            continue
        x, y, w, h = (int(v) for v in values)  # type: ignore[arg-type]
        if w < 1 or h < 1 or x < 0 or y < 0:
            findings.append(Finding(f"gridPos x={x} y={y} w={w} h={h}: sizes must be positive "
                                    "and positions not negative", panel.get("id")))
            continue
        if x + w > GRID_COLUMNS:
            findings.append(Finding(f"gridPos x={x} w={w} reaches column {x + w}, beyond the "
                                    f"{GRID_COLUMNS}-column grid", panel.get("id")))
        for other, (ox, oy, ow, oh) in boxes:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                findings.append(Finding(f"overlaps panel {other.get('id')} "
                                        f"({other.get('title')!r})", panel.get("id")))
        boxes.append((panel, (x, y, w, h)))
    return findings


def _check_datasource(ref: Any, variables: Mapping[str, str]) -> str | None:
    """Why a datasource reference is unusable, or None."""
    if not isinstance(ref, Mapping) or not ref.get("uid"):
        return "has no datasource (expected {type: prometheus, uid: ...})"
    uid = str(ref["uid"])
    match = _VARIABLE.fullmatch(uid)
    if match:
        name = next(g for g in match.groups() if g)
        if variables.get(name) != "datasource":
            return f"uses datasource variable ${name}, which is not a datasource variable"
    if ref.get("type") not in (None, "prometheus"):
        return f"has a {ref.get('type')!r} datasource; queries here are PromQL"
    return None


def _check_panel(panel: Mapping[str, Any], variables: Mapping[str, str],
                 catalog: Mapping[str, Series]) -> list[Finding]:
    panel_id = panel.get("id")
    findings = []
    problem = _check_datasource(panel.get("datasource"), variables)
    if problem:
        findings.append(Finding(f"panel {problem}", panel_id))
    targets = panel.get("targets") or []
    if not targets:
        findings.append(Finding("panel has no queries", panel_id))
    refs: set[str] = set()
    for index, target in enumerate(targets):
        ref = target.get("refId") or None
        if ref is None:
            findings.append(Finding(f"query {index + 1} has no refId", panel_id))
        elif ref in refs:
            findings.append(Finding(f"refId {ref} is used twice", panel_id, ref))
        refs.add(ref or "")
        problem = _check_datasource(target.get("datasource"), variables)
        if problem:
            findings.append(Finding(f"query {problem}", panel_id, ref))
        expr = target.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            findings.append(Finding("query has no expression", panel_id, ref))
            continue
        text, unknown = substitute(expr, variables)
        for name in unknown:
            findings.append(Finding(f"uses ${name}, which is neither a dashboard variable nor a "
                                    "Grafana duration variable", panel_id, ref))
        for problem in check(text, catalog):
            offset, _, message = problem.partition(": ")
            where = offset.removeprefix("offset ")
            at = f" at character {int(where) + 1}" if where.isdigit() else ""
            findings.append(Finding(f"{message} (in {text!r}{at})", panel_id, ref))
    return findings


def substitute(expr: str, variables: Mapping[str, str]) -> tuple[str, list[str]]:
    """`expr` with Grafana variables replaced by sample values, and the names it does not know."""
    unknown: list[str] = []

    def value(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name in DURATION_VARIABLES:
            return DURATION_VARIABLES[name]
        if name not in variables and name not in unknown:
            unknown.append(name)
        return SAMPLE_VALUE

    return _VARIABLE.sub(value, expr), unknown


# --- spec dashboards -----------------------------------------------------------------------


def rules_catalog(model: Model) -> dict[str, Series]:
    """The model's catalog plus every generated recording (SLO series included)."""
    from ryotgen import rules

    catalog = dict(model.catalog)
    for group in rules.build(model):
        for rule in group.rules:
            record = getattr(rule, "record", None)
            if record is None:
                continue
            labels = (result_labels(rule.expr, catalog) or frozenset()) | frozenset(rule.labels)
            previous = catalog.get(record)
            if previous is not None:
                labels |= previous.labels
            catalog[record] = Series(record, "recorded", labels)
    return catalog


def spec_problems(model: Model) -> list[tuple[PathKey, str]]:
    """Findings on every spec dashboard, at the spec path of the panel or query behind them."""
    from ryotgen import dashboards

    out: list[tuple[PathKey, str]] = []
    for di, dash in enumerate(model.spec.dashboards):
        for ri, row in enumerate(dash.rows):
            for pi, panel in enumerate(row.panels):
                if panel.baseline and panel.type != "timeseries":
                    out.append((("dashboards", di, "rows", ri, "panels", pi, "baseline"),
                                f"baseline bands need a timeseries panel, not {panel.type}"))
    if out:
        return out
    catalog = rules_catalog(model)
    for di, dash in enumerate(model.spec.dashboards):
        built = dashboards.plan(model, di)
        for finding in check_dashboard(dashboards.skeleton(built), catalog):
            panel_id = finding.panel if finding.panel is not None else -1
            path = (built.origins.get((panel_id, finding.ref))
                    or built.origins.get((panel_id, None))
                    or ("dashboards", di, *([finding.key] if finding.key else [])))
            out.append((path, f"dashboard {dash.uid!r}: {finding}"))
    return out
