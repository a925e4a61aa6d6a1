"""Spec dashboards -> dashboard plans: panels with ids, grid positions, queries, units, thresholds.

Pure and free of grafanalib, so validation (`ryotgen validate`, model building) can check a
dashboard's layout and queries without loading the renderer's libraries; the renderer
(`ryotgen.render.grafana`) turns the same plan into Grafana JSON.

Queries: an indicator's recorded series where it is recorded, filtered by the dashboard's
label variables where that series keeps the label; unrecorded indicators are rebuilt from the
spec with `$__rate_interval` as their rate window, so it follows the scrape interval.

Layout: row-major from the spec's widths and heights (wrapping at 24 columns); ids count up
in that order, so neither moves between builds. The SLO row follows the first spec row.

Baseline bands: a panel with `baseline:` gets, per profile, two constant series (the range's
min and max, drawn dashed in the profile's colour with the area between them filled) plus the
per-profile indicator the deviation alerts compare with the range. Threshold steps cannot do
this: they are one set per panel and the profiles' ranges overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ryotgen import conventions, promql, queries
from ryotgen.loader import PathKey
from ryotgen.model import IndicatorInfo, Model
from ryotgen.spec import (
    Dashboard,
    ExprIndicator,
    GaugeIndicator,
    MeanIndicator,
    Panel,
    QuantileIndicator,
    RateIndicator,
    RatioIndicator,
    TopkIndicator,
)

SCHEMA_VERSION = 39  # Grafana 10.4 / 11.0
GRID_COLUMNS = 24
RATE_INTERVAL = "$__rate_interval"
# A window this long is part of what the indicator means (a 24h error rate), not smoothing.
KEEP_WINDOW_SECONDS = 3600
# Spec indicator units -> Grafana unit ids.
UNITS = {
    "seconds": "s", "ratio": "percentunit", "percent": "percent", "tokens_per_second": "short",
    "requests_per_second": "reqps", "per_second": "short", "count": "short", "bytes": "bytes",
    "none": "short",
}
BAND_COLORS = ("green", "blue", "purple", "orange", "yellow", "red")
SLO_ROW_TITLE = "Service level objectives"


def datasource_ref() -> dict[str, str]:
    """Every panel and target selects the datasource through the dashboard variable."""
    return {"type": "prometheus", "uid": "${" + conventions.GRAFANA_DATASOURCE_VARIABLE + "}"}


# --- queries -------------------------------------------------------------------------------


def rate_window(window: str) -> str:
    """Short windows only smooth a rate, so Grafana picks them; long ones define the indicator."""
    return window if promql.parse_duration(window) >= KEEP_WINDOW_SECONDS else RATE_INTERVAL


def variable_filter(labels: frozenset[str], variables: list[str]) -> dict[str, str]:
    """label=~"$label" for each dashboard variable the series carries."""
    return {v: "$" + v for v in variables if v in labels}


def panel_query(model: Model, info: IndicatorInfo, variables: list[str]) -> str:
    """What a panel plots for an indicator, filtered by the dashboard variables it can honour."""
    if info.record:
        return queries.selector(info.record, {}, regex=variable_filter(info.labels, variables))
    ind = info.spec
    if isinstance(ind, TopkIndicator):
        return queries.topk(ind.k, panel_query(model, model.indicators[ind.of], variables))
    if isinstance(ind, ExprIndicator):
        return info.expr  # raw PromQL is the spec author's; it is checked, not rewritten
    by = tuple(ind.by)
    if isinstance(ind, RatioIndicator):
        labels = _raw_labels(model, ind.numerator.metric) & _raw_labels(model, ind.denominator.metric)
        return queries.ratio(ind.numerator, ind.denominator, rate_window(ind.window), by,
                             variable_filter(labels, variables))
    if isinstance(ind, RateIndicator):
        regex = variable_filter(_raw_labels(model, ind.counter.metric), variables)
        return queries.rate(ind.counter, rate_window(ind.window), by, regex)
    if isinstance(ind, QuantileIndicator):
        regex = variable_filter(_raw_labels(model, ind.histogram.metric), variables)
        return queries.quantile(ind.histogram, ind.quantile, rate_window(ind.window), by, regex)
    if isinstance(ind, MeanIndicator):
        regex = variable_filter(_raw_labels(model, ind.histogram.metric), variables)
        return queries.mean(ind.histogram, rate_window(ind.window), by, regex)
    assert isinstance(ind, GaugeIndicator)
    regex = variable_filter(_raw_labels(model, ind.gauge.metric), variables)
    return queries.gauge(ind.gauge, ind.aggregation, by, regex)


def _raw_labels(model: Model, metric: str) -> frozenset[str]:
    return frozenset(model.metrics[metric].spec.labels) | model.target_labels


def default_legend(info: IndicatorInfo) -> str:
    """{{model}} for per-model series; the indicator's title for a single series."""
    labels = sorted(info.labels - {"job"})
    return " ".join("{{" + label + "}}" for label in labels) if labels else info.spec.title


def variable_query(model: Model, label: str) -> str:
    """label_values() over the first spec metric carrying `label`, else over `up`."""
    job: dict[str, str | list[str]] = {"job": model.spec.service.job}
    for info in model.metrics.values():
        if label in info.spec.labels:
            suffix = "_count" if info.spec.type == "histogram" else ""
            return f"label_values({queries.selector(info.name, job, suffix)}, {label})"
    return f"label_values({queries.selector('up', job)}, {label})"


# --- layout --------------------------------------------------------------------------------


class _Grid:
    """Row-major placement: left to right, wrapping at 24 columns; rows span the width."""

    def __init__(self) -> None:
        self.x = self.y = self.line = 0
        self.next_id = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def row(self) -> dict[str, int]:
        self.newline()
        pos = {"h": 1, "w": GRID_COLUMNS, "x": 0, "y": self.y}
        self.y += 1
        return pos

    def place(self, w: int, h: int) -> dict[str, int]:
        if self.x + w > GRID_COLUMNS:
            self.newline()
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.line = max(self.line, h)
        return pos

    def newline(self) -> None:
        self.y += self.line
        self.x = self.line = 0


# --- panels --------------------------------------------------------------------------------


def threshold_steps(thresholds: Sequence[tuple[float, str]]) -> list[dict[str, Any]]:
    """Grafana steps: the first colour is the base (from -Inf), the rest start at their value."""
    if not thresholds:
        return [{"color": "green", "value": None}]
    steps: list[dict[str, Any]] = [{"color": thresholds[0][1], "value": None}]
    steps += [{"color": color, "value": value} for value, color in thresholds[1:]]
    return steps


def ref_id(index: int) -> str:
    """A, B, ..., Z, AA, AB, ..."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


@dataclass
class PanelPlan:
    """Everything a panel shows, whatever its type; the renderer turns it into a grafanalib panel."""

    kind: str
    title: str
    description: str
    targets: list[tuple[str, str, PathKey]]  # (expr, legend, spec path it comes from)
    unit: str
    steps: list[dict[str, Any]]
    width: int
    height: int
    overrides: list[dict[str, Any]] = field(default_factory=list)
    mappings: list[dict[str, Any]] = field(default_factory=list)
    min: float | None = None
    max: float | None = None
    threshold_style: str = "off"


def _spec_panel(model: Model, dash: Dashboard, panel: Panel, path: PathKey) -> PanelPlan:
    infos = [model.indicators[t.indicator] for t in panel.targets]
    targets = [(panel_query(model, info, dash.variables), t.legend or default_legend(info),
                (*path, "targets", ti))
               for ti, (t, info) in enumerate(zip(panel.targets, infos, strict=True))]
    unit = panel.unit or UNITS[infos[0].spec.unit]
    thresholds = [(t.value, t.color) for t in panel.thresholds]
    spec = PanelPlan(
        kind=panel.type, title=panel.title, description=panel.description or "", targets=targets,
        unit=unit, steps=threshold_steps(thresholds), width=panel.width, height=panel.height,
        threshold_style="dashed" if len(thresholds) > 1 else "off",
        min=0 if unit in ("percent", "percentunit") else None,
        max=100 if unit == "percent" else 1 if unit == "percentunit" else None,
    )
    if panel.baseline and model.spec.baselines:
        _add_baseline(model, dash, panel.baseline, spec, (*path, "baseline"))
    return spec


def _add_baseline(model: Model, dash: Dashboard, quantity: str, spec: PanelPlan,
                  path: PathKey) -> None:
    """Per profile: its measured value and its expected range as a filled, dashed band."""
    baselines = model.spec.baselines
    assert baselines is not None
    label = baselines.profile_label
    check = {"ttft_seconds": baselines.ttft, "latency_seconds": baselines.latency,
             "token_rate": baselines.token_rate}[quantity]
    measured = model.indicators[check.indicator]
    spec.targets.append((panel_query(model, measured, dash.variables), f"{{{{{label}}}}} measured",
                         path))
    # Bands show only for profiles some target runs (and that the profile variable selects).
    present = queries.selector("up", {"job": model.spec.service.job},
                               regex=variable_filter(frozenset({label}), dash.variables))
    for index, profile in enumerate(baselines.profiles):
        bounds: Any = getattr(profile, quantity)
        color = {"mode": "fixed", "fixedColor": BAND_COLORS[index % len(BAND_COLORS)]}
        names = {end: f"{profile.name} baseline {end}" for end in ("min", "max")}
        for end in ("min", "max"):
            value = getattr(bounds, end)
            if value is None:
                continue
            expr = queries.labelled_constant(value, label, profile.name)
            if label in model.target_labels:
                expr = queries.present_on(expr, (label,), present)
            spec.targets.append((expr, names[end], path))
            props: list[dict[str, Any]] = [
                {"id": "color", "value": color},
                {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
            ]
            if end == "max" and bounds.min is not None:
                props += [{"id": "custom.fillBelowTo", "value": names["min"]},
                          {"id": "custom.fillOpacity", "value": 10}]
            spec.overrides.append({"matcher": {"id": "byName", "options": names[end]},
                                   "properties": props})
    note = (f"Dashed lines around a shaded band: each baseline profile's expected range. "
            f"'<profile> measured': {measured.spec.title}, which the baseline deviation alerts "
            "compare with that range.")
    spec.description = f"{spec.description}\n\n{note}".strip()


def _slo_panels(model: Model) -> list[tuple[PanelPlan, PathKey]]:
    """Status of every SLO; error budget left and burn rate of those with an SLI.

    One query per recorded series, each SLO a series told apart by its `slo` label, so the
    row stays the same size however many SLOs the spec has (a query per SLO made every
    dashboard grow with the SLO count: quadratic output for large specs). Reads the SLO
    recordings of `ryotgen.rules` (names from conventions); SLOs are service-wide, so these
    queries ignore the label variables.
    """
    from ryotgen import rules

    slos = model.spec.slos
    origin: PathKey = ("slos",)
    tiers = model.spec.slo_policy.tiers
    burn_window = tiers[0].long_window
    # Status checks grouped by more than `job` (e.g. by model) give one series per group.
    extra = sorted({label for slo in slos for label in model.indicators[slo.status.indicator].labels}
                   - {"job"})
    legend = "{{" + conventions.SLO_LABEL + "}}" + "".join(f" {{{{{label}}}}}" for label in extra)
    status = [(conventions.SLO_STATUS_RECORD, legend, origin)] if slos else []
    windows = sorted({rules.slo_window(model, slo) for slo in slos if slo.sli is not None})
    budget_legend = "{{" + conventions.SLO_LABEL + "}}"
    budget = [(conventions.slo_budget_remaining_record(window),
               budget_legend + (f" ({window})" if len(windows) > 1 else ""), origin)
              for window in windows]
    burn = [(conventions.slo_burn_rate_record(burn_window), budget_legend, origin)] if windows else []
    mappings = [{"type": "value", "options": {
        "1": {"text": "meeting", "color": "green", "index": 0},
        "0": {"text": "violated", "color": "red", "index": 1},
    }}]
    width = GRID_COLUMNS // 3 if budget else GRID_COLUMNS
    out: list[tuple[PanelPlan, PathKey]] = [(PanelPlan(
        kind="stat", title="SLO status", targets=status, unit="none",
        description="1 (meeting) while the SLO's status check holds, else 0 (violated).",
        steps=threshold_steps([(0, "red"), (1, "green")]), width=width, height=6, mappings=mappings,
    ), ("slos",))]
    if budget:
        out.append((PanelPlan(
            kind="stat", title="Error budget remaining", targets=budget, unit="percentunit",
            description="Share of the SLO window's error budget not yet spent; below 0 the "
                        "objective is missed for the window.",
            steps=threshold_steps([(0, "red"), (0, "orange"), (0.25, "green")]),
            width=width, height=6,
        ), ("slos",)))
        severity_colors = {"critical": "red", "warning": "orange", "info": "blue"}
        levels = sorted((t.burn_rate, severity_colors[t.severity]) for t in tiers)
        out.append((PanelPlan(
            kind="timeseries", title=f"Error budget burn rate ({burn_window})", targets=burn,
            unit="short",
            description="How many times faster than sustainable the budget burns; dashed lines "
                        "are the burn-rate alert tiers (each alert also needs its short window).",
            steps=threshold_steps([(0, "green"), *levels]), width=width, height=6,
            threshold_style="dashed",
        ), ("slos",)))
    return out


# --- the plan ------------------------------------------------------------------------------


@dataclass
class PlannedPanel:
    id: int
    grid: dict[str, int]
    panel: PanelPlan
    path: PathKey  # spec path the panel comes from


@dataclass
class PlannedRow:
    id: int
    grid: dict[str, int]
    title: str
    collapsed: bool
    panels: list[PlannedPanel]
    path: PathKey


@dataclass
class DashboardPlan:
    """One dashboard laid out; `origins` maps (panel id, refId or None) to spec paths."""

    spec: Dashboard
    rows: list[PlannedRow]
    origins: dict[tuple[int, str | None], PathKey] = field(default_factory=dict)


def plan(model: Model, index: int) -> DashboardPlan:
    """Spec dashboard number `index`, laid out."""
    dash = model.spec.dashboards[index]
    base: PathKey = ("dashboards", index)
    rows: list[tuple[str, bool, list[tuple[PanelPlan, PathKey]], PathKey]] = []
    for ri, row in enumerate(dash.rows):
        specs = [(_spec_panel(model, dash, p, (*base, "rows", ri, "panels", pi)),
                  (*base, "rows", ri, "panels", pi)) for pi, p in enumerate(row.panels)]
        rows.append((row.title, row.collapsed, specs, (*base, "rows", ri)))
    if dash.slo_row and model.spec.slos:
        rows.insert(1, (SLO_ROW_TITLE, False, _slo_panels(model), (*base, "slo_row")))
    out = DashboardPlan(dash, [])
    grid = _Grid()
    for title, collapsed, row_specs, path in rows:
        planned_row = PlannedRow(grid.new_id(), grid.row(), title, collapsed, [], path)
        out.origins[(planned_row.id, None)] = path
        for spec, panel_path in row_specs:
            planned = PlannedPanel(grid.new_id(), grid.place(spec.width, spec.height), spec, panel_path)
            planned_row.panels.append(planned)
            out.origins[(planned.id, None)] = panel_path
            for ti, (_, _, target_path) in enumerate(spec.targets):
                out.origins[(planned.id, ref_id(ti))] = target_path
        if collapsed:
            # A collapsed row holds its panels and takes one grid line.
            grid.newline()
            grid.y = planned_row.grid["y"] + 1
        out.rows.append(planned_row)
    return out


def skeleton(planned: DashboardPlan) -> dict[str, Any]:
    """The part of the dashboard JSON the validator reads, exactly as the renderer writes it."""
    def panel(p: PlannedPanel) -> dict[str, Any]:
        targets = [{"refId": ref_id(i), "expr": expr, "datasource": datasource_ref()}
                   for i, (expr, _, _) in enumerate(p.panel.targets)]
        return {"id": p.id, "type": p.panel.kind, "title": p.panel.title, "gridPos": p.grid,
                "datasource": datasource_ref(), "targets": targets}

    panels: list[dict[str, Any]] = []
    for row in planned.rows:
        children = [panel(p) for p in row.panels]
        panels.append({"id": row.id, "type": "row", "title": row.title, "gridPos": row.grid,
                       "collapsed": row.collapsed, "panels": children if row.collapsed else []})
        if not row.collapsed:
            panels += children
    variables = [{"name": conventions.GRAFANA_DATASOURCE_VARIABLE, "type": "datasource"}]
    variables += [{"name": label, "type": "query"} for label in planned.spec.variables]
    return {"uid": planned.spec.uid, "schemaVersion": SCHEMA_VERSION,
            "templating": {"list": variables}, "panels": panels}
