"""The semantic checker catches PromQL that parses but is wrong for our metrics."""

from __future__ import annotations

import pytest

from ryotgen.promql import parse
from ryotgen.promql_check import Series, SeriesKind, check

P = pytest.param


def series(name: str, kind: SeriesKind, *labels: str) -> Series:
    return Series(name, kind, frozenset(labels))


CATALOG = {
    s.name: s
    for s in [
        series("ryot_inference_requests_total", "counter", "model", "status"),
        series("ryot_inference_errors_total", "counter", "model", "error_type"),
        series("ryot_tokens_generated_total", "counter", "model"),
        series("ryot_inference_latency_seconds_bucket", "histogram_bucket", "model", "le"),
        series("ryot_inference_latency_seconds_sum", "histogram_sum", "model"),
        series("ryot_inference_latency_seconds_count", "histogram_count", "model"),
        series("ryot_gpu_memory_percentage", "gauge", "model", "gpu"),
        series("ryot_queue_depth", "gauge", "model"),
        series("ryot_model_info", "gauge", "model", "team"),
        series("model:ryot_inference_errors:ratio_rate5m", "recorded", "model"),
        series("model_le:ryot_inference_latency_seconds_bucket:rate5m", "recorded", "model", "le"),
        series("up", "gauge", "job", "instance"),
    ]
}
LAT = "ryot_inference_latency_seconds_bucket"

CLEAN = [
    P(f"histogram_quantile(0.95, sum by (le) (rate({LAT}[5m])))", id="p95 over summed buckets"),
    P(
        f"histogram_quantile(0.95, sum by (le, model) (rate({LAT}[5m])))",
        id="per-model p95 keeps le and model",
    ),
    P(
        f"topk(5, histogram_quantile(0.95, sum by (le, model) (rate({LAT}[5m]))))",
        id="top 5 models by p95",
    ),
    P(
        f"histogram_quantile(0.99, sum without (model) (rate({LAT}[5m])))",
        id="without that keeps le",
    ),
    P(
        "histogram_quantile(0.9, sum by (le) (model_le:ryot_inference_latency_seconds_bucket:rate5m))",
        id="quantile over a recorded bucket rate",
    ),
    P(
        "sum(rate(ryot_inference_errors_total[5m])) / (sum(rate(ryot_inference_requests_total[5m])) > 0)",
        id="guarded error ratio",
    ),
    P(
        'sum by (model) (rate(ryot_inference_requests_total{status="error"}[5m]))',
        id="matcher on a known label",
    ),
    P("sum by (error_type) (increase(ryot_inference_errors_total[1h]))", id="increase of counter"),
    P("deriv(ryot_queue_depth[10m])", id="deriv of a gauge"),
    P("predict_linear(ryot_gpu_memory_percentage[1h], 3600) > 95", id="predict_linear of gauge"),
    P("rate(model:ryot_inference_errors:ratio_rate5m[5m])", id="rate of a recorded series"),
    P("delta(model:ryot_inference_errors:ratio_rate5m[1h])", id="delta of a recorded series"),
    P(
        "rate(ryot_inference_latency_seconds_sum[5m]) / rate(ryot_inference_latency_seconds_count[5m])",
        id="average latency from sum and count",
    ),
    P(
        "sum by (model, team) (rate(ryot_tokens_generated_total[5m]) * on (model) group_left (team)"
        " ryot_model_info)",
        id="group_left brings in a label that by then uses",
    ),
    P('absent(up{job="ryot"})', id="absent of up"),
    P('{__name__="ryot_queue_depth", model="a"}', id="name given as a matcher"),
    P('sum by (__name__) ({__name__=~"ryot_queue_.*"})', id="regex name matcher"),
    P(
        'sum by (host) (label_replace(up, "host", "$1", "instance", "(.*):.*"))',
        id="by a label that label_replace adds",
    ),
    P("1 - ryot_gpu_memory_percentage / 100", id="arithmetic with scalars"),
    P('count_values("v", ryot_queue_depth)', id="count_values"),
]


@pytest.mark.parametrize("expr", CLEAN)
def test_clean_expressions_have_no_problems(expr: str) -> None:
    assert check(expr, CATALOG) == []


PROBLEMS = [
    P(
        "rate(ryot_inference_error_total[5m])",
        ["unknown series 'ryot_inference_error_total'", "did you mean 'ryot_inference_errors_total'"],
        id="typo in a metric name suggests the closest",
    ),
    P(
        "rate(ryot_gpu_memory_percentage[5m])",
        ["rate() needs a counter, but 'ryot_gpu_memory_percentage' is a gauge"],
        id="rate of a gauge",
    ),
    P(
        "increase(ryot_queue_depth[1h])",
        ["increase() needs a counter"],
        id="increase of a gauge",
    ),
    P("resets(ryot_queue_depth[1h])", ["resets() needs a counter"], id="resets of a gauge"),
    P(
        "delta(ryot_inference_requests_total[1h])",
        ["delta() is for gauges", "use rate() or increase()"],
        id="delta of a counter",
    ),
    P(
        f"deriv({LAT}[5m])",
        ["deriv() is for gauges", "histogram bucket (a counter)"],
        id="deriv of a histogram bucket",
    ),
    P(
        f"histogram_quantile(0.95, sum(rate({LAT}[5m])))",
        ["offset 25: sum(...) drops the le label"],
        id="sum without grouping drops le",
    ),
    P(
        f"histogram_quantile(0.95, sum by (model) (rate({LAT}[5m])))",
        ["sum by (model) drops the le label", "sum by (le, ...)"],
        id="by without le drops le",
    ),
    P(
        f"histogram_quantile(0.95, sum without (le) (rate({LAT}[5m])))",
        ["sum without (le) drops the le label"],
        id="without le drops le",
    ),
    P(
        f"histogram_quantile(0.95, max by (le) (avg by (model) (rate({LAT}[5m]))))",
        ["avg by (model) drops the le label"],
        id="an inner aggregation drops le",
    ),
    P(
        "histogram_quantile(0.95, rate(ryot_inference_latency_seconds_sum[5m]))",
        ["histogram_quantile() needs _bucket series"],
        id="quantile of a histogram sum",
    ),
    P(
        "histogram_quantile(0.9, sum by (le) (ryot_queue_depth))",
        ["histogram_quantile() needs _bucket series", "no input series has label 'le'"],
        id="quantile of a gauge",
    ),
    P(
        f"histogram_quantile(0.5, avg by (le) (histogram_quantile(0.95, rate({LAT}[5m]))))",
        ["over an already computed quantile"],
        id="quantile of a quantile",
    ),
    P(
        f"avg(histogram_quantile(0.95, rate({LAT}[5m])))",
        ["averages a quantile"],
        id="averaging quantiles as the seed does",
    ),
    P(
        f"avg_over_time(histogram_quantile(0.95, sum by (le) (rate({LAT}[5m])))[1h:])",
        ["averages a quantile"],
        id="averaging a quantile over time",
    ),
    P(
        'ryot_queue_depth{job="ryot"}',
        ["series 'ryot_queue_depth' has no label 'job' (labels: model)"],
        id="matcher on a label the series lacks",
    ),
    P(
        "sum by (error_type) (rate(ryot_inference_requests_total[5m]))",
        ["sum by (error_type): no input series has label 'error_type'"],
        id="by a label no input series has",
    ),
    P(
        "ryot_queue_depth * on (gpu) ryot_gpu_memory_percentage",
        ["on(gpu): the left side has no label 'gpu'"],
        id="on a label one side lacks",
    ),
    P(
        '{job="ryot"}',
        ["selector has no metric name"],
        id="selector without a metric name",
    ),
    P(
        '{__name__=~"nope_.*"}',
        ["no catalog series matches the __name__ matchers"],
        id="name regex matching nothing",
    ),
    P(
        "rate(ryot_inference_errors_total[5m]) by (error_type)",
        ["offset 38: parse error: unexpected <by>"],
        id="parse errors are one problem with the offset",
    ),
]


@pytest.mark.parametrize(("expr", "fragments"), PROBLEMS)
def test_problems_are_reported(expr: str, fragments: list[str]) -> None:
    problems = check(expr, CATALOG)
    assert problems, "expected at least one problem"
    text = "\n".join(problems)
    for fragment in fragments:
        assert fragment in text


def test_parse_error_is_a_single_problem() -> None:
    assert check("sum(", CATALOG) == ["offset 4: parse error: unclosed left parenthesis"]


def test_accepts_a_parsed_expression() -> None:
    expr = parse("rate(ryot_gpu_memory_percentage[5m])")
    assert len(check(expr, CATALOG)) == 1


def test_each_problem_is_reported_once() -> None:
    # Both quantiles see the inner sum; its problem is still listed once.
    expr = f"histogram_quantile(0.5, histogram_quantile(0.9, sum(rate({LAT}[5m]))))"
    drops = [p for p in check(expr, CATALOG) if "drops the le label" in p]
    assert drops == [
        "offset 48: sum(...) drops the le label that histogram_quantile() needs; "
        "aggregate with sum by (le, ...)"
    ]
