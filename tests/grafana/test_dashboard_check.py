"""The dashboard validator: crafted bad dashboards, and spec dashboards that break it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ryotgen import dashboard_check, dashboards, pipeline
from ryotgen.cli import app
from ryotgen.promql_check import Series
from ryotgen.render import grafana
from tests.conftest import DEFAULT_SPEC, GENERATED, MINIMAL_SPEC

Dashboard = dict[str, Any]


@pytest.fixture(scope="module")
def good() -> tuple[Dashboard, dict[str, Series]]:
    model = pipeline.load_model(DEFAULT_SPEC, GENERATED)
    return grafana.build(model, 0).data, dashboard_check.rules_catalog(model)


def by_id(dashboard: Dashboard, panel_id: int) -> dict[str, Any]:
    [found] = [p for p in dashboard["panels"] if p["id"] == panel_id]
    return found


def overlap(d: Dashboard) -> None:
    by_id(d, 3)["gridPos"] = dict(by_id(d, 2)["gridPos"], x=6)


def width_30(d: Dashboard) -> None:
    by_id(d, 2)["gridPos"]["w"] = 30


def unknown_metric(d: Dashboard) -> None:
    by_id(d, 2)["targets"][0]["expr"] = "sum(rate(ryot_inference_request_total[$__rate_interval]))"


def missing_target_datasource(d: Dashboard) -> None:
    del by_id(d, 2)["targets"][0]["datasource"]


def missing_panel_datasource(d: Dashboard) -> None:
    by_id(d, 2)["datasource"] = None


def duplicate_id(d: Dashboard) -> None:
    by_id(d, 3)["id"] = 2


def bad_uid(d: Dashboard) -> None:
    d["uid"] = "a uid with spaces"


def unknown_variable(d: Dashboard) -> None:
    by_id(d, 2)["targets"][0]["expr"] = 'job:ryot_inference_requests:success_rate1m{job=~"$region"}'


def parse_error(d: Dashboard) -> None:
    by_id(d, 2)["targets"][0]["expr"] = "rate(ryot_inference_requests_total[5m]) by (model)"


def unknown_label(d: Dashboard) -> None:
    by_id(d, 2)["targets"][0]["expr"] = 'job:ryot_inference_requests:success_rate1m{model=~"$model"}'


def datasource_not_a_variable(d: Dashboard) -> None:
    by_id(d, 2)["datasource"] = {"type": "prometheus", "uid": "${model}"}


def expanded_row_with_children(d: Dashboard) -> None:
    d["panels"][0]["panels"] = [copy.deepcopy(by_id(d, 2))]


# (id, mutation, panel the finding names, query, words the message must contain)
BAD: list[tuple[str, Callable[[Dashboard], None], int | None, str | None, list[str]]] = [
    ("overlapping panels", overlap, 3, None, ["overlaps panel 2", "Requests/s (successful)"]),
    ("panel 30 columns wide", width_30, 2, None, ["w=30", "beyond the 24-column grid"]),
    ("unknown metric", unknown_metric, 2, "A",
     ["unknown series 'ryot_inference_request_total'", "did you mean 'ryot_inference_requests_total'"]),
    ("query without datasource", missing_target_datasource, 2, "A", ["query has no datasource"]),
    ("panel without datasource", missing_panel_datasource, 2, None, ["panel has no datasource"]),
    ("two panels with one id", duplicate_id, 2, None, ["id 2 is used by more than one panel"]),
    ("uid Grafana rejects", bad_uid, None, None, ["dashboard uid 'a uid with spaces'"]),
    ("undefined variable", unknown_variable, 2, "A", ["uses $region", "neither a dashboard variable"]),
    ("query that does not parse", parse_error, 2, "A", ["parse error"]),
    ("label the recording dropped", unknown_label, 2, "A", ["has no label 'model'"]),
    ("datasource uid from a label variable", datasource_not_a_variable, 2, None,
     ["$model, which is not a datasource variable"]),
    ("expanded row holding panels", expanded_row_with_children, 1, None, ["expanded row"]),
]


@pytest.mark.parametrize(("name", "mutate", "panel", "ref", "words"), BAD, ids=[b[0] for b in BAD])
def test_validator_rejects_a_crafted_bad_dashboard(
        good: tuple[Dashboard, dict[str, Series]], name: str, mutate: Callable[[Dashboard], None],
        panel: int | None, ref: str | None, words: list[str]) -> None:
    dashboard, catalog = good
    bad = copy.deepcopy(dashboard)
    mutate(bad)
    findings = dashboard_check.check_dashboard(bad, catalog)
    assert findings, name
    matching = [f for f in findings if all(w in str(f) for w in words)]
    assert matching, [str(f) for f in findings]
    assert (matching[0].panel, matching[0].ref) == (panel, ref)


def test_the_generated_dashboards_pass(good: tuple[Dashboard, dict[str, Series]]) -> None:
    assert dashboard_check.check_dashboard(*good) == []


def test_finding_names_panel_title_and_query() -> None:
    finding = dashboard_check.Finding("bad", panel=4, ref="B", title="Error rate")
    assert str(finding) == "panel 4 ('Error rate') query B: bad"


def test_variables_are_substituted_before_parsing() -> None:
    text, unknown = dashboard_check.substitute(
        'rate(x{a=~"$model", b=~"${profile}", c="[[model]]"}[$__rate_interval])',
        {"model": "query", "profile": "query"})
    assert text == 'rate(x{a=~".*", b=~".*", c=".*"}[1m])' and unknown == []


def test_a_collapsed_rows_panels_are_checked_too(good: tuple[Dashboard, dict[str, Series]]) -> None:
    dashboard, catalog = good
    bad = copy.deepcopy(dashboard)
    row = bad["panels"][0]
    children = bad["panels"][1:9]
    row["collapsed"], row["panels"] = True, children
    bad["panels"] = [row, *bad["panels"][9:]]
    children[1]["gridPos"]["w"] = 30
    children[2]["targets"][0]["datasource"] = {}
    messages = [str(f) for f in dashboard_check.check_dashboard(bad, catalog)]
    assert any("panel 3" in m and "beyond the 24-column grid" in m for m in messages), messages
    assert any("panel 4" in m and "query has no datasource" in m for m in messages), messages


# --- spec dashboards that break the validator fail validation with their line --------------

runner = CliRunner()


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


SPEC_BREAKS = [
    ("uid longer than Grafana allows", MINIMAL_SPEC, "uid: acme-llm", "uid: " + "a" * 45,
     "dashboard uid", "uid: aaaa"),
    ("baseline bands on a stat panel", DEFAULT_SPEC, "          - title: P50/P95/P99 latency\n",
     "          - title: P50/P95/P99 latency\n            type: stat\n",
     "baseline bands need a timeseries panel, not stat", "baseline: latency_seconds"),
]


@pytest.mark.parametrize(("name", "base", "old", "new", "message", "line_with"), SPEC_BREAKS,
                         ids=[s[0] for s in SPEC_BREAKS])
def test_a_spec_whose_dashboard_breaks_the_validator_fails_with_its_line(
        tmp_path: Path, name: str, base: Path, old: str, new: str, message: str,
        line_with: str) -> None:
    text = base.read_text()
    assert text.count(old) == 1
    text = text.replace(old, new)
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = runner.invoke(app, ["validate", "--spec", str(spec)])
    assert result.exit_code == 2, result.output
    line = _line_of(text, line_with)
    assert any(f"spec.yaml:{line}:" in out and message in out for out in result.output.splitlines()), \
        (line, result.output)
    assert "Traceback" not in result.output


def test_dashboard_json_survives_a_round_trip(good: tuple[Dashboard, dict[str, Series]]) -> None:
    dashboard, _ = good
    assert json.loads(json.dumps(dashboard)) == dashboard


def _within(part: Any, whole: Any) -> bool:
    """Every key of `part` is in `whole` with the same value (lists element by element)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and _within(v, whole[k]) for k, v in part.items())
    if isinstance(part, list):
        return isinstance(whole, list) and len(part) == len(whole) and all(map(_within, part, whole))
    return bool(part == whole)


@pytest.mark.parametrize("spec", [DEFAULT_SPEC, MINIMAL_SPEC], ids=["default spec", "minimal spec"])
def test_validation_sees_what_the_renderer_writes(spec: Path) -> None:
    # Validation checks the plan's skeleton (no grafanalib); it must be the written JSON's subset.
    model = pipeline.load_model(spec, GENERATED)
    for index in range(len(model.spec.dashboards)):
        skeleton = dashboards.skeleton(dashboards.plan(model, index))
        assert _within(skeleton, grafana.build(model, index).data)
