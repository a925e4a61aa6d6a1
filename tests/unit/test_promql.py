"""The PromQL parser accepts what Prometheus accepts, rejects what it rejects, and builds the
tree Prometheus builds (precedence, associativity, modifiers)."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ryotgen.promql import (
    FUNCTIONS,
    MATRIX,
    SCALAR,
    VECTOR,
    Aggregation,
    BinaryExpr,
    Call,
    Matcher,
    MatrixSelector,
    NumberLiteral,
    Paren,
    PromQLError,
    StringLiteral,
    Subquery,
    Unary,
    VectorMatching,
    VectorSelector,
    format_duration,
    format_number,
    parse,
    parse_duration,
    quote,
    type_of,
    walk,
)

LAT = "ryot_inference_latency_seconds_bucket"
P = pytest.param

# ---------------------------------------------------------------------------------------------
# Accepted: the seed guide's corrected forms (DESIGN.md) and real-world rule expressions
# ---------------------------------------------------------------------------------------------

CORRECTED_SEED_FORMS = [
    P(
        f"histogram_quantile(0.95, sum by (le) (rate({LAT}[5m])))",
        id="p95 latency aggregates buckets by le before the quantile",
    ),
    P(
        f"histogram_quantile(0.5, sum by (le, model) (rate({LAT}[5m])))",
        id="per-model p50 keeps le and model",
    ),
    P(
        "histogram_quantile(0.95, sum by (le) (rate(ryot_ttft_latency_seconds_bucket[5m])))",
        id="time to first token p95",
    ),
    P(
        "sum by (error_type) (rate(ryot_inference_errors_total[5m]))",
        id="errors by type put by on the aggregation, not on rate",
    ),
    P(
        "sum by (model) (rate(ryot_inference_errors_total[5m]))",
        id="errors by model",
    ),
    P(
        f"topk(5, histogram_quantile(0.95, sum by (le, model) (rate({LAT}[5m]))))",
        id="top 5 slowest models ranks per-model quantiles",
    ),
    P(
        "sum(rate(ryot_inference_errors_total[5m])) / (sum(rate(ryot_inference_requests_total[5m])) > 0)",
        id="error ratio sums both sides and guards zero traffic",
    ),
    P(
        '1 - (sum(rate(ryot_inference_requests_total{status="error"}[5m]))'
        " / sum(rate(ryot_inference_requests_total[5m])))",
        id="availability is one minus the summed error ratio",
    ),
    P("sum by (model) (rate(ryot_tokens_generated_total[1m]))", id="tokens per second by model"),
    P("avg by (model) (ryot_gpu_memory_percentage)", id="gpu memory average by model"),
    P("sum(ryot_active_inference_requests)", id="active requests"),
    P(
        f"(histogram_quantile(0.95, sum by (le) (rate({LAT}[5m]))) < bool 0.5) * 1",
        id="latency SLO status uses a bool comparison",
    ),
    P(
        "sum by (model) (rate(ryot_batch_size_distribution_sum[5m]))"
        " / sum by (model) (rate(ryot_batch_size_distribution_count[5m]))",
        id="average batch size divides summed sum by summed count",
    ),
    P(
        "sum(rate(ryot_tokens_generated_total[7d])) / 604800",
        id="weekly token average",
    ),
]

REAL_WORLD = [
    # sloth-style SLO rules
    P(
        'sum(rate(http_requests_total{job="ryot",code=~"5.."}[5m]))'
        ' / sum(rate(http_requests_total{job="ryot"}[5m]))',
        id="sloth error ratio over 5m",
    ),
    P(
        'sum_over_time(slo:sli_error:ratio_rate5m{sloth_id="ryot-availability"}[30d])'
        " / ignoring (sloth_window) count_over_time(slo:sli_error:ratio_rate5m"
        '{sloth_id="ryot-availability"}[30d])',
        id="sloth 30d ratio averages the 5m ratio with ignoring",
    ),
    P(
        '(slo:sli_error:ratio_rate5m{sloth_id="a"} > (14.4 * 0.001))'
        ' and ignoring (sloth_window) (slo:sli_error:ratio_rate1h{sloth_id="a"} > (14.4 * 0.001))',
        id="sloth page alert joins two windows with and ignoring",
    ),
    P(
        '1 - slo:sli_error:ratio_rate30d{sloth_service="ryot"} / 0.001',
        id="remaining error budget",
    ),
    P(
        "(job:err:ratio_rate1h > 14.4 * 0.001 and job:err:ratio_rate5m > 14.4 * 0.001)"
        " or (job:err:ratio_rate6h > 6 * 0.001 and job:err:ratio_rate30m > 6 * 0.001)",
        id="multiwindow burn rate or of two page tiers",
    ),
    P(
        "sum(increase(ryot_inference_requests_total[1h])) > 10",
        id="low traffic guard",
    ),
    # kube-prometheus style
    P(
        'sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{container!="", image!=""}[5m]))',
        id="container cpu by pod",
    ),
    P(
        "sum by (namespace, pod, container) (irate(container_cpu_usage_seconds_total[5m]))"
        " * on (namespace, pod) group_left(node) topk by (namespace, pod) (1,"
        ' max by (namespace, pod, node) (kube_pod_info{node!=""}))',
        id="kube-prometheus join with group_left and topk by",
    ),
    P(
        'kube_deployment_status_replicas_available{job="kube-state-metrics"}'
        ' != kube_deployment_spec_replicas{job="kube-state-metrics"}',
        id="deployment replicas mismatch",
    ),
    P(
        'predict_linear(node_filesystem_avail_bytes{fstype!=""}[6h], 4 * 60 * 60) < 0',
        id="disk fills in four hours",
    ),
    P(
        "(node_filesystem_avail_bytes / node_filesystem_size_bytes * 100 < 10)"
        " and node_filesystem_readonly == 0",
        id="disk almost full and writable",
    ),
    P(
        "increase(kube_pod_container_status_restarts_total[10m]) > 0",
        id="pod restarting",
    ),
    P(
        "sum without (instance, pod) (rate(apiserver_request_total[5m]))",
        id="sum without instance and pod",
    ),
    P(
        'count by (cluster) (up{job="node-exporter"} == 0) / count by (cluster) (up{job="node-exporter"})',
        id="fraction of node exporters down",
    ),
    # shapes named in the brief
    P(f"histogram_quantile(0.95, sum by (le, model) (rate({LAT}[5m])))", id="quantile by le and model"),
    P("topk(5, sum by (model) (rate(ryot_inference_errors_total[5m])))", id="topk of a sum"),
    P("sum(rate(a[5m])) / (sum(rate(b[5m])) > 0)", id="guarded ratio"),
    P("1 - x", id="one minus a vector"),
    P("(x > bool 0.5) * 1", id="bool comparison times one"),
    P("x offset 5m", id="offset"),
    P("rate(x[5m] offset 1h)", id="offset inside rate"),
    P("x offset -5m", id="negative offset"),
    P('absent(up{job="ryot"})', id="absent of a labelled selector"),
    P(
        'label_replace(up{job="ryot"}, "host", "$1", "instance", "(.*):.*")',
        id="label replace with a regex",
    ),
    P('label_join(up, "addr", ":", "instance", "job")', id="label join of two labels"),
    P("max_over_time(rate(x_total[5m])[1h:1m])", id="subquery with step"),
    P("min_over_time(sum(rate(x_total[5m]))[30m:])", id="subquery without step"),
    P("rate(x_total[5m]) * on (model) group_left ryot_model_info", id="on model group_left"),
    P("a / on (model) group_right (team) b", id="group_right with labels"),
    P("x @ 1700000000", id="at a timestamp"),
    P("rate(x[5m] @ end())", id="range at end"),
    P("sum by (le) (rate(x_bucket[5m])) > bool 0", id="bool comparison on a vector"),
    P("sort_desc(sum by (model) (ryot_queue_depth))", id="sort desc"),
    P("clamp(x, 0, 1) + clamp_min(y, 0) - clamp_max(z, 1)", id="clamps"),
    P("round(x, 0.5) + ceil(x) + floor(x) + abs(x) + sgn(x)", id="rounding functions"),
    P("time() - timestamp(x) > 600", id="staleness from timestamp"),
    P("vector(1) + scalar(x)", id="vector and scalar conversions"),
    P("hour() >= 9 and day_of_week() < 6", id="business hours with date functions"),
    P("quantile_over_time(0.99, x[1h]) - avg_over_time(x[1h])", id="over time functions"),
    P("stddev(x) + stdvar(x) + group(x) + count(x)", id="more aggregations"),
    P('count_values("version", build_info)', id="count values"),
    P("quantile(0.9, x) by (model)", id="quantile with trailing by"),
    P("bottomk(3, x)", id="bottomk"),
    P("changes(x[1h]) + resets(x_total[1h]) + deriv(x[10m]) + idelta(x[5m])", id="gauge funcs"),
    P("delta(x[1h]) + irate(y_total[1m]) + absent_over_time(x[10m])", id="range functions"),
    P("sqrt(x) + exp(x) + ln(x) + log2(x) + log10(x)", id="math functions"),
    P("x ^ 2 % 3 atan2 y", id="pow mod atan2"),
    P("x unless y or z", id="set operations"),
    P('sum by (on) (x{on="a", by="b"})', id="keywords as label names"),
    P("sum", id="an aggregation keyword alone is a metric name"),
    P("0x1F + 1e3 + .5 + 5. + Inf - NaN", id="number literal forms"),
    P("x{a=~'b.*', c!~`d\\w+`}", id="single quoted and raw strings"),
    P("# a comment\nsum(\n  x  # trailing\n)", id="comments and newlines"),
]


@pytest.mark.parametrize("text", CORRECTED_SEED_FORMS + REAL_WORLD)
def test_accepts(text: str) -> None:
    expr = parse(text)
    assert type_of(expr) in (VECTOR, SCALAR)


# ---------------------------------------------------------------------------------------------
# Rejected, with Prometheus' messages and the offset of the problem
# ---------------------------------------------------------------------------------------------

REJECTED = [
    P(
        "rate(ryot_inference_errors_total[5m]) by (error_type)",
        "unexpected <by>",
        38,
        id="seed: by on rate is a syntax error",
    ),
    P(
        "rate(ryot_inference_errors_total[7d]) by (error_type)",
        "unexpected <by>",
        38,
        id="seed: weekly errors by type",
    ),
    P(
        f"topk(5, histogram_quantile(0.95, rate({LAT}[5m])) by (model))",
        "unexpected <by> in aggregation",
        82,
        id="seed: by on histogram_quantile inside topk",
    ),
    P(
        "topk(5, rate(ryot_inference_errors_total[5m]) by (model))",
        "unexpected <by> in aggregation",
        46,
        id="seed: by on rate inside topk",
    ),
    P(
        "rate(x)",
        'expected type range vector in call to function "rate", got instant vector',
        5,
        id="rate of an instant vector",
    ),
    P(
        "sum(x[5m])",
        "expected type instant vector in aggregation expression, got range vector",
        4,
        id="sum of a range vector",
    ),
    P("1 > 2", "comparisons between scalars must use BOOL modifier", 2, id="scalar comparison without bool"),
    P("x + bool y", "bool modifier can only be used on comparison operators", 2, id="bool on arithmetic"),
    P(
        "x and 1",
        'set operator "and" not allowed in binary scalar expression',
        0,
        id="set operator with a scalar",
    ),
    P("x + on(a) 1", "vector matching only allowed between instant vectors", 0, id="on with a scalar side"),
    P(
        "x * on(a) group_left(a) y",
        'label "a" must not occur in ON and GROUP clause at once',
        2,
        id="same label in on and group_left",
    ),
    P(
        "x and on(a) group_left y",
        'no grouping allowed for "and" operation',
        0,
        id="group_left on a set operation",
    ),
    P("foo(x)", 'unknown function with name "foo"', 0, id="unknown function"),
    P(
        "round(x, 1, 2)",
        'expected at most 2 argument(s) in call to "round", got 3',
        0,
        id="too many arguments",
    ),
    P(
        "histogram_quantile(0.9)",
        'expected 2 argument(s) in call to "histogram_quantile", got 1',
        0,
        id="too few arguments",
    ),
    P(
        "topk(x)",
        "wrong number of arguments for aggregate expression provided, expected 2, got 1",
        0,
        id="topk without k",
    ),
    P(
        'topk("5", x)',
        "expected type scalar in aggregation parameter, got string",
        5,
        id="topk with a string k",
    ),
    P("sum(x,)", "trailing commas not allowed in function call args", 5, id="trailing comma"),
    P("{}", "vector selector must contain at least one non-empty matcher", 0, id="empty selector"),
    P('x{__name__="y"}', 'metric name must not be set twice: "x" or "y"', 0, id="metric name twice"),
    P("(x)[5m]", "ranges only allowed for vector selectors", 3, id="range on a parenthesis"),
    P(
        "sum(x) offset 5m",
        "offset modifier must be preceded by an instant vector selector",
        0,
        id="offset on an aggregation",
    ),
    P("x offset 5m offset 1m", "offset may not be set multiple times", 0, id="offset twice"),
    P("x offset 5m [5m]", "no offset modifiers allowed before range", 12, id="offset before the range"),
    P(
        "x[5m:][5m:]",
        "subquery is only allowed on instant vector, got matrix instead",
        0,
        id="subquery of a subquery",
    ),
    P("x[0s]", "duration must be greater than 0", 2, id="zero range"),
    P("x[5]", "missing unit character in duration", 2, id="range without unit"),
    P("x[1.5m]", 'not a valid duration string: "1.5m"', 2, id="fractional duration"),
    P("x[30s1m]", 'not a valid duration string: "30s1m"', 2, id="units out of order"),
    P("sum(x", "unclosed left parenthesis", 5, id="unclosed parenthesis"),
    P("x{a=b}", 'unexpected identifier "b" in label matching, expected string', 4, id="unquoted label value"),
    P('x{a=~"("}', "error parsing regexp", 2, id="invalid regex"),
    P('"a\\qb"', "unknown escape sequence U+0071 'q'", 0, id="unknown string escape"),
    P("x y", 'unexpected identifier "y"', 2, id="two selectors in a row"),
    P("1 +", "unexpected end of input", 3, id="dangling operator"),
    P("5m", 'unexpected duration "5m"', 0, id="bare duration"),
    P(
        "sum by (a:b) (x)",
        'unexpected metric identifier "a:b" in grouping opts, expected label',
        8,
        id="colon in a grouping label",
    ),
    P(
        "-x[5m]",
        "unary expression only allowed on expressions of type scalar or instant vector",
        0,
        id="negated range vector",
    ),
    P(
        'x + "a"',
        "binary expression must contain only scalar and instant vector types",
        4,
        id="string operand",
    ),
    P("", "no expression found in input", 0, id="empty input"),
]


@pytest.mark.parametrize(("text", "message", "offset"), REJECTED)
def test_rejects(text: str, message: str, offset: int) -> None:
    with pytest.raises(PromQLError) as info:
        parse(text)
    assert message in info.value.message
    assert info.value.offset == offset


def test_error_reads_like_prometheus() -> None:
    with pytest.raises(PromQLError) as info:
        parse("sum(x)\n  + rate(y) ")
    err = info.value
    assert (err.line, err.column, err.offset) == (2, 10, 16)
    assert str(err) == (
        '2:10: parse error: expected type range vector in call to function "rate", got instant vector'
    )


# ---------------------------------------------------------------------------------------------
# Tree shape: precedence, associativity, modifiers
# ---------------------------------------------------------------------------------------------


def vs(name: str | None, *matchers: Matcher, **kw: object) -> VectorSelector:
    return VectorSelector(name, tuple(matchers), **kw)  # type: ignore[arg-type]


def num(v: float) -> NumberLiteral:
    return NumberLiteral(v)


def bin_(op: str, lhs: object, rhs: object, **kw: object) -> BinaryExpr:
    return BinaryExpr(op, lhs, rhs, **kw)  # type: ignore[arg-type]


X, Y, Z = vs("x"), vs("y"), vs("z")
VV = VectorMatching()

SHAPES = [
    P("1 - x", bin_("-", num(1), X), id="scalar minus vector"),
    P("x - y - z", bin_("-", bin_("-", X, Y, matching=VV), Z, matching=VV), id="minus is left associative"),
    P(
        "x + y * z",
        bin_("+", X, bin_("*", Y, Z, matching=VV), matching=VV),
        id="times binds tighter than plus",
    ),
    P("2 ^ 3 ^ 2", bin_("^", num(2), bin_("^", num(3), num(2))), id="power is right associative"),
    P("-2 ^ 2", Unary("-", bin_("^", num(2), num(2))), id="power binds tighter than unary minus"),
    P("-x * y", bin_("*", Unary("-", X), Y, matching=VV), id="unary minus binds tighter than times"),
    P("2 ^ -1", bin_("^", num(2), num(-1)), id="unary minus in an exponent"),
    P("-1", num(-1), id="negative literal is folded"),
    P(
        "x or y and z",
        bin_(
            "or",
            X,
            bin_("and", Y, Z, matching=VectorMatching("many-to-many")),
            matching=VectorMatching("many-to-many"),
        ),
        id="and binds tighter than or",
    ),
    P(
        "x > y + 1",
        bin_(">", X, bin_("+", Y, num(1)), matching=VV),
        id="arithmetic binds tighter than comparison",
    ),
    P("x == bool 1", bin_("==", X, num(1), return_bool=True), id="bool modifier"),
    P(
        "x * on(a, b) group_left(c) y",
        bin_("*", X, Y, matching=VectorMatching("many-to-one", ("a", "b"), True, ("c",))),
        id="on with group_left",
    ),
    P(
        "x / ignoring(a) group_right y",
        bin_("/", X, Y, matching=VectorMatching("one-to-many", ("a",), False, ())),
        id="ignoring with group_right",
    ),
    P("sum by (le) (x)", Aggregation("sum", X, None, ("le",), False), id="by before the body"),
    P("sum(x) by (le)", Aggregation("sum", X, None, ("le",), False), id="by after the body"),
    P("sum without (a) (x)", Aggregation("sum", X, None, ("a",), True), id="without"),
    P("topk(5, x)", Aggregation("topk", X, num(5)), id="topk keeps its parameter"),
    P("x offset 5m", vs("x", offset=300.0), id="offset on a selector"),
    P(
        "x[5m] offset 1h",
        MatrixSelector(vs("x", offset=3600.0), 300.0),
        id="offset on a range lives on the selector",
    ),
    P("x @ start()", vs("x", at="start"), id="at start"),
    P("x[1h:5m]", Subquery(X, 3600.0, 300.0), id="subquery with step"),
    P(
        "rate(x[5m])[1h:]",
        Subquery(Call("rate", (MatrixSelector(X, 300.0),)), 3600.0),
        id="subquery of a function",
    ),
    P(
        '{__name__="up", job="a"}',
        vs("up", Matcher("__name__", "=", "up"), Matcher("job", "=", "a")),
        id="name from a __name__ matcher",
    ),
    P(
        'x{on="1", by!="2", sum=~"3", l4!~"4"}',
        vs(
            "x",
            Matcher("on", "=", "1"),
            Matcher("by", "!=", "2"),
            Matcher("sum", "=~", "3"),
            Matcher("l4", "!~", "4"),
        ),
        id="keywords as label names and all matcher ops",
    ),
    P("by", vs("by"), id="by alone is a metric name"),
    P("offset offset 5m", vs("offset", offset=300.0), id="metric named offset with an offset"),
    P(
        "SUM BY (Le) (x)",
        Aggregation("sum", X, None, ("Le",), False),
        id="keywords are case insensitive but labels are not",
    ),
    P(
        "sum by (on, bool) (x)",
        Aggregation("sum", X, None, ("on", "bool"), False),
        id="keywords as grouping labels",
    ),
    P("(x)", Paren(X), id="parenthesis"),
    P("0x1F", num(31), id="hex literal"),
    P("010", num(8), id="leading zero is octal as in Go"),
    P("1e3", num(1000), id="exponent literal"),
    P('"a\\n\\"b\\x41\\u00e9"', StringLiteral('a\n"bAé'), id="string escapes"),
    P("`a\\nb`", StringLiteral("a\\nb"), id="raw string keeps backslashes"),
    P("'it\\'s'", StringLiteral("it's"), id="single quoted string escapes its quote"),
]


@pytest.mark.parametrize(("text", "expected"), SHAPES)
def test_tree_shape(text: str, expected: object) -> None:
    assert parse(text) == expected


def test_special_numbers() -> None:
    assert parse("Inf") == num(math.inf)
    assert parse("-inf") == num(-math.inf)
    nan = parse("NaN")
    assert isinstance(nan, NumberLiteral) and math.isnan(nan.value)


def test_positions_are_character_offsets() -> None:
    text = 'sum by (le) (rate(x_bucket{a="b"}[5m]))'
    expr = parse(text)
    spans = {type(n).__name__: text[n.start : n.end] for n in walk(expr)}
    assert spans == {
        "Aggregation": text,
        "Call": 'rate(x_bucket{a="b"}[5m])',
        "MatrixSelector": 'x_bucket{a="b"}[5m]',
        "VectorSelector": 'x_bucket{a="b"}',
    }


def test_walk_yields_every_node_parents_first() -> None:
    expr = parse("topk(5, -sum(rate(a[5m])) / (b > bool 1))")
    kinds = [type(n).__name__ for n in walk(expr)]
    assert kinds == [
        "Aggregation", "NumberLiteral", "BinaryExpr", "Unary", "Aggregation", "Call",
        "MatrixSelector", "VectorSelector", "Paren", "BinaryExpr", "VectorSelector",
        "NumberLiteral",
    ]  # fmt: skip


def test_function_table_types() -> None:
    assert FUNCTIONS["rate"].arg_types == (MATRIX,)
    assert FUNCTIONS["histogram_quantile"].arg_types == (SCALAR, VECTOR)
    assert FUNCTIONS["scalar"].return_type == SCALAR
    assert (FUNCTIONS["label_join"].min_args, FUNCTIONS["label_join"].max_args) == (3, None)
    assert (FUNCTIONS["day_of_week"].min_args, FUNCTIONS["day_of_week"].max_args) == (0, 1)
    for name in ("irate", "increase", "delta", "idelta", "deriv", "changes", "resets"):
        assert FUNCTIONS[name].arg_types == (MATRIX,), name


# ---------------------------------------------------------------------------------------------
# Durations, numbers, strings
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "canonical"),
    [
        P("5m", 300, "5m", id="minutes"),
        P("90m", 5400, "1h30m", id="ninety minutes is an hour and a half"),
        P("1h30m", 5400, "1h30m", id="compound duration"),
        P("3d", 259200, "3d", id="days"),
        P("14d", 1209600, "2w", id="whole weeks"),
        P("30d", 2592000, "30d", id="thirty days are not whole weeks"),
        P("365d", 31536000, "1y", id="a year"),
        P("100ms", 0.1, "100ms", id="milliseconds"),
        P("1s500ms", 1.5, "1s500ms", id="seconds and milliseconds"),
        P("1y2w3d4h5m6s7ms", 33019506.007, "382d4h5m6s7ms", id="years only when exact"),
    ],
)
def test_durations(text: str, seconds: float, canonical: str) -> None:
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == canonical


@pytest.mark.parametrize("text", ["", "5", "1.5m", "30s1m", "1d1d", "5M", "-5m"])
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a valid duration string"):
        parse_duration(text)


def test_format_duration_rejects_negative_and_sub_millisecond() -> None:
    with pytest.raises(ValueError):
        format_duration(-1)
    with pytest.raises(ValueError):
        format_duration(0.0001)
    assert format_duration(0) == "0s"


@given(st.integers(min_value=0, max_value=10**13))
def test_duration_round_trip(ms: int) -> None:
    text = format_duration(ms / 1000)
    assert parse_duration(text) == ms / 1000
    assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        P(0.001, "0.001", id="small decimal float"),
        P(14.4, "14.4", id="burn rate factor"),
        P(1.0, "1", id="whole float has no point"),
        P(3, "3", id="int"),
        P(Decimal("1") - Decimal("0.999"), "0.001", id="decimal arithmetic stays exact"),
        P(Decimal("0.0010"), "0.001", id="decimal trailing zeros dropped"),
        P(Decimal("1E+2"), "100", id="decimal exponent made positional"),
        P(1 - 0.999, "0.0010000000000000009", id="float arithmetic is formatted as repr"),
        P(1e-9, "1e-9", id="tiny numbers use an exponent"),
        P(2.5e21, "2.5e+21", id="huge numbers use an exponent"),
        P(-0.5, "-0.5", id="negative"),
        P(math.inf, "+Inf", id="infinity"),
        P(math.nan, "NaN", id="not a number"),
    ],
)
def test_format_number(value: float | Decimal, text: str) -> None:
    assert format_number(value) == text


finite_floats = st.floats(allow_nan=False, allow_infinity=False)


@given(finite_floats)
def test_format_number_round_trips_floats(value: float) -> None:
    text = format_number(value)
    assert float(text) == value
    parsed = parse(text)
    assert isinstance(parsed, NumberLiteral) and parsed.value == value


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6))
def test_format_number_is_exact_for_decimals(value: Decimal) -> None:
    assert Decimal(format_number(value)) == value


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        P("plain", '"plain"', id="plain text"),
        P('say "hi"', '"say \\"hi\\""', id="double quotes"),
        P("a\\b", '"a\\\\b"', id="backslash"),
        P("line\nbreak\t", '"line\\nbreak\\t"', id="newline and tab"),
        P("\x00", '"\\x00"', id="control character"),
        P("é", '"é"', id="printable unicode kept"),
    ],
)
def test_quote(value: str, literal: str) -> None:
    assert quote(value) == literal


@given(st.text())
def test_quote_round_trips_through_the_parser(value: str) -> None:
    assert parse(quote(value)) == StringLiteral(value)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_label_values_round_trip_in_matchers(value: str) -> None:
    expr = parse(f"x{{a={quote(value)}}}")
    assert isinstance(expr, VectorSelector)
    assert expr.matchers == (Matcher("a", "=", value),)


# ---------------------------------------------------------------------------------------------
# promtool agrees on what parses
# ---------------------------------------------------------------------------------------------

PROMTOOL = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)

# Extra edge cases on top of the corpora above, to pin the grammar's corners.
EDGE_CASES = [
    "x[5m:1m:]", "x @ 1 @ 2", "x @ Inf", "x[1M]", "0x", "1e", "Infinity", "Inf:x",
    "sum by (inf) (x)", "x{a!b}", "x =~ y", "!x", "'a\\\"b'", '"\\400"', "x{a:b=\"c\"}",
    "on", "bool", "group_left", "atan2", "and", "start", "end @ start()", "x and and",
    "a > on(x) bool b", "x + + 1", "- - 1", "sum without (without) (x)",
    "histogram_quantile(0.9, x) by (a)", "abs(x)[5m:]", "1[5m:]", "sum(x) by",
]  # fmt: skip


def _texts(params: list[object]) -> list[str]:
    return [p.values[0] for p in params]  # type: ignore[attr-defined]


def test_promtool_agrees_on_what_parses(tmp_path: Path) -> None:
    if PROMTOOL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is required in CI")
        pytest.skip("promtool is not installed")
    corpus = [
        *_texts(CORRECTED_SEED_FORMS), *_texts(REAL_WORLD), *_texts(REJECTED), *EDGE_CASES,
    ]  # fmt: skip
    corpus = [text for text in corpus if text]  # promtool reports an empty expr differently
    files = []
    for i, text in enumerate(corpus):
        path = tmp_path / f"expr{i}.rules.yml"
        # A JSON string is a valid YAML scalar, so no YAML library is needed here.
        path.write_text("groups:\n- name: g\n  rules:\n  - record: r\n    expr: " + json.dumps(text) + "\n")
        files.append(path)
    result = subprocess.run(
        [PROMTOOL, "check", "rules", *map(str, files)], capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    disagreements = []
    for text, path in zip(corpus, files, strict=True):
        match = re.search(re.escape(str(path)) + r":.*could not parse expression: (.*)", output)
        promtool_error = match.group(1) if match else None
        try:
            parse(text)
            ours = None
        except PromQLError as err:
            ours = str(err)
        if (ours is None) != (promtool_error is None):
            disagreements.append(f"{text!r}: ours={ours!r} promtool={promtool_error!r}")
    assert not disagreements, "\n".join(disagreements)
