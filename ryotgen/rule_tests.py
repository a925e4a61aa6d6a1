"""Rule groups -> promtool unit tests (`promtool test rules`), as data.

For every alerting rule: series past its threshold (it fires once `for` has passed, with its
exact labels and annotations, and is only pending just before), series just inside it (silent)
and, for guarded alerts, a crossing that the guard silences. For every recording rule: known
input and the exact value Prometheus computes. For every event SLO: a burn per attainable tier
(that tier fires, slower or longer tiers do not yet), a burn below every tier and a high burn
on too little traffic (silent).

Expected values are computed with the same floating-point steps as Prometheus 2.42
(`extrapolatedRate`, `bucketQuantile`, the humanize template functions), because promtool
compares them exactly. Alert tests feed the recorded series an alert reads; recording tests
feed raw metrics. Times are whole minutes and every test evaluates every minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ryotgen import conventions, promql, queries
from ryotgen.model import IndicatorInfo, Model
from ryotgen.rules import (
    AlertRule,
    Condition,
    Recording,
    RuleGroup,
    error_budget,
    exact,
    slo_windows,
)
from ryotgen.spec import (
    SLO,
    GaugeIndicator,
    MeanIndicator,
    QuantileIndicator,
    RateIndicator,
    RatioIndicator,
    Selector,
    TopkIndicator,
)

# Input series, the window their rates span, and t -> (expected value, output labels).
Synthesis = tuple[list["Series"], int, Callable[[int], tuple[float, dict[str, str]]]]

STEP = 60  # seconds between input samples and between evaluations
EVALUATION_INTERVAL = "1m"

# --- Prometheus arithmetic, step for step ---------------------------------------------------


@dataclass(frozen=True)
class Series:
    """An input series: `start + k * slope` at t = k * STEP, or a constant."""

    name: str
    labels: Mapping[str, str]
    start: float = 0.0
    slope: float = 0.0

    def value(self, k: int) -> float:
        return self.start + k * self.slope

    def spec(self, samples: int) -> dict[str, str]:
        body = _select(self.name, self.labels)
        return {"series": body,
                "values": f"{_num(self.start)}+{_num(self.slope)}x{samples}"}


def _num(value: float) -> str:
    return promql.format_number(value)


def extrapolated_rate(series: Series, t: int, window: int) -> float | None:
    """rate(series[window]) at t seconds, as Prometheus 2.42 computes it (closed range)."""
    ks = [k for k in range(0, t // STEP + 1) if t - window <= k * STEP <= t]
    if len(ks) < 2:
        return None
    first, last = series.value(ks[0]), series.value(ks[-1])
    result = last - first
    duration_to_start = float(ks[0] * STEP - (t - window))
    duration_to_end = float(t - ks[-1] * STEP)
    sampled = float((ks[-1] - ks[0]) * STEP)
    average = sampled / (len(ks) - 1)
    if result > 0 and first >= 0:
        duration_to_zero = sampled * (first / result)
        duration_to_start = min(duration_to_start, duration_to_zero)
    threshold = average * 1.1
    extrapolate_to = sampled
    extrapolate_to += duration_to_start if duration_to_start < threshold else average / 2
    extrapolate_to += duration_to_end if duration_to_end < threshold else average / 2
    factor = extrapolate_to / sampled
    factor /= window
    return result * factor


def _rate(series: Series, t: int, window: int) -> float:
    value = extrapolated_rate(series, t, window)
    assert value is not None, "tests evaluate after two samples"
    return value


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """histogram_quantile over (upper bound, count) pairs ending with +Inf (promql/quantile.go)."""
    rank = q * buckets[-1][1]
    b = next(i for i in range(len(buckets) - 1) if buckets[i][1] >= rank) \
        if any(c >= rank for _, c in buckets[:-1]) else len(buckets) - 1
    if b == len(buckets) - 1:
        return buckets[-2][0]
    if b == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start, end, count = 0.0, buckets[b][0], buckets[b][1]
    if b > 0:
        start = buckets[b - 1][0]
        count -= buckets[b - 1][1]
        rank -= buckets[b - 1][1]
    return start + (end - start) * (rank / count)


def _g4(value: float) -> str:
    """Go's %.4g (same as C's for finite values)."""
    return "%.4g" % value  # noqa: UP031 - printf semantics are the point


def humanize(value: float) -> str:
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _g4(value)
    if abs(value) >= 1:
        prefix = ""
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"]:
            if abs(value) < 1000:
                break
            prefix, value = p, value / 1000
        return _g4(value) + prefix
    prefix = ""
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"]:
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return _g4(value) + prefix


def humanize_duration(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return _g4(value)
    if value == 0:
        return _g4(value) + "s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        value = abs(value)
        total = int(value)
        seconds, minutes = total % 60, (total // 60) % 60
        hours, days = (total // 3600) % 24, total // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(value)}s"
    prefix = ""
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"]:
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return f"{_g4(value)}{prefix}s"


def humanize_percentage(value: float) -> str:
    return _g4(value * 100) + "%"


HUMANIZE: Mapping[str, Callable[[float], str]] = {
    "humanize": humanize,
    "humanizeDuration": humanize_duration,
    "humanizePercentage": humanize_percentage,
}


# --- building tests ---------------------------------------------------------------------------


def build(model: Model, groups: Iterable[RuleGroup]) -> dict[str, list[dict[str, Any]]]:
    """Group key -> promtool test groups (the `tests:` list of its test file)."""
    builder = _Tests(model)
    return {group.key: builder.tests(group) for group in groups}


def _minutes(duration: str) -> int:
    return math.ceil(promql.parse_duration(duration) / STEP)


def _dur(minutes: int) -> str:
    return promql.format_duration(minutes * STEP)


class _Tests:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.service = model.spec.service
        target = self.service.targets[0]
        self.example: dict[str, str] = {"job": self.service.job, "instance": target.address,
                                        **target.labels}
        for name, label_set in model.spec.labels.items():
            values = [*label_set.values, *([label_set.fallback] if label_set.fallback else [])]
            self.example.setdefault(name, values[0] if values else "other")

    def tests(self, group: RuleGroup) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for rule in group.rules:
            if isinstance(rule, Recording) and rule.indicator is not None:
                test = self.recording_test(rule)
                if test is not None:
                    out.append(test)
            elif isinstance(rule, AlertRule) and rule.condition is not None:
                out.extend(self.condition_tests(rule))
            elif isinstance(rule, AlertRule) and rule.kind == "metrics_absent":
                out.extend(self.absent_tests(rule))
        slo = next((s for s in self.model.spec.slos
                    if conventions.slo_group(s.name) == group.key), None)
        if slo is not None:
            out.extend(self.slo_tests(slo, group))
        return out

    def labels_for(self, labels: Iterable[str], **fixed: str) -> dict[str, str]:
        return {label: fixed.get(label, self.example.get(label, "x")) for label in sorted(labels)}

    # --- recordings of indicators ---------------------------------------------------------

    def raw_labels(self, sel: Selector, **override: str) -> dict[str, str]:
        info = self.model.metrics[sel.metric]
        labels = {label: self.example[label] for label in ("job", "instance")}
        labels.update(self.service.targets[0].labels)
        for label in info.spec.labels:
            labels[label] = self.example[label]
        for label, value in sel.matchers.items():
            labels[label] = value[0] if isinstance(value, list) else value
        labels.update(override)
        return labels

    def recording_test(self, rule: Recording) -> dict[str, Any] | None:
        info = self.model.indicators[rule.indicator or ""]
        synth = self.synthesize(info)
        if synth is None:
            return None
        series, window, compute = synth
        if 0 < window < STEP:
            return None  # a rate needs two samples in its window; STEP-spaced input has one
        t = max(window, 10 * STEP) + 5 * STEP
        value, labels = compute(t)
        return {
            "name": f"{rule.record} records {info.name}",
            "interval": EVALUATION_INTERVAL,
            "input_series": [s.spec(t // STEP + 1) for s in series],
            "promql_expr_test": [{
                "expr": rule.record,
                "eval_time": _dur(t // STEP),
                "exp_samples": [{"labels": _select(rule.record, labels), "value": value}],
            }],
        }

    def synthesize(self, info: IndicatorInfo) -> Synthesis | None:
        """Input series for an indicator and a function t -> (value, output labels)."""
        ind = info.spec
        keep = sorted(info.labels)
        if isinstance(ind, TopkIndicator):
            return self.synthesize(self.model.indicators[ind.of])
        if isinstance(ind, GaugeIndicator):
            gauge = Series(ind.gauge.metric, self.raw_labels(ind.gauge), start=42.5)
            return [gauge], 0, lambda t: (42.5, {k: gauge.labels[k] for k in keep})
        if isinstance(ind, RateIndicator):
            counter = Series(ind.counter.metric, self.raw_labels(ind.counter), slope=2 * STEP)
            window = int(promql.parse_duration(ind.window))
            return [counter], window, lambda t: (
                _rate(counter, t, window), {k: counter.labels[k] for k in keep})
        if isinstance(ind, RatioIndicator):
            return self.ratio(ind, keep)
        if isinstance(ind, QuantileIndicator):
            return self.quantile(ind, keep)
        if isinstance(ind, MeanIndicator):
            labels = self.raw_labels(ind.histogram)
            total = Series(ind.histogram.metric + "_sum", labels, slope=3 * STEP)
            count = Series(ind.histogram.metric + "_count", labels, slope=STEP)
            window = int(promql.parse_duration(ind.window))

            def mean(t: int) -> tuple[float, dict[str, str]]:
                return _rate(total, t, window) / _rate(count, t, window), {k: labels[k] for k in keep}
            return [total, count], window, mean
        return None  # raw `expr` indicators: no general way to predict their value

    def ratio(self, ind: RatioIndicator, keep: list[str]) -> Synthesis:
        num = Series(ind.numerator.metric, self.raw_labels(ind.numerator), slope=STEP)
        series = [num]
        if ind.denominator.metric == ind.numerator.metric:
            # A second series the denominator counts but the numerator does not.
            other = self.other_values(ind.numerator, ind.denominator)
            if other is not None:
                series.append(Series(ind.denominator.metric,
                                     self.raw_labels(ind.denominator, **other), slope=3 * STEP))
        else:
            series.append(Series(ind.denominator.metric, self.raw_labels(ind.denominator),
                                 slope=4 * STEP))
        window = int(promql.parse_duration(ind.window))

        def value(t: int) -> tuple[float, dict[str, str]]:
            def total(sel: Selector) -> float:
                rates = [extrapolated_rate(s, t, window) for s in series
                         if s.name == sel.metric and _matches(sel, s.labels)]
                return sum(r for r in rates if r is not None)
            return total(ind.numerator) / total(ind.denominator), {k: num.labels[k] for k in keep}
        return series, window, value

    def other_values(self, num: Selector, den: Selector) -> dict[str, str] | None:
        labels = dict(self.model.metrics[num.metric].label_sets)
        for label, value in num.matchers.items():
            if label in den.matchers or label not in labels:
                continue
            chosen = value if isinstance(value, list) else [value]
            fallback = labels[label].fallback
            for candidate in [*labels[label].values, *([fallback] if fallback else [])]:
                if candidate not in chosen:
                    return {label: candidate}
        return None

    def quantile(self, ind: QuantileIndicator, keep: list[str]) -> Synthesis:
        bounds = self.model.metrics[ind.histogram.metric].spec.buckets or []
        hit = len(bounds) // 2  # every observation falls into this bucket
        labels = self.raw_labels(ind.histogram)
        series = [Series(ind.histogram.metric + "_bucket",
                         {**labels, "le": conventions.le_value(bound)},
                         slope=STEP if i >= hit else 0.0)
                  for i, bound in enumerate([*bounds, math.inf])]
        window = int(promql.parse_duration(ind.window))

        def value(t: int) -> tuple[float, dict[str, str]]:
            rates = [extrapolated_rate(s, t, window) for s in series]
            pairs = [(bound, r or 0.0) for bound, r in zip([*bounds, math.inf], rates, strict=True)]
            return bucket_quantile(ind.quantile, pairs), {k: labels[k] for k in keep}
        return series, window, value

    # --- threshold, baseline and scrape alerts --------------------------------------------

    def expect(self, rule: AlertRule, labels: Mapping[str, str], value: float) -> dict[str, Any]:
        shown = HUMANIZE[rule.value_format](value) + rule.value_suffix
        return {
            "exp_labels": {**labels, **rule.labels},
            "exp_annotations": {
                "summary": rule.summary,
                "description": f"{rule.description} Current value: {shown}.",
                "runbook_url": rule.runbook_url,
            },
        }

    def condition_tests(self, rule: AlertRule) -> list[dict[str, Any]]:
        cond = rule.condition
        assert cond is not None
        fixed = _equality_matchers(cond.query)
        labels = self.labels_for(cond.labels, **fixed)
        name = _series_name(cond.query)
        fire, inside = _crossing(cond)
        wait = _minutes(rule.for_)
        t = wait + 1
        samples = t + 2

        def case(title: str, value: Decimal, guard_ok: bool = True) -> dict[str, Any]:
            inputs = [Series(name, labels, start=float(value)).spec(samples)]
            if rule.guard is not None:
                g = rule.guard
                ok, bad = _crossing(g)
                gl = self.labels_for(g.labels, **{**_equality_matchers(g.query), **labels})
                inputs.append(Series(_series_name(g.query), gl,
                                     start=float(ok if guard_ok else bad)).spec(samples))
            return {"name": f"{rule.alert}: {title}", "interval": EVALUATION_INTERVAL,
                    "input_series": inputs, "alert_rule_test": []}

        thr = promql.format_number(cond.threshold)
        firing = case(f"{_num(float(fire))} {cond.op} {thr} fires after {rule.for_}", fire)
        checks = firing["alert_rule_test"]
        if wait >= 1:
            checks.append({"eval_time": _dur(wait - 1), "alertname": rule.alert, "exp_alerts": []})
        checks.append({"eval_time": _dur(t), "alertname": rule.alert,
                       "exp_alerts": [self.expect(rule, labels, float(fire))]})
        silent = case(f"{_num(float(inside))} stays silent", inside)
        silent["alert_rule_test"].append({"eval_time": _dur(t), "alertname": rule.alert,
                                          "exp_alerts": []})
        out = [firing, silent]
        if rule.guard is not None:
            guarded = case("the guard holds it back", fire, guard_ok=False)
            guarded["alert_rule_test"].append({"eval_time": _dur(t), "alertname": rule.alert,
                                               "exp_alerts": []})
            out.append(guarded)
        return out

    def absent_tests(self, rule: AlertRule) -> list[dict[str, Any]]:
        selector = rule.expr.removeprefix("absent(").removesuffix(")")
        fixed = _equality_matchers(selector)
        t = _minutes(rule.for_) + 1
        up = Series("up", self.labels_for(self.model.target_labels), start=1)
        present = Series(_series_name(selector), self.labels_for(
            self.model.catalog[_series_name(selector)].labels - {"le"}), start=1)
        return [
            {"name": f"{rule.alert}: fires when no target exports it",
             "interval": EVALUATION_INTERVAL, "input_series": [up.spec(t + 2)],
             "alert_rule_test": [{"eval_time": _dur(t), "alertname": rule.alert,
                                  "exp_alerts": [self.expect(rule, fixed, 1.0)]}]},
            {"name": f"{rule.alert}: silent while exported",
             "interval": EVALUATION_INTERVAL, "input_series": [up.spec(t + 2), present.spec(t + 2)],
             "alert_rule_test": [{"eval_time": _dur(t), "alertname": rule.alert, "exp_alerts": []}]},
        ]

    # --- SLOs ------------------------------------------------------------------------------

    def sli_series(self, slo: SLO, bad_share: Decimal, per_minute: float | None = None) -> list[Series]:
        """Counters from 0, `bad_share` of the events bad. By default the counters grow by whole
        numbers (promtool expands `a+bxN` by repeated addition; integers keep it exact)."""
        sli = slo.sli
        assert sli is not None
        if per_minute is None:
            places = max(-bad_share.normalize().as_tuple().exponent, 3)  # type: ignore[operator]
            per_minute = float(10**places)
        bad = per_minute * float(bad_share)
        if sli.kind == "events":
            errors = Series(sli.errors.metric, self.raw_labels(sli.errors), slope=bad)
            other = self.other_values(sli.errors, sli.total) \
                if sli.errors.metric == sli.total.metric else None
            if other is None and sli.errors.metric == sli.total.metric:
                raise ValueError(f"SLO {slo.name}: cannot tell good from bad events apart")
            if other is not None:
                good = Series(sli.total.metric, self.raw_labels(sli.total, **other),
                              slope=per_minute - bad)
            else:
                good = Series(sli.total.metric, self.raw_labels(sli.total), slope=per_minute)
            return [errors, good]
        labels = self.raw_labels(sli.histogram)
        le = conventions.le_value(sli.threshold)
        return [Series(sli.histogram.metric + "_bucket", {**labels, "le": le},
                       slope=per_minute - bad),
                Series(sli.histogram.metric + "_count", labels, slope=per_minute)]

    def sli_values(self, slo: SLO, series: list[Series], window: str, t: int) -> tuple[float, float]:
        """(error ratio, events/s) over `window` at t, as the recording rules compute them."""
        sli = slo.sli
        assert sli is not None
        w = int(promql.parse_duration(window))

        def total(name: str, sel: Selector | None = None, le: str | None = None) -> float:
            rates = [extrapolated_rate(s, t, w) for s in series if s.name == name
                     and (sel is None or _matches(sel, s.labels))
                     and (le is None or s.labels.get("le") == le)]
            return sum(r for r in rates if r is not None)
        if sli.kind == "events":
            events = total(sli.total.metric, sli.total)
            return total(sli.errors.metric, sli.errors) / events, events
        count = total(sli.histogram.metric + "_count")
        good = total(sli.histogram.metric + "_bucket", le=conventions.le_value(sli.threshold))
        return (count - good) / count, count

    def slo_tests(self, slo: SLO, group: RuleGroup) -> list[dict[str, Any]]:
        out = [self.status_test(slo, True), self.status_test(slo, False)]
        if slo.sli is None:
            return out
        shortest = promql.parse_duration(slo_windows(self.model, slo)[0])
        if shortest < STEP:
            return out  # windows shorter than the input step hold one sample: no rate to predict
        budget = error_budget(slo)
        out.append(self.slo_values_test(slo, group, budget))
        tiers = sorted(self.model.spec.slo_policy.tiers, key=lambda tr: tr.burn_rate)
        max_burn = Decimal(1) / budget
        attainable = [tr for tr in tiers if exact(tr.burn_rate) < max_burn]
        alerts = [r for r in group.alerts if r.burn is not None]
        for i, tier in enumerate(attainable):
            upper = exact(attainable[i + 1].burn_rate) if i + 1 < len(attainable) else max_burn
            burn = (exact(tier.burn_rate) + upper) / 2
            out.append(self.burn_test(slo, alerts, burn * budget, _minutes(tier.for_) + 3,
                                      f"a {burn}x burn trips {tier.name}"))
        longest = max(_minutes(tr.for_) for tr in tiers) + 3
        if tiers:
            slow = exact(tiers[0].burn_rate) / 2
            out.append(self.burn_test(slo, alerts, slow * budget, longest,
                                      f"a {slow}x burn stays below every tier"))
        policy = self.model.spec.slo_policy
        if attainable and policy.min_event_rate > 0:
            top = attainable[-1]
            burn = (exact(top.burn_rate) + max_burn) / 2
            trickle = float(exact(policy.min_event_rate)) * STEP / 2
            out.append(self.burn_test(slo, alerts, burn * budget, _minutes(top.for_) + 3,
                                      f"a {burn}x burn on too little traffic stays silent",
                                      per_minute=trickle))
        return out

    def status_test(self, slo: SLO, meeting: bool) -> dict[str, Any]:
        info = self.model.indicators[slo.status.indicator]
        cond = Condition(info.record or "", slo.status.op, exact(slo.status.threshold), info.labels)
        fire, inside = _crossing(cond)
        value = fire if meeting else inside
        labels = self.labels_for(info.labels)
        out = {**labels, conventions.SLO_LABEL: slo.name}
        return {
            "name": f"{slo.name} status is {int(meeting)} at {_num(float(value))}",
            "interval": EVALUATION_INTERVAL,
            "input_series": [Series(info.record or "", labels, start=float(value)).spec(4)],
            "promql_expr_test": [{
                "expr": _select(conventions.SLO_STATUS_RECORD, {conventions.SLO_LABEL: slo.name}),
                "eval_time": "2m",
                "exp_samples": [{"labels": _select(conventions.SLO_STATUS_RECORD, out),
                                 "value": float(meeting)}],
            }],
        }

    def slo_values_test(self, slo: SLO, group: RuleGroup, budget: Decimal) -> dict[str, Any]:
        t = 90 * STEP
        series = self.sli_series(slo, budget / 2)
        labels = {"job": self.service.job, conventions.SLO_LABEL: slo.name}
        checks: list[dict[str, Any]] = []

        def check(record: str, value: float, out: Mapping[str, str]) -> None:
            checks.append({"expr": _select(record, {conventions.SLO_LABEL: slo.name}),
                           "eval_time": _dur(t // STEP),
                           "exp_samples": [{"labels": _select(record, out), "value": value}]})
        b = float(budget)
        for rule in group.recordings:
            window = rule.record.rsplit(":rate", 1)[-1].rsplit("_rate", 1)[-1]
            if rule.record == conventions.slo_error_ratio_record(window):
                check(rule.record, self.sli_values(slo, series, window, t)[0], labels)
            elif rule.record == conventions.slo_events_record(window):
                check(rule.record, self.sli_values(slo, series, window, t)[1], labels)
            elif rule.record == conventions.slo_burn_rate_record(window):
                check(rule.record, self.sli_values(slo, series, window, t)[0] / b, labels)
            elif rule.record == conventions.slo_budget_remaining_record(window):
                check(rule.record, 1 - self.sli_values(slo, series, window, t)[0] / b, labels)
            elif rule.record == conventions.SLO_OBJECTIVE_RECORD:
                check(rule.record, float(1 - budget), {conventions.SLO_LABEL: slo.name})
            elif rule.record == conventions.SLO_ERROR_BUDGET_RECORD:
                check(rule.record, b, {conventions.SLO_LABEL: slo.name})
        return {"name": f"{slo.name}: SLI, burn-rate and budget recordings at half the budget",
                "interval": EVALUATION_INTERVAL,
                "input_series": [s.spec(t // STEP + 1) for s in series],
                "promql_expr_test": checks}

    def burn_test(self, slo: SLO, alerts: list[AlertRule], error_ratio: Decimal, minutes: int,
                  title: str, per_minute: float | None = None) -> dict[str, Any]:
        series = self.sli_series(slo, error_ratio, per_minute)
        t = minutes * STEP
        expected = []
        for rule in alerts:
            burn = rule.burn
            assert burn is not None
            tier = burn.tier
            long_ratio, long_events = self.sli_values(slo, series, tier.long_window, t)
            short_ratio, _ = self.sli_values(slo, series, tier.short_window, t)
            limit = float(exact(tier.burn_rate))
            b = float(burn.error_budget)
            # Conditions hold from the first minute (two samples in every window) on.
            holds = (long_ratio / b > limit and short_ratio / b > limit
                     and long_events >= float(burn.min_event_rate))
            if holds and t - STEP >= promql.parse_duration(tier.for_):
                labels = {"job": self.service.job}
                expected.append(self.expect(rule, labels, long_ratio / b))
        return {"name": f"{slo.name}: {title}", "interval": EVALUATION_INTERVAL,
                "input_series": [s.spec(minutes + 1) for s in series],
                "alert_rule_test": [{"eval_time": _dur(minutes), "alertname": alerts[0].alert,
                                     "exp_alerts": expected}]}


def _select(metric: str, labels: Mapping[str, str]) -> str:
    return queries.selector(metric, {k: v for k, v in labels.items()})


def _matches(sel: Selector, labels: Mapping[str, str]) -> bool:
    for label, value in sel.matchers.items():
        allowed = value if isinstance(value, list) else [value]
        if labels.get(label) not in allowed:
            return False
    return True


def _crossing(cond: Condition) -> tuple[Decimal, Decimal]:
    """(a value past the threshold, a value just inside it)."""
    thr = cond.threshold
    step = abs(thr) / 100 if thr else Decimal(1)  # close: a threshold off by 1% fails a test
    if cond.op == ">":
        return thr + step, thr
    if cond.op == ">=":
        return thr, thr - step
    if cond.op == "<":
        return thr - step, thr
    if cond.op == "<=":
        return thr, thr + step
    if cond.op == "==":
        return thr, thr + 1
    raise ValueError(f"no crossing for {cond.op}")


def _series_name(query: str) -> str:
    tree = promql.parse(query)
    assert isinstance(tree, promql.VectorSelector) and tree.name
    return tree.name


def _equality_matchers(query: str) -> dict[str, str]:
    tree = promql.parse(query)
    assert isinstance(tree, promql.VectorSelector)
    return {m.name: m.value for m in tree.matchers if m.op == "=" and m.name != "__name__"}
