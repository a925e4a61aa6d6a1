"""rules.py and rule_tests.py: what the generated rules say, checked without promtool."""

from __future__ import annotations

import posixpath
import re
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client.utils import floatToGoString

from ryotgen import conventions, pipeline, promql, rule_tests, rules
from ryotgen.errors import SpecError
from ryotgen.model import Model
from tests.conftest import DEFAULT_SPEC, MINIMAL_SPEC

SPECS = pytest.mark.parametrize("spec", [DEFAULT_SPEC, MINIMAL_SPEC], ids=["default spec", "minimal spec"])


def _model(spec: Path) -> Model:
    return pipeline.load_model(spec)


def _edited(tmp_path: Path, old: str, new: str, base: Path = MINIMAL_SPEC) -> tuple[Path, int]:
    text = base.read_text()
    assert old in text, old
    start = text.index(old)
    path = tmp_path / "spec.yaml"
    path.write_text(text[:start] + new + text[start + len(old):])
    return path, text.count("\n", 0, start) + 1


@SPECS
def test_every_generated_expression_passes_the_catalog_check(spec: Path) -> None:
    model = _model(spec)
    assert rules.check(model, rules.build(model)) == []


def test_the_catalog_check_catches_a_broken_rule() -> None:
    model = _model(MINIMAL_SPEC)
    groups = rules.build(model)
    broken = rules.RuleGroup("x", "acme-x", "30s", (rules.Recording("job:x:rate5m",
                                                                     "sum(rate(acme_waiting_requests[5m]))"),))
    problems = rules.check(model, (*groups, broken))
    assert len(problems) == 1 and "acme_waiting_requests" in problems[0]


@SPECS
def test_recording_names_follow_level_metric_operation(spec: Path) -> None:
    names = [r.record for g in rules.build(_model(spec)) for r in g.recordings]
    assert names and all(re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", n) for n in names), names


@SPECS
def test_every_alert_has_severity_team_and_a_runbook_that_resolves(spec: Path) -> None:
    model = _model(spec)
    for group in rules.build(model):
        rules_dir = posixpath.dirname(conventions.rules_path(model.spec.service.name, group.key))
        for alert in group.alerts:
            assert alert.labels[conventions.SEVERITY_LABEL] in ("critical", "warning", "info")
            assert alert.labels[conventions.TEAM_LABEL] in model.teams
            target = posixpath.normpath(posixpath.join(rules_dir, alert.runbook_url))
            assert target == conventions.runbook_path(alert.alert)


def test_a_runbook_base_url_makes_links_absolute(tmp_path: Path) -> None:
    spec, _ = _edited(tmp_path, "  job: acme-llm\n",
                      "  job: acme-llm\n  runbook_base_url: https://runbooks.example.com/acme/\n")
    alerts = rules.alert_rules(rules.build(_model(spec)))
    assert {a.runbook_url for a in alerts if a.alert == "AcmeSlowCompletions"} == {
        "https://runbooks.example.com/acme/docs/runbooks/AcmeSlowCompletions.md"}


@pytest.mark.parametrize(("objective", "budget"), [
    (99.9, "0.001"), (95, "0.05"), (99.95, "0.0005"), (99.5, "0.005"), (99.99, "0.0001"), (90, "0.1"),
], ids=lambda v: str(v))
def test_error_budgets_are_exact_decimals(objective: float, budget: str) -> None:
    slo = _model(DEFAULT_SPEC).spec.slos[1].model_copy(update={"objective": objective})
    assert rules.error_budget(slo) == Decimal(budget)


def test_burn_rate_rules_write_budgets_and_tier_factors_exactly() -> None:
    groups = {g.key: g for g in rules.build(_model(DEFAULT_SPEC))}
    group = groups["slo-availability"]
    exprs = "\n".join(r.expr for r in group.rules)
    assert 'slo:sli_error:ratio_rate1h{slo="availability"} / 0.001' in exprs
    assert "99999" not in exprs and "00000" not in exprs
    tiers = {a.labels[conventions.TIER_LABEL]: a for a in group.alerts}
    assert list(tiers) == ["page-1h", "page-6h", "ticket-1d", "ticket-3d"]
    assert tiers["page-1h"].expr == (
        'slo:burn_rate:ratio_rate1h{slo="availability"} > 14.4 and '
        'slo:burn_rate:ratio_rate5m{slo="availability"} > 14.4 and '
        'slo:sli_events:rate1h{slo="availability"} >= 0.01')
    assert {a.labels[conventions.SEVERITY_LABEL] for a in tiers.values()} == {"critical", "warning"}
    assert all(a.labels[conventions.SLO_LABEL] == "availability" for a in tiers.values())


def test_every_slo_has_a_bool_status_recording() -> None:
    model = _model(DEFAULT_SPEC)
    status = {r.labels[conventions.SLO_LABEL]: r.expr for g in rules.build(model) for r in g.recordings
              if r.record == conventions.SLO_STATUS_RECORD}
    assert set(status) == {s.name for s in model.spec.slos}
    assert status["throughput"] == "job:ryot_tokens_generated:rate1m > bool 100"
    assert status["gpu_headroom"].endswith(" > bool 15")


@SPECS
def test_the_latency_sli_counts_the_threshold_bucket_as_prometheus_client_labels_it(spec: Path) -> None:
    model = _model(spec)
    for slo in model.spec.slos:
        if slo.sli is not None and slo.sli.kind == "latency":
            le = floatToGoString(slo.sli.threshold)
            group = next(g for g in rules.build(model) if g.key == conventions.slo_group(slo.name))
            assert f'le="{le}"' in group.recordings[0].expr


@pytest.mark.parametrize("bound", [0.005, 0.5, 1, 2.5, 4, 10, 300, 1e6, 123456.0, 1234567.0, 1e-7])
def test_le_values_match_prometheus_client(bound: float) -> None:
    assert conventions.le_value(bound) == floatToGoString(bound)


def test_the_guard_joins_on_the_guard_labels() -> None:
    alert = next(a for a in rules.alert_rules(rules.build(_model(DEFAULT_SPEC))) if a.source == "low_throughput")
    assert alert.expr == ("job:ryot_tokens_generated:rate1m < 50 and on(job) "
                          "job:ryot_inference_requests:rate5m > 0")


def test_seed_alerts_keep_the_guide_thresholds() -> None:
    alerts = {a.source: a for a in rules.alert_rules(rules.build(_model(DEFAULT_SPEC))) if a.kind == "threshold"}
    assert {k: (a.op, promql.format_number(a.threshold or 0)) for k, a in alerts.items()} == {
        "high_error_rate": (">", "0.05"), "high_latency": (">", "2.5"), "gpu_memory_pressure": (">", "85"),
        "low_throughput": ("<", "50"), "queue_backlog": (">", "100"), "ttft_degradation": (">", "0.5")}
    assert alerts["high_error_rate"].annotations["description"].endswith(
        "Current value: {{ $value | humanizePercentage }}.")
    assert "humanizeDuration" in alerts["high_latency"].annotations["description"]


def test_one_deviation_rule_per_profile_and_bound() -> None:
    alerts = [a for a in rules.alert_rules(rules.build(_model(DEFAULT_SPEC))) if a.kind == "baseline"]
    exprs = {a.expr for a in alerts}
    assert len(alerts) == 9
    assert 'profile:ryot_tokens_generated:rate5m{profile="llama-7b-gpu"} < 150' in exprs
    assert 'profile:ryot_ttft_latency_seconds:p95_rate5m{profile="multi-gpu"} > 0.03' in exprs


@pytest.mark.parametrize(("text", "escaped"), [
    ("plain", "plain"),
    ("{{ $value }}", '{{ "{{" }} $value }}'),
    ("a {{{ b", 'a {{ "{{" }}{ b'),
    ("}} only", "}} only"),
], ids=["plain text", "an action", "three braces", "closing braces"])
def test_template_escaping(text: str, escaped: str) -> None:
    assert rules.escape_template(text) == escaped


# Values promtool 2.42 printed for these template functions.
@pytest.mark.parametrize(("func", "value", "shown"), [
    ("humanize", 0.016666666666666666, "16.67m"),
    ("humanize", 12345678, "12.35M"),
    ("humanize", 0.00012, "120u"),
    ("humanizePercentage", 0.1234, "12.34%"),
    ("humanizeDuration", 0.0123, "12.3ms"),
    ("humanizeDuration", 3725.5, "1h 2m 5s"),
    ("humanizeDuration", 42.0, "42s"),
], ids=lambda v: str(v))
def test_humanize_ports_match_prometheus(func: str, value: float, shown: str) -> None:
    assert rule_tests.HUMANIZE[func](value) == shown


def test_the_rate_port_matches_prometheus_bit_for_bit() -> None:
    # promtool 2.42: rate(x[7m]) at 10m over 0+1x20 (1m apart) is 0.01666666666666667, not 7/420.
    series = rule_tests.Series("x", {}, slope=1)
    assert rule_tests.extrapolated_rate(series, 600, 420) == 0.01666666666666667


BAD_EXPRS = [
    pytest.param("sum(rate(acme_waiting_requests[10m]))", "gauge", id="rate() on a gauge"),
    pytest.param("sum(rate(acme_missing_total[10m]))", "acme_missing_total", id="an unknown metric"),
    pytest.param("histogram_quantile(0.9, sum by (model) (rate(acme_request_duration_seconds_bucket[5m])))",
                 "le", id="a quantile that drops le"),
]


@pytest.mark.parametrize(("expr", "words"), BAD_EXPRS)
def test_a_bad_raw_expr_is_a_spec_error_on_its_line(expr: str, words: str, tmp_path: Path) -> None:
    old = "expr: sum(rate(acme_output_tokens_total[10m])) / sum(rate(acme_requests_total[10m]))"
    spec, line = _edited(tmp_path, old, f"expr: {expr}")
    with pytest.raises(SpecError) as raised:
        pipeline.load_model(spec)
    problems = [str(p) for p in raised.value.problems]
    assert len(problems) == 1, problems
    assert f"{spec.name}:{line}:" in problems[0] and words in problems[0], problems[0]


def test_alerts_must_read_recorded_indicators(tmp_path: Path) -> None:
    spec, _ = _edited(tmp_path, "    aggregation: max\n", "    aggregation: max\n    record: false\n")
    with pytest.raises(SpecError) as raised:
        pipeline.load_model(spec)
    problems = [str(p) for p in raised.value.problems]
    assert problems and all("not recorded" in p for p in problems), problems
