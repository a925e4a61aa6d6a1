"""Grafana: dashboard plans -> grafanalib objects -> dashboard JSON, plus provisioning files.

`ryotgen.dashboards` decides what each panel shows and where; this module only speaks
Grafana. grafanalib emits an old dashboard shape (schemaVersion 12, Grafana 6 gauge options,
legacy target keys); `_finish` brings the JSON data to the current schema. Every dashboard is
checked again as written (`ryotgen.dashboard_check`): a finding here is a renderer bug.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from ryotgen import conventions, dashboard_check
from ryotgen.dashboards import (
    SCHEMA_VERSION,
    DashboardPlan,
    PlannedPanel,
    datasource_ref,
    plan,
    ref_id,
    variable_query,
)
from ryotgen.loader import PathKey
from ryotgen.model import Model
from ryotgen.render.formats import to_json, to_yaml
from ryotgen.spec import Dashboard

ALL = "$__all"
# Keys grafanalib emits that current Grafana ignores or would migrate from.
_LEGACY_PANEL_KEYS = frozenset({"height", "span", "minSpan", "error", "thresholdType", "maxDataPoints"})
_LEGACY_TARGET_KEYS = frozenset({"target", "metric", "step", "intervalFactor", "query"})
_LEGACY_DASHBOARD_KEYS = frozenset({"rows", "style", "hideControls", "sharedCrosshair", "__inputs"})


def render(model: Model) -> dict[str, str]:
    """Every spec dashboard as JSON, plus Grafana's datasource and dashboard provisioning."""
    out: dict[str, str] = {}
    catalog = dashboard_check.rules_catalog(model) if model.spec.dashboards else {}
    for index, dash in enumerate(model.spec.dashboards):
        data = build(model, index).data
        findings = dashboard_check.check_dashboard(data, catalog)
        if findings:
            raise RuntimeError(f"dashboard {dash.uid}: " + "; ".join(map(str, findings)))
        out[conventions.dashboard_path(dash.uid)] = to_json(data)
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


# --- panels --------------------------------------------------------------------------------


def _target(expr: str, legend: str, ref: str, *, instant: bool, table: bool) -> g.Target:
    return g.Target(expr=expr, legendFormat=legend, refId=ref, instant=instant,
                    datasource=datasource_ref(), format="table" if table else "time_series")


def make_panel(planned: PlannedPanel) -> g.Panel:
    spec = planned.panel
    # Bars and tables show the latest value per series; a table needs one frame of them.
    instant = spec.kind in ("bargauge", "table")
    targets = [_target(expr, legend, ref_id(i), instant=instant, table=spec.kind == "table")
               for i, (expr, legend, _) in enumerate(spec.targets)]
    common: dict[str, Any] = {
        "title": spec.title, "description": spec.description or None, "dataSource": datasource_ref(),
        "targets": targets, "id": planned.id, "gridPos": planned.grid, "thresholds": spec.steps,
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


# --- the dashboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltDashboard:
    """A dashboard as JSON data, and the spec path behind each panel and query."""

    data: dict[str, Any]
    origins: dict[tuple[int, str | None], PathKey]


def build(model: Model, index: int) -> BuiltDashboard:
    """Spec dashboard number `index` as current-schema Grafana JSON data."""
    planned = plan(model, index)
    return BuiltDashboard(to_data(model, planned), planned.origins)


def to_data(model: Model, planned: DashboardPlan) -> dict[str, Any]:
    dash = planned.spec
    panels: list[g.Panel] = []
    for row in planned.rows:
        children = [make_panel(p) for p in row.panels]
        panels.append(g.RowPanel(title=row.title, collapsed=row.collapsed, id=row.id, gridPos=row.grid,
                                 panels=children if row.collapsed else []))
        if not row.collapsed:
            panels += children
    dashboard = g.Dashboard(
        title=dash.title, uid=dash.uid, description=model.header, tags=list(dash.tags),
        panels=panels, refresh=dash.refresh, time=g.Time(f"now-{dash.time_from}", "now"),
        timezone="browser", graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        templating=g.Templating(list=_variables(model, dash)), editable=True,
    )
    data = json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))
    return _finish(data, datasource_name(model))


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


def _finish(data: dict[str, Any], datasource: str) -> dict[str, Any]:
    data = {k: v for k, v in data.items() if v is not None and k not in _LEGACY_DASHBOARD_KEYS}
    data["schemaVersion"] = SCHEMA_VERSION
    data["panels"] = [_finish_panel(p) for p in data["panels"]]
    for variable in data["templating"]["list"]:
        if variable["type"] == "datasource":
            variable["current"] = {"selected": True, "text": datasource,
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
