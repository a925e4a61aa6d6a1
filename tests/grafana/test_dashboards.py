"""The generated Grafana dashboards and provisioning, read as Grafana and a reviewer would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ryotgen import conventions, dashboard_check, pipeline, promql, rules
from ryotgen.model import Model
from ryotgen.render import grafana
from tests.conftest import DEFAULT_SPEC, GENERATED, MINIMAL_SPEC

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@pytest.fixture(scope="module")
def model() -> Model:
    return pipeline.load_model(DEFAULT_SPEC, GENERATED)


def render(spec: Path, out: Path) -> dict[str, str]:
    """The Grafana renderer's files for `spec`, after full validation."""
    return grafana.render(pipeline.load_model(spec, out))


@pytest.fixture(scope="module")
def artifacts() -> dict[str, str]:
    return render(DEFAULT_SPEC, GENERATED)


@pytest.fixture(scope="module")
def dashboard(artifacts: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(artifacts["grafana/dashboards/ryot-overview.json"]))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows' children included, in order."""
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def panel(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    [found] = [p for p in panels(dashboard) if p["title"] == title]
    return found


def row_panels(dashboard: dict[str, Any], title: str) -> list[dict[str, Any]]:
    """The panels under the row titled `title`, up to the next row."""
    top = dashboard["panels"]
    start = next(i for i, p in enumerate(top) if p["type"] == "row" and p["title"] == title)
    out = []
    for p in top[start + 1:]:
        if p["type"] == "row":
            break
        out.append(p)
    return out


def measured_targets(p: dict[str, Any]) -> list[dict[str, Any]]:
    """A panel's queries without its baseline band lines."""
    return [t for t in p["targets"] if " baseline " not in t["legendFormat"]]


def recordings(model: Model) -> dict[str, str]:
    return {r.record: r.expr for g in rules.build(model) for r in g.rules if hasattr(r, "record")}


def spec_variant(tmp_path: Path, base: Path, edit: Any) -> Path:
    data = yaml.safe_load(base.read_text())
    edit(data)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# The seed guide's 8 panels: (title, unit, [(panel query, what the recording computes)]).
# Recording expressions are the guide's queries in corrected form (DESIGN.md).
SEED_PANELS = [
    ("Requests/s (successful)", "reqps", [
        ("job:ryot_inference_requests:success_rate1m",
         'sum by (job) (rate(ryot_inference_requests_total{status="success"}[1m]))')]),
    ("Error rate", "percentunit", [
        ("job:ryot_inference_requests:error_ratio_rate5m",
         'sum by (job) (rate(ryot_inference_requests_total{status="error"}[5m])) '
         "/ (sum by (job) (rate(ryot_inference_requests_total[5m])) > 0)")]),
    ("P50/P95/P99 latency", "s", [
        (f"job:ryot_inference_latency_seconds:p{p}_rate5m",
         f"histogram_quantile({q}, sum by (le, job) (rate(ryot_inference_latency_seconds_bucket[5m])))")
        for p, q in (("50", "0.5"), ("95", "0.95"), ("99", "0.99"))
    ] + [
        ('profile:ryot_inference_latency_seconds:p95_rate5m{profile=~"$profile"}',
         "histogram_quantile(0.95, sum by (le, profile) (rate(ryot_inference_latency_seconds_bucket[5m])))")]),
    ("Token generation rate by model", "short", [
        ('model:ryot_tokens_generated:rate1m{model=~"$model"}',
         "sum by (model) (rate(ryot_tokens_generated_total[1m]))"),
        ('profile:ryot_tokens_generated:rate5m{profile=~"$profile"}',
         "sum by (profile) (rate(ryot_tokens_generated_total[5m]))")]),
    ("GPU memory by model", "percent", [
        ('model:ryot_gpu_memory_percentage:avg{model=~"$model"}',
         "avg by (model) (ryot_gpu_memory_percentage)")]),
    ("Active requests", "short", [
        ("job:ryot_active_inference_requests:sum", "sum by (job) (ryot_active_inference_requests)")]),
    ("Queue depth by model", "short", [
        ('model:ryot_queue_depth:sum{model=~"$model"}', "sum by (model) (ryot_queue_depth)")]),
    ("TTFT P95", "s", [
        ("job:ryot_ttft_latency_seconds:p95_rate5m",
         "histogram_quantile(0.95, sum by (le, job) (rate(ryot_ttft_latency_seconds_bucket[5m])))"),
        ('profile:ryot_ttft_latency_seconds:p95_rate5m{profile=~"$profile"}',
         "histogram_quantile(0.95, sum by (le, profile) (rate(ryot_ttft_latency_seconds_bucket[5m])))")]),
]


@pytest.mark.parametrize(("title", "unit", "expected"), SEED_PANELS, ids=[p[0] for p in SEED_PANELS])
def test_seed_panel_queries_the_recorded_corrected_form(
        dashboard: dict[str, Any], model: Model, title: str, unit: str,
        expected: list[tuple[str, str]]) -> None:
    p = panel(dashboard, title)
    queries = [t["expr"] for t in measured_targets(p)]
    assert [promql.parse(q) for q in queries] == [promql.parse(q) for q, _ in expected]
    recorded = recordings(model)
    for query, computes in expected:
        name = promql.parse(query)
        assert isinstance(name, promql.VectorSelector) and name.name is not None
        assert promql.parse(recorded[name.name]) == promql.parse(computes), name.name
    assert p["fieldConfig"]["defaults"]["unit"] == unit


def test_overview_row_holds_the_eight_seed_panels_two_per_line(dashboard: dict[str, Any]) -> None:
    top = dashboard["panels"]
    assert top[0]["type"] == "row" and top[0]["title"] == "Overview"
    overview = top[1:9]
    assert [p["title"] for p in overview] == [title for title, _, _ in SEED_PANELS]
    assert [(p["gridPos"]["x"], p["gridPos"]["y"]) for p in overview] == [
        (x, 1 + 8 * line) for line in range(4) for x in (0, 12)]


def test_every_panel_and_query_reads_the_provisioned_datasource(
        dashboard: dict[str, Any], artifacts: dict[str, str]) -> None:
    provisioned = yaml.safe_load(artifacts[conventions.grafana_datasource_path("ryot")])["datasources"]
    [variable] = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert variable["name"] == "datasource" and variable["query"] == "prometheus"
    assert variable["current"]["value"] == provisioned[0]["uid"] == "ryot-prometheus"
    for p in panels(dashboard):
        if p["type"] == "row":
            continue
        assert p["datasource"] == DATASOURCE, p["title"]
        assert p["targets"], p["title"]
        for target in p["targets"]:
            assert target["datasource"] == DATASOURCE, (p["title"], target["refId"])


def test_every_query_filters_on_each_variable_its_series_carry(
        dashboard: dict[str, Any], model: Model) -> None:
    catalog = dashboard_check.rules_catalog(model)
    names = [v["name"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    assert names == ["model", "profile"]
    filtered = 0
    slo_row = {p["title"] for p in row_panels(dashboard, "Service level objectives")}
    assert len(slo_row) == 3
    for p in panels(dashboard):
        if p["type"] == "row" or p["title"] in slo_row:
            continue  # SLO series are service-wide
        for target in p["targets"]:
            for node in promql.walk(promql.parse(target["expr"])):
                if not isinstance(node, promql.VectorSelector) or node.name is None:
                    continue
                for label in set(names) & catalog[node.name].labels:
                    assert promql.Matcher(label, "=~", f"${label}") in node.matchers, target["expr"]
                    filtered += 1
    assert filtered >= 10


def test_variables_list_values_of_a_series_with_the_label_and_offer_all(
        dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["model"]["query"] == \
        'label_values(ryot_inference_requests_total{job="ryot-inference"}, model)'
    assert variables["profile"]["query"] == 'label_values(up{job="ryot-inference"}, profile)'
    for name in ("model", "profile"):
        assert variables[name]["includeAll"] and variables[name]["multi"]
        assert variables[name]["allValue"] == ".*"
        assert variables[name]["datasource"] == DATASOURCE


def test_slo_row_shows_status_budget_and_burn_rate_from_the_slo_recordings(
        dashboard: dict[str, Any], model: Model) -> None:
    top = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert top == ["Overview", "Service level objectives", "Debugging"]
    # One query per recorded series whatever the number of SLOs; each SLO is a series.
    status = panel(dashboard, "SLO status")
    assert [t["expr"] for t in status["targets"]] == ["slo:status:bool"]
    assert [t["legendFormat"] for t in status["targets"]] == ["{{slo}}"]
    mapping = status["fieldConfig"]["defaults"]["mappings"][0]["options"]
    assert (mapping["1"]["text"], mapping["0"]["text"]) == ("meeting", "violated")
    # Only SLOs with an SLI have a budget (latency and availability); the recording exists for them alone.
    budget = panel(dashboard, "Error budget remaining")
    assert [t["expr"] for t in budget["targets"]] == ["slo:error_budget_remaining:ratio_rate30d"]
    assert budget["fieldConfig"]["defaults"]["unit"] == "percentunit"
    burn = panel(dashboard, "Error budget burn rate (1h)")
    assert [t["expr"] for t in burn["targets"]] == ["slo:burn_rate:ratio_rate1h"]
    steps = burn["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, 1, 3, 6, 14.4]
    recorded = recordings(model)
    for target in status["targets"] + budget["targets"] + burn["targets"]:
        selector = promql.parse(target["expr"])
        assert isinstance(selector, promql.VectorSelector) and selector.name in recorded


DEBUGGING = [
    ("Slowest models (P95)", "bargauge", 'topk(5, model:ryot_inference_latency_seconds:p95_rate5m{model=~"$model"})'),
    ("Models with the most errors", "bargauge", 'topk(5, model:ryot_inference_errors:rate5m{model=~"$model"})'),
    ("GPU memory hot spots", "bargauge", "topk(5, instance_gpu:ryot_gpu_memory_percentage:max)"),
    ("Batch size effectiveness", "timeseries", 'model:ryot_batch_size_distribution:mean_rate5m{model=~"$model"}'),
    ("Errors by type", "timeseries", "error_type:ryot_inference_errors:rate5m"),
]


@pytest.mark.parametrize(("title", "kind", "query"), DEBUGGING, ids=[d[0] for d in DEBUGGING])
def test_debugging_row_uses_the_corrected_debugging_queries(
        dashboard: dict[str, Any], title: str, kind: str, query: str) -> None:
    p = panel(dashboard, title)
    assert p["type"] == kind
    assert [promql.parse(t["expr"]) for t in p["targets"]] == [promql.parse(query)]
    # Bars show the latest value of each series, one bar per series.
    assert all(t["instant"] is (kind == "bargauge") for t in p["targets"])
    assert all(t["format"] == "time_series" for t in p["targets"])


BASELINES = [
    ("P50/P95/P99 latency", "latency_seconds"),
    ("Token generation rate by model", "token_rate"),
    ("TTFT P95", "ttft_seconds"),
]


@pytest.mark.parametrize(("title", "quantity"), BASELINES, ids=[b[1] for b in BASELINES])
def test_baseline_panels_draw_each_profiles_range_as_a_filled_band(
        dashboard: dict[str, Any], model: Model, title: str, quantity: str) -> None:
    p = panel(dashboard, title)
    bands = {t["legendFormat"]: promql.parse(t["expr"]) for t in p["targets"]
             if " baseline " in t["legendFormat"]}
    assert model.spec.baselines is not None
    for profile in model.spec.baselines.profiles:
        expected = getattr(profile, quantity)
        for end in ("min", "max"):
            tree = bands[f"{profile.name} baseline {end}"]
            constants = [n.value for n in promql.walk(tree) if isinstance(n, promql.NumberLiteral)]
            strings = [n.value for n in promql.walk(tree) if isinstance(n, promql.StringLiteral)]
            assert constants == [getattr(expected, end)] and profile.name in strings
        overrides = {o["matcher"]["options"]: {q["id"]: q["value"] for q in o["properties"]}
                     for o in p["fieldConfig"]["overrides"]}
        assert overrides[f"{profile.name} baseline max"]["custom.fillBelowTo"] == \
            f"{profile.name} baseline min"
    assert "baseline" in p["description"]


def test_spec_thresholds_become_grafana_steps(dashboard: dict[str, Any]) -> None:
    steps = panel(dashboard, "Error rate")["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps == [{"color": "green", "value": None}, {"color": "yellow", "value": 0.001},
                     {"color": "red", "value": 0.05}]
    assert panel(dashboard, "Error rate")["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] == \
        {"mode": "dashed"}


def test_dashboard_is_current_schema_with_stable_uid_ids_and_the_header(
        dashboard: dict[str, Any], model: Model) -> None:
    assert dashboard["schemaVersion"] == 39
    assert dashboard["uid"] == "ryot-overview"
    assert dashboard["description"] == model.header
    ids = [p["id"] for p in panels(dashboard)]
    assert ids == list(range(1, len(ids) + 1))
    assert "rows" not in dashboard  # grafanalib's legacy layout key
    assert dashboard_check.check_dashboard(dashboard, dashboard_check.rules_catalog(model)) == []


def test_provisioning_points_grafana_at_prometheus_and_the_dashboards(artifacts: dict[str, str]) -> None:
    datasources = artifacts["grafana/provisioning/datasources/ryot.yml"]
    providers = artifacts["grafana/provisioning/dashboards/ryot.yml"]
    for text in (datasources, providers):
        assert text.startswith("# generated by ryotgen from ")
    [source] = yaml.safe_load(datasources)["datasources"]
    assert (source["type"], source["url"], source["uid"]) == \
        ("prometheus", "http://127.0.0.1:9090", "ryot-prometheus")
    assert source["jsonData"]["timeInterval"] == "15s"  # $__rate_interval follows the scrape interval
    [provider] = yaml.safe_load(providers)["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/ryot"


def test_two_renders_are_byte_identical() -> None:
    first, second = (render(DEFAULT_SPEC, GENERATED) for _ in range(2))
    assert sorted(first) == [conventions.dashboard_path("ryot-overview"),
                             conventions.grafana_provider_path("ryot"),
                             conventions.grafana_datasource_path("ryot")]
    assert first == second


UNRECORDED = [
    ("rate", {"kind": "rate", "counter": {"metric": "acme_requests_total"}},
     'sum by (job) (rate(acme_requests_total{model=~"$model"}[$__rate_interval]))'),
    ("ratio", {"kind": "ratio", "numerator": {"metric": "acme_requests_total",
                                              "matchers": {"outcome": "failed"}},
               "denominator": {"metric": "acme_requests_total"}},
     'sum by (job) (rate(acme_requests_total{model=~"$model", outcome="failed"}[$__rate_interval])) '
     '/ (sum by (job) (rate(acme_requests_total{model=~"$model"}[$__rate_interval])) > 0)'),
    ("quantile", {"kind": "quantile", "histogram": {"metric": "acme_request_duration_seconds"},
                  "quantile": 0.5, "by": ["model"]},
     "histogram_quantile(0.5, sum by (le, model) "
     '(rate(acme_request_duration_seconds_bucket{model=~"$model"}[$__rate_interval])))'),
    ("gauge", {"kind": "gauge", "gauge": {"metric": "acme_waiting_requests"}, "aggregation": "max"},
     'max by (job) (acme_waiting_requests{model=~"$model"})'),
    ("long window kept", {"kind": "rate", "counter": {"metric": "acme_requests_total"}, "window": "1d"},
     'sum by (job) (rate(acme_requests_total{model=~"$model"}[1d]))'),
]


@pytest.mark.parametrize(("kind", "indicator", "query"), UNRECORDED, ids=[u[0] for u in UNRECORDED])
def test_unrecorded_indicators_are_rebuilt_with_the_rate_interval_and_filters(
        tmp_path: Path, kind: str, indicator: dict[str, Any], query: str) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["indicators"].append({"name": "adhoc", "title": "Ad hoc", "record": False, **indicator})
        dash = data["dashboards"][0]
        dash["variables"] = ["model"]
        dash["rows"][0]["panels"].append({"title": "Ad hoc", "targets": [{"indicator": "adhoc"}]})

    spec = spec_variant(tmp_path, MINIMAL_SPEC, edit)
    built = json.loads(render(spec, tmp_path / "out")["grafana/dashboards/acme-llm.json"])
    [target] = panel(built, "Ad hoc")["targets"]
    assert promql.parse(dashboard_check.substitute(target["expr"], {"model": "query"})[0]) == \
        promql.parse(dashboard_check.substitute(query, {"model": "query"})[0])


def test_units_default_from_the_indicator(tmp_path: Path) -> None:
    built = json.loads(render(MINIMAL_SPEC, tmp_path)["grafana/dashboards/acme-llm.json"])
    assert panel(built, "Requests per second")["fieldConfig"]["defaults"]["unit"] == "reqps"
    assert panel(built, "P90 duration")["fieldConfig"]["defaults"]["unit"] == "s"


HOSTILE = '"}]\\ </script> {{ $labels.x }} ${datasource} \u2028'


def test_hostile_titles_and_descriptions_stay_inert_json(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["dashboards"][0]["title"] = HOSTILE
        data["dashboards"][0]["rows"][0]["title"] = HOSTILE
        first = data["dashboards"][0]["rows"][0]["panels"][0]
        first.update(title=HOSTILE, description=HOSTILE)
        first["targets"][0]["legend"] = HOSTILE

    spec = spec_variant(tmp_path, MINIMAL_SPEC, edit)
    text = render(spec, tmp_path / "out")["grafana/dashboards/acme-llm.json"]
    built = json.loads(text)
    first = built["panels"][1]
    assert built["title"] == built["panels"][0]["title"] == first["title"] == HOSTILE
    assert first["description"] == HOSTILE and first["targets"][0]["legendFormat"] == HOSTILE


def test_a_collapsed_row_holds_its_panels_and_takes_one_line(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        rows = data["dashboards"][0]["rows"]
        rows[0]["collapsed"] = True
        rows.append({"title": "After", "panels": [{"title": "Later", "targets": [{"indicator": "request_rate"}]}]})

    built = json.loads(render(spec_variant(tmp_path, MINIMAL_SPEC, edit), tmp_path / "out")[
        "grafana/dashboards/acme-llm.json"])
    collapsed, slo_row = built["panels"][0], built["panels"][1]
    assert collapsed["collapsed"] and [p["title"] for p in collapsed["panels"]] == \
        ["Requests per second", "P90 duration"]
    assert [p["gridPos"]["y"] for p in collapsed["panels"]] == [1, 1]
    assert (slo_row["title"], slo_row["gridPos"]["y"]) == ("Service level objectives", 1)
