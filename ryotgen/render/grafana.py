"""Grafana: spec dashboards -> grafanalib objects -> dashboard JSON, plus provisioning files.

Queries: an indicator's recorded series where it is recorded, filtered by the dashboard's
label variables where that series keeps the label; unrecorded indicators are rebuilt from the
spec with `$__rate_interval` as their rate window, so it follows the scrape interval.

grafanalib emits an old dashboard shape (schemaVersion 12, Grafana 6 gauge options, legacy
target keys); `_finish` brings the JSON data to the current schema. Panel ids and grid
positions are assigned row-major from the spec's widths and heights, so they never move
between builds.

Baseline bands: a panel with `baseline:` gets, per profile, two constant series (the range's
min and max, drawn dashed in the profile's colour with the area between them filled) plus the
per-profile indicator the deviation alerts compare with the range. Threshold steps cannot do
this: they are one set per panel and the profiles' ranges overlap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from ryotgen import conventions, promql, queries
from ryotgen.loader import PathKey
from ryotgen.model import IndicatorInfo, Model
from ryotgen.render.formats import to_json, to_yaml
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
ALL = "$__all"
# Spec indicator units -> Grafana unit ids.
UNITS = {
    "seconds": "s", "ratio": "percentunit", "percent": "percent", "tokens_per_second": "short",
    "requests_per_second": "reqps", "per_second": "short", "count": "short", "bytes": "bytes",
    "none": "short",
}
BAND_COLORS = ("green", "blue", "purple", "orange", "yellow", "red")
# Keys grafanalib emits that current Grafana ignores or would migrate from.
_LEGACY_PANEL_KEYS = frozenset({"height", "span", "minSpan", "error", "thresholdType", "maxDataPoints"})
_LEGACY_TARGET_KEYS = frozenset({"target", "metric", "step", "intervalFactor", "query"})
_LEGACY_DASHBOARD_KEYS = frozenset({"rows", "style", "hideControls", "sharedCrosshair", "__inputs"})


def datasource_ref() -> dict[str, str]:
    """Every panel and target selects the datasource through the dashboard variable."""
    return {"type": "prometheus", "uid": "${" + conventions.GRAFANA_DATASOURCE_VARIABLE + "}"}


@dataclass
class BuiltDashboard:
    """A dashboard as JSON data, and the spec path behind each panel and query."""

    data: dict[str, Any]
    # (panel id, refId or None) -> spec path, so validator findings point at spec lines.
    origins: dict[tuple[int, str | None], PathKey] = field(default_factory=dict)


def render(model: Model) -> dict[str, str]:
    """Every spec dashboard as JSON, plus Grafana's datasource and dashboard provisioning."""
    out = {conventions.dashboard_path(d.uid): to_json(build(model, i).data)
           for i, d in enumerate(model.spec.dashboards)}
    if model.spec.dashboards:
        service = model.spec.service.name
        out[conventions.grafana_datasource_path(service)] = to_yaml(datasources(model), model.header)
        out[conventions.grafana_provider_path(service)] = to_yaml(providers(model), model.header)
    return out


# --- provisioning --------------------------------------------------------------------------


def datasource_name(model: Model) -> str:
    return f"{model.spec.service.title} Prometheus"


def datasources(model: Model) -> dict[str, Any]:
    service = model.spec.service
    return {"apiVersion": 1, "datasources": [{
        "name": datasource_name(model),
        "uid": conventions.grafana_datasource_uid(service.name),
        "type": "prometheus",
        "access": "proxy",
        "url": service.prometheus_url,
        "editable": False,
        # timeInterval is the scrape interval: $__rate_interval is derived from it.
        "jsonData": {"httpMethod": "POST", "timeInterval": service.scrape_interval},
    }]}


def providers(model: Model) -> dict[str, Any]:
    service = model.spec.service
    return {"apiVersion": 1, "providers": [{
        "name": service.name,
        "folder": service.title,
        "type": "file",
        "disableDeletion": False,
        "allowUiUpdates": False,  # the spec is the source; edits in the UI would be lost
        "updateIntervalSeconds": 30,
        "options": {"path": conventions.grafana_dashboards_mount(service.name),
                    "foldersFromFilesStructure": False},
    }]}


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

    def row(self) -> g.GridPos:
        self.newline()
        pos = g.GridPos(h=1, w=GRID_COLUMNS, x=0, y=self.y)
        self.y += 1
        return pos

    def place(self, w: int, h: int) -> g.GridPos:
        if self.x + w > GRID_COLUMNS:
            self.newline()
        pos = g.GridPos(h=h, w=w, x=self.x, y=self.y)
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


def _target(expr: str, legend: str, ref: str, *, instant: bool, table: bool) -> g.Target:
    return g.Target(expr=expr, legendFormat=legend, refId=ref, instant=instant,
                    datasource=datasource_ref(), format="table" if table else "time_series")


def _ref_id(index: int) -> str:
    """A, B, ..., Z, AA, AB, ..."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


@dataclass
class _PanelSpec:
    """Everything a panel needs, whatever its type; turned into a grafanalib object at the end."""

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


def make_panel(spec: _PanelSpec, panel_id: int, pos: g.GridPos) -> g.Panel:
    # Bars and tables show the latest value per series; a table needs one frame of them.
    instant = spec.kind in ("bargauge", "table")
    targets = [_target(expr, legend, _ref_id(i), instant=instant, table=spec.kind == "table")
               for i, (expr, legend, _) in enumerate(spec.targets)]
    common: dict[str, Any] = {
        "title": spec.title, "description": spec.description or None, "dataSource": datasource_ref(),
        "targets": targets, "id": panel_id, "gridPos": pos, "thresholds": spec.steps,
    }
    if spec.kind == "timeseries":
        return g.TimeSeries(**common, unit=spec.unit, overrides=spec.overrides, tooltipMode="multi",
                            legendDisplayMode="list", showPoints="never", fillOpacity=0,
                            thresholdsStyleMode=spec.threshold_style)
    if spec.kind == "stat":
        return g.Stat(**common, format=spec.unit, mappings=spec.mappings, reduceCalc="lastNotNull",
                      graphMode="none", colorMode="value", textMode="value_and_name")
    if spec.kind == "gauge":
        return g.GaugePanel(**common, format=spec.unit, calc="lastNotNull", min=spec.min,
                            max=spec.max)
    if spec.kind == "bargauge":
        return g.BarGauge(**common, format=spec.unit, calc="lastNotNull", min=spec.min, max=spec.max,
                          displayMode=g.GAUGE_DISPLAY_MODE_GRADIENT)
    assert spec.kind == "table"
    return g.Table(**common, unit=spec.unit)


def _spec_panel(model: Model, dash: Dashboard, panel: Panel, path: PathKey) -> _PanelSpec:
    infos = [model.indicators[t.indicator] for t in panel.targets]
    targets = [(panel_query(model, info, dash.variables), t.legend or default_legend(info),
                (*path, "targets", ti))
               for ti, (t, info) in enumerate(zip(panel.targets, infos, strict=True))]
    unit = panel.unit or UNITS[infos[0].spec.unit]
    thresholds = [(t.value, t.color) for t in panel.thresholds]
    spec = _PanelSpec(
        kind=panel.type, title=panel.title, description=panel.description or "", targets=targets,
        unit=unit, steps=threshold_steps(thresholds), width=panel.width, height=panel.height,
        threshold_style="dashed" if len(thresholds) > 1 else "off",
        min=0 if unit in ("percent", "percentunit") else None,
        max=100 if unit == "percent" else 1 if unit == "percentunit" else None,
    )
    if panel.baseline and model.spec.baselines:
        _add_baseline(model, dash, panel.baseline, spec, (*path, "baseline"))
    return spec


def _add_baseline(model: Model, dash: Dashboard, quantity: str, spec: _PanelSpec,
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


def _slo_panels(model: Model) -> list[tuple[_PanelSpec, PathKey]]:
    """Status of every SLO; error budget left and burn rate of those with an SLI.

    Reads the SLO recordings of `ryotgen.rules` (names from conventions); SLOs are
    service-wide, so these queries ignore the label variables.
    """
    from ryotgen import rules

    status: list[tuple[str, str, PathKey]] = []
    budget: list[tuple[str, str, PathKey]] = []
    burn: list[tuple[str, str, PathKey]] = []
    tiers = model.spec.slo_policy.tiers
    burn_window = tiers[0].long_window
    for si, slo in enumerate(model.spec.slos):
        only: dict[str, str | list[str]] = {conventions.SLO_LABEL: slo.name}
        extra = sorted(model.indicators[slo.status.indicator].labels - {"job"})
        legend = slo.title + "".join(f" {{{{{label}}}}}" for label in extra)
        status.append((queries.selector(conventions.SLO_STATUS_RECORD, only), legend,
                       ("slos", si, "status")))
        if slo.sli is None:
            continue
        window = rules.slo_window(model, slo)
        budget.append((queries.selector(conventions.slo_budget_remaining_record(window), only),
                       f"{slo.title} ({window})", ("slos", si, "objective")))
        burn.append((queries.selector(conventions.slo_burn_rate_record(burn_window), only),
                     slo.title, ("slos", si, "sli")))
    mappings = [{"type": "value", "options": {
        "1": {"text": "meeting", "color": "green", "index": 0},
        "0": {"text": "violated", "color": "red", "index": 1},
    }}]
    width = GRID_COLUMNS // 3 if budget else GRID_COLUMNS
    out: list[tuple[_PanelSpec, PathKey]] = [(_PanelSpec(
        kind="stat", title="SLO status", targets=status, unit="none",
        description="1 (meeting) while the SLO's status check holds, else 0 (violated).",
        steps=threshold_steps([(0, "red"), (1, "green")]), width=width, height=6, mappings=mappings,
    ), ("slos",))]
    if budget:
        out.append((_PanelSpec(
            kind="stat", title="Error budget remaining", targets=budget, unit="percentunit",
            description="Share of the SLO window's error budget not yet spent; below 0 the "
                        "objective is missed for the window.",
            steps=threshold_steps([(0, "red"), (0, "orange"), (0.25, "green")]),
            width=width, height=6,
        ), ("slos",)))
        severity_colors = {"critical": "red", "warning": "orange", "info": "blue"}
        levels = sorted((t.burn_rate, severity_colors[t.severity]) for t in tiers)
        out.append((_PanelSpec(
            kind="timeseries", title=f"Error budget burn rate ({burn_window})", targets=burn,
            unit="short",
            description="How many times faster than sustainable the budget burns; dashed lines "
                        "are the burn-rate alert tiers (each alert also needs its short window).",
            steps=threshold_steps([(0, "green"), *levels]), width=width, height=6,
            threshold_style="dashed",
        ), ("slos",)))
    return out


# --- the dashboard -------------------------------------------------------------------------


def build(model: Model, index: int) -> BuiltDashboard:
    """Spec dashboard number `index` as current-schema JSON data, with panel origins."""
    dash = model.spec.dashboards[index]
    base: PathKey = ("dashboards", index)
    built = BuiltDashboard({})
    grid = _Grid()
    rows: list[tuple[str, bool, list[tuple[_PanelSpec, PathKey]], PathKey]] = []
    for ri, row in enumerate(dash.rows):
        specs = [(_spec_panel(model, dash, p, (*base, "rows", ri, "panels", pi)),
                  (*base, "rows", ri, "panels", pi)) for pi, p in enumerate(row.panels)]
        rows.append((row.title, row.collapsed, specs, (*base, "rows", ri)))
    if dash.slo_row and model.spec.slos:
        rows.insert(1, ("Service level objectives", False, _slo_panels(model), (*base, "slo_row")))
    panels: list[g.Panel] = []
    for title, collapsed, row_specs, path in rows:
        row_id, row_pos = grid.new_id(), grid.row()
        children = []
        for spec, panel_path in row_specs:
            panel_id = grid.new_id()
            children.append(make_panel(spec, panel_id, grid.place(spec.width, spec.height)))
            built.origins[(panel_id, None)] = panel_path
            for ti, (_, _, target_path) in enumerate(spec.targets):
                built.origins[(panel_id, _ref_id(ti))] = target_path
        built.origins[(row_id, None)] = path
        if collapsed:
            # A collapsed row holds its panels and takes one grid line.
            grid.newline()
            grid.y = row_pos.y + 1
        panels.append(g.RowPanel(title=title, collapsed=collapsed, id=row_id, gridPos=row_pos,
                                 panels=children if collapsed else []))
        if not collapsed:
            panels += children
    dashboard = g.Dashboard(
        title=dash.title, uid=dash.uid, description=model.header, tags=list(dash.tags),
        panels=panels, refresh=dash.refresh, time=g.Time(f"now-{dash.time_from}", "now"),
        timezone="browser", graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        templating=g.Templating(list=_variables(model, dash)), editable=True,
    )
    built.data = _finish(json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder)))
    return built


def _variables(model: Model, dash: Dashboard) -> list[g.Template]:
    uid = conventions.grafana_datasource_uid(model.spec.service.name)
    out = [g.Template(name=conventions.GRAFANA_DATASOURCE_VARIABLE, label="Data source",
                      query="prometheus", type="datasource", default=uid)]
    for label in dash.variables:
        out.append(g.Template(
            name=label, label=label, query=variable_query(model, label), dataSource=datasource_ref(),
            includeAll=True, multi=True, allValue=".*", refresh=g.REFRESH_ON_TIME_RANGE_CHANGE,
        ))
    return out


# --- post-processing: grafanalib's output -> the current schema ---------------------------


def _finish(data: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in data.items() if v is not None and k not in _LEGACY_DASHBOARD_KEYS}
    data["schemaVersion"] = SCHEMA_VERSION
    data["panels"] = [_finish_panel(p) for p in data["panels"]]
    for variable in data["templating"]["list"]:
        if variable["type"] == "datasource":
            variable["current"] = {"selected": True, "text": variable["current"]["value"],
                                   "value": variable["current"]["value"]}
            variable.pop("datasource", None)
        else:
            variable["current"] = {"selected": True, "text": ["All"], "value": [ALL]}
        for key in ("auto", "auto_count", "auto_min", "useTags", "tagsQuery", "tagValuesQuery"):
            variable.pop(key, None)
    return data


def _finish_panel(panel: dict[str, Any]) -> dict[str, Any]:
    if panel["type"] == "row":
        keep = ("collapsed", "gridPos", "id", "panels", "title", "type")
        row = {k: panel[k] for k in keep}
        row["panels"] = [_finish_panel(p) for p in row["panels"]]
        return row
    panel = {k: v for k, v in panel.items() if v is not None and k not in _LEGACY_PANEL_KEYS}
    for key in ("repeatDirection", "maxPerRow", "repeat"):
        panel.pop(key, None)
    panel["targets"] = [
        {**{k: v for k, v in t.items() if k not in _LEGACY_TARGET_KEYS},
         "editorMode": "code", "range": not t["instant"]}
        for t in panel["targets"]
    ]
    defaults = panel["fieldConfig"]["defaults"]
    for key in [k for k, v in defaults.items() if v is None] + ["noValue"]:
        defaults.pop(key, None)  # unset, so Grafana's defaults ("No data", ...) apply
    if panel["type"] == "stat":
        defaults["color"] = {"mode": "thresholds"}
    options = panel.setdefault("options", {})
    if panel["type"] in ("bargauge", "gauge"):
        # Grafana 6 shapes: options.fieldOptions / fieldConfig.defaults.calcs -> current ones.
        legacy = options.pop("fieldOptions", None) or {}
        old = {**defaults, **legacy.get("defaults", {})}
        calcs = legacy.get("calcs") or old.get("calcs") or ["lastNotNull"]
        steps = defaults["thresholds"]["steps"]
        panel["fieldConfig"] = {
            "defaults": {k: old[k] for k in ("unit", "min", "max", "decimals") if old.get(k) is not None}
            | {"thresholds": {"mode": "absolute", "steps": steps}, "color": {"mode": "thresholds"}},
            "overrides": [],
        }
        panel.pop("showThresholdLabels", None)
        panel["fieldConfig"].pop("showThresholdLabels", None)
        options["reduceOptions"] = {"calcs": calcs, "fields": "", "values": False}
        options.pop("showThresholdLabels", None)
        if panel["type"] == "bargauge":
            options.pop("showThresholdMarkers", None)
    return panel
