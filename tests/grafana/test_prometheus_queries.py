"""Every dashboard query against a real Prometheus holding synthetic history and the generated rules.

Grafana's variables are replaced as Grafana would with "All" selected ($model -> .*) and a
one-minute $__rate_interval; each query must evaluate without error and return series.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ryotgen import dashboard_check, pipeline
from ryotgen.render import grafana
from ryotgen.render import prometheus as prometheus_render
from tests.conftest import DEFAULT_SPEC, GENERATED, require_binary
from tests.grafana import support

MODEL = pipeline.load_model(DEFAULT_SPEC, GENERATED)
DASHBOARD = grafana.build(MODEL, 0).data
VARIABLES = {v["name"]: v["type"] for v in DASHBOARD["templating"]["list"]}


def _queries() -> Iterator[tuple[str, str, str]]:
    for panel in DASHBOARD["panels"]:
        for target in panel.get("targets", []):
            yield f"{panel['title']} {target['refId']} ({target['legendFormat']})", panel["type"], \
                target["expr"]


QUERIES = list(_queries())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.Prometheus]:
    binary, promtool = require_binary("prometheus"), require_binary("promtool")
    rules = {path.rsplit("/", 1)[1]: text for path, text in prometheus_render.render(MODEL).items()
             if path.startswith("prometheus/rules/")}
    history = support.openmetrics(MODEL, time.time())
    with support.prometheus(binary, promtool, rules, history, tmp_path_factory.mktemp("prom")) as s:
        s.wait_for_rules(time.monotonic() + 30)
        yield s


def _evaluate(server: support.Prometheus, expr: str, deadline: float) -> dict[str, Any]:
    """The query's answer once it has series (recordings need an evaluation or two), or the last."""
    while True:
        answer = server.query(expr)
        if answer.get("status") != "success" or answer["data"]["result"] or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


@pytest.mark.parametrize(("name", "kind", "expr"), QUERIES, ids=[q[0] for q in QUERIES])
def test_panel_query_evaluates_and_returns_series(
        server: support.Prometheus, name: str, kind: str, expr: str) -> None:
    text, unknown = dashboard_check.substitute(expr, VARIABLES)
    assert unknown == []
    answer = _evaluate(server, text, time.monotonic() + 15)
    assert answer["status"] == "success", (text, answer)
    result = answer["data"]["result"]
    assert result, f"no series for {text}"
    if kind == "bargauge":  # topk bars: at most k of them
        assert len(result) <= 5


def test_recorded_series_panels_read_what_the_rules_record(server: support.Prometheus) -> None:
    recorded = {q[2] for q in QUERIES if re.fullmatch(r"[a-z_]+:[a-z0-9_:]+(\{.*\})?", q[2])}
    assert len(recorded) >= 15
    for expr in sorted(recorded):
        text, _ = dashboard_check.substitute(expr, VARIABLES)
        answer = _evaluate(server, text, time.monotonic() + 15)
        assert answer["data"]["result"], text


@pytest.mark.parametrize("label", ["model", "profile"])
def test_template_variables_list_the_label_values_present(
        server: support.Prometheus, label: str) -> None:
    [variable] = [v for v in DASHBOARD["templating"]["list"] if v["name"] == label]
    match = re.fullmatch(rf"label_values\((.+), {label}\)", variable["query"])
    assert match, variable["query"]
    values = server.get(f"/api/v1/label/{label}/values", **{"match[]": match.group(1)})["data"]
    expected = {"model": {"bitnet-1.58b", "llama-7b"},
                "profile": {t.labels["profile"] for t in MODEL.spec.service.targets}}[label]
    assert set(values) == expected


def test_profile_filter_narrows_the_bands_to_the_selected_profile(server: support.Prometheus) -> None:
    bands = [q[2] for q in QUERIES if q[0].startswith("P50/P95/P99 latency") and "baseline" in q[0]]
    assert len(bands) == 6
    shown = []
    for expr in bands:
        text = expr.replace("$profile", "llama-7b-gpu")
        shown += [r["metric"]["profile"] for r in server.query(text)["data"]["result"]]
    assert shown == ["llama-7b-gpu", "llama-7b-gpu"]
