"""Spec -> Model: cross-field rules, resolved references, derived names and queries.

Everything a renderer needs is computed here once, so renderers trust the model and stay
pure. Every rule that spans fields reports a Problem at the offending key or value.
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ryotgen import conventions, queries, sharding
from ryotgen.errors import Problem, SpecError
from ryotgen.loader import PathKey, SourceMap
from ryotgen.promql_check import Series, check
from ryotgen.spec import (
    SLO,
    Alert,
    Dashboard,
    ExprIndicator,
    GaugeIndicator,
    Indicator,
    LabelSet,
    MeanIndicator,
    Metric,
    QuantileIndicator,
    RateIndicator,
    RatioIndicator,
    Runbook,
    Selector,
    Spec,
    Team,
    TopkIndicator,
)

# Units a name may end with, and the non-base units a name should not use.
NON_BASE_UNITS = {
    "milliseconds": "seconds", "microseconds": "seconds", "nanoseconds": "seconds",
    "minutes": "seconds", "hours": "seconds", "percent": "ratio", "percentage": "ratio",
    "kilobytes": "bytes", "megabytes": "bytes", "gigabytes": "bytes", "bits": "bytes",
}
KIND_NEEDS = {
    "ratio": ("counter",), "rate": ("counter",), "quantile": ("histogram",),
    "mean": ("histogram",), "gauge": ("gauge",),
}


@dataclass(frozen=True)
class MetricInfo:
    """A spec metric with what the build derived for it."""

    spec: Metric
    label_sets: tuple[tuple[str, LabelSet], ...]
    series_estimate: int

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def closed(self) -> bool:
        """Every label takes values from a list, so all its series can be exported up front."""
        return all(label_set.values for _, label_set in self.label_sets)


@dataclass(frozen=True)
class IndicatorInfo:
    """An indicator with its PromQL and the series consumers should query."""

    spec: Indicator
    expr: str
    record: str | None
    labels: frozenset[str]
    histogram: str | None = None  # the histogram a quantile indicator reads, for bucket checks

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def query(self) -> str:
        """What alerts, SLOs and panels use: the recorded series, else the expression."""
        return self.record or self.expr


@dataclass(frozen=True)
class Model:
    """The render-ready view of a valid spec."""

    spec: Spec
    source: str
    metrics: Mapping[str, MetricInfo]
    indicators: Mapping[str, IndicatorInfo]
    teams: Mapping[str, Team]
    runbooks: Mapping[str, Runbook]
    catalog: Mapping[str, Series]
    target_labels: frozenset[str]
    alert_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def header(self) -> str:
        return conventions.header(self.source)

    @property
    def prefix(self) -> str:
        return self.spec.service.metric_prefix

    def alert_name(self, name: str) -> str:
        return conventions.alert_name(self.prefix, name)


def build_model(spec: Spec, source: SourceMap, display: str) -> Model:
    """Check every cross-field rule, then derive the Model. Raises SpecError with all problems."""
    return _Builder(spec, source, display).build()


class _Builder:
    def __init__(self, spec: Spec, source: SourceMap, display: str) -> None:
        self.spec = spec
        self.source = source
        self.display = display
        self.problems: list[Problem] = []
        self.target_labels = frozenset(
            label for target in spec.service.targets for label in target.labels
        ) | frozenset(conventions.SCRAPE_LABELS)

    def error(self, path: PathKey, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.source.problem(path, message, at_key=at_key))

    def build(self) -> Model:
        spec = self.spec
        self._unique("labels", list(spec.labels), key_path=True)
        self._unique("metrics", [m.name for m in spec.metrics])
        self._unique("indicators", [i.name for i in spec.indicators])
        self._unique("slos", [s.name for s in spec.slos])
        self._unique("alerts", [a.name for a in spec.alerts])
        self._unique("runbooks", [r.name for r in spec.runbooks])
        self._unique("teams", [t.name for t in spec.teams])
        self._unique("dashboards", [d.uid for d in spec.dashboards], field_name="uid")
        self._check_label_sets()
        metrics = self._metrics()
        catalog = self._raw_catalog(metrics)
        indicators = self._indicators(metrics, catalog)
        for info in indicators.values():
            if info.record:
                catalog[info.record] = Series(info.record, "recorded", info.labels)
        self._check_exprs(indicators, catalog)
        teams = {t.name: t for t in spec.teams}
        runbooks = {r.name: r for r in spec.runbooks}
        self._check_slos(metrics, indicators, teams, runbooks)
        self._check_alerts(indicators, teams, runbooks)
        self._check_baselines(indicators, teams)
        self._check_dashboards(indicators)
        self._check_runbooks_and_guide(indicators, catalog)
        self._check_support(indicators, teams)
        self._check_notifications(teams)
        if spec.scale_out is not None:
            # Raw expressions must split into shard recordings and fleet-wide rules.
            for index, ind in enumerate(spec.indicators):
                if isinstance(ind, ExprIndicator) and (why := sharding.check(ind.expr)):
                    self.error(("indicators", index, "expr"), f"with scale_out: {why}")
        if self.problems:
            raise SpecError(self.problems)
        model = Model(
            spec=spec,
            source=self.display,
            metrics=metrics,
            indicators=indicators,
            teams=teams,
            runbooks=runbooks,
            catalog=catalog,
            target_labels=self.target_labels,
        )
        # Dashboards are checked as Grafana will load them, which needs the valid model.
        from ryotgen.dashboard_check import spec_problems

        for path, message in spec_problems(model):
            self.error(path, message)
        if self.problems:
            raise SpecError(self.problems)
        return model

    # --- helpers ---------------------------------------------------------------------------

    def _unique(self, section: str, names: list[str], *, key_path: bool = False,
                field_name: str = "name") -> None:
        seen: dict[str, int] = {}
        for index, name in enumerate(names):
            if name in seen:
                path: PathKey = (section, name) if key_path else (section, index, field_name)
                self.error(path, f"{section}: {name!r} is defined twice (first as {section}"
                                 f"[{seen[name]}]); names must be unique")
            seen.setdefault(name, index)

    def _ref(self, path: PathKey, kind: str, name: str, known: Collection[str]) -> bool:
        """Report a dangling reference with the closest known name; True when it resolves."""
        if name in known:
            return True
        names = sorted(known)
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else (
            f"known: {', '.join(names)}" if names else f"define it under `{kind}s` first")
        self.error(path, f"unknown {kind} {name!r}; {hint}")
        return False

    # --- labels and metrics ----------------------------------------------------------------

    def _check_label_sets(self) -> None:
        for name in self.spec.labels:
            if name in conventions.RESERVED_LABELS or name.startswith("__"):
                self.error(("labels", name), f"label name {name!r} is reserved by Prometheus; "
                                             "choose another name", at_key=True)
            elif name in self.target_labels:
                self.error(("labels", name), f"label {name!r} is already a target label; a metric "
                                             "label of the same name would be overwritten", at_key=True)

    def _metrics(self) -> dict[str, MetricInfo]:
        spec = self.spec
        out: dict[str, MetricInfo] = {}
        total = 0
        targets = len(spec.service.targets)
        for index, metric in enumerate(spec.metrics):
            path: PathKey = ("metrics", index)
            self._lint_name(path, metric)
            sets: list[tuple[str, LabelSet]] = []
            for li, label in enumerate(metric.labels):
                if self._ref((*path, "labels", li), "label set", label, spec.labels):
                    sets.append((label, spec.labels[label]))
            if len(set(metric.labels)) != len(metric.labels):
                self.error((*path, "labels"), "a label is listed twice")
            self._check_buckets(path, metric)
            self._check_role(path, metric)
            estimate = _series_estimate(metric, [s for _, s in sets])
            budget = spec.cardinality.max_series_per_metric
            if estimate > budget:
                self.error((*path, "name"), f"{metric.name} may create {estimate} series, over the "
                                            f"budget of {budget} (cardinality.max_series_per_metric); "
                                            "drop a label, shrink a label set or use fewer buckets")
            total += estimate * targets
            out[metric.name] = MetricInfo(metric, tuple(sets), estimate)
        if total > spec.cardinality.max_series_total:
            self.error(("cardinality",), f"all metrics together may create {total} series across "
                                         f"{targets} target(s), over cardinality.max_series_total "
                                         f"({spec.cardinality.max_series_total})")
        return out

    def _lint_name(self, path: PathKey, metric: Metric) -> None:
        prefix = self.spec.service.metric_prefix
        name = metric.name
        if not name.startswith(prefix):
            self.error((*path, "name"), f"{name} must start with the service prefix {prefix!r}")
        if name != name.lower() or "__" in name:
            self.error((*path, "name"), f"{name}: metric names are lower snake_case without '__'")
        findings: dict[str, str] = {}
        base = name.removesuffix("_total")
        if metric.type == "counter" and not name.endswith("_total"):
            findings["counter_suffix"] = f"counter {name} should end in _total"
        if metric.type != "counter" and name.endswith("_total"):
            findings["counter_suffix"] = f"{name} ends in _total but is a {metric.type}"
        if metric.unit and not base.endswith("_" + metric.unit):
            findings["unit_suffix"] = f"{name} should end with its unit _{metric.unit}"
        if metric.type == "histogram" and not metric.unit:
            findings["unit_suffix"] = f"histogram {name} should declare a unit and end with it"
        for unit, base_unit in NON_BASE_UNITS.items():
            if metric.unit == unit or base.endswith("_" + unit):
                findings["base_unit"] = f"{name} uses {unit}; Prometheus uses base units ({base_unit})"
        waived = {w.rule for w in metric.waivers}
        for rule, message in sorted(findings.items()):
            if rule not in waived:
                self.error((*path, "name"), f"{message} (or add a waiver with rule {rule!r} and a reason)")
        for wi, waiver in enumerate(metric.waivers):
            if waiver.rule not in findings:
                self.error((*path, "waivers", wi, "rule"),
                           f"waiver {waiver.rule!r} is not needed: {name} passes that rule; remove it")

    def _check_role(self, path: PathKey, metric: Metric) -> None:
        """A metric the instrumentation module records itself must have the shape its call fills."""
        role = conventions.instrumentation_role(self.prefix, metric.name)
        if role is None:
            return
        kind, labels = conventions.INSTRUMENTATION_ROLES[role]
        if metric.type != kind or set(metric.labels) != labels:
            self.error((*path, "name"), f"{metric.name} is recorded by the generated instrumentation, "
                       f"which needs a {kind} with labels {sorted(labels)}; rename the metric or "
                       "give it that type and those labels")
        # Values the instrumentation writes itself, and fallbacks it relies on.
        needs: dict[str, tuple[str, ...]] = {"status": (conventions.STATUS_SUCCESS, conventions.STATUS_ERROR)}
        for label in labels & {"error_type", "route"} if role.endswith("_total") else ():
            if label in self.spec.labels and self.spec.labels[label].fallback is None:
                self.error(("labels", label, "fallback"), f"label {label!r} needs a fallback (e.g. other): "
                           f"{metric.name} records unclassified errors and unmatched routes under it")
        for label, values in needs.items():
            found = self.spec.labels.get(label)
            missing = [v for v in values if found is not None and label in labels and v not in found.values]
            if missing:
                self.error(("labels", label, "values"), f"label {label!r} must list {', '.join(missing)}: "
                           f"the instrumentation records them in {metric.name}")

    def _check_buckets(self, path: PathKey, metric: Metric) -> None:
        buckets = metric.buckets
        if metric.type != "histogram":
            if buckets is not None:
                self.error((*path, "buckets"),
                           f"only histograms have buckets; {metric.name} is a {metric.type}")
            return
        if not buckets:
            self.error((*path, "type"), f"histogram {metric.name} needs `buckets` (upper bounds, "
                                        "reaching minutes for LLM latencies)")
            return
        for bi, (low, high) in enumerate(itertools.pairwise(buckets)):
            if not high > low:
                self.error((*path, "buckets", bi + 1), f"buckets must increase strictly: {high} "
                                                       f"follows {low}")
        for bi, value in enumerate(buckets):
            if not math.isfinite(value):
                self.error((*path, "buckets", bi), "+Inf is added automatically; list finite bounds")

    def _raw_catalog(self, metrics: Mapping[str, MetricInfo]) -> dict[str, Series]:
        catalog: dict[str, Series] = {}
        for info in metrics.values():
            labels = frozenset(info.spec.labels) | self.target_labels
            if info.spec.type == "histogram":
                catalog[info.name + "_bucket"] = Series(info.name + "_bucket", "histogram_bucket",
                                                        labels | {"le"})
                catalog[info.name + "_sum"] = Series(info.name + "_sum", "histogram_sum", labels)
                catalog[info.name + "_count"] = Series(info.name + "_count", "histogram_count", labels)
            else:
                catalog[info.name] = Series(info.name, info.spec.type, labels)
        catalog["up"] = Series("up", "gauge", self.target_labels)
        # Prometheus' own series of alert states, for checklists and runbooks.
        alert_labels = {"alertname", "alertstate", conventions.TEAM_LABEL, conventions.SEVERITY_LABEL,
                        conventions.SLO_LABEL, conventions.TIER_LABEL}
        catalog["ALERTS"] = Series("ALERTS", "gauge", frozenset(alert_labels) | frozenset(
            self.spec.labels) | self.target_labels)
        return catalog

    def _selector(self, path: PathKey, sel: Selector, metrics: Mapping[str, MetricInfo],
                  types: tuple[str, ...]) -> MetricInfo | None:
        if not self._ref((*path, "metric"), "metric", sel.metric, metrics):
            return None
        info = metrics[sel.metric]
        if info.spec.type not in types:
            self.error((*path, "metric"), f"{sel.metric} is a {info.spec.type}; this needs a "
                                          f"{' or '.join(types)}")
        sets = dict(info.label_sets)
        for label, value in sel.matchers.items():
            if label not in sets:
                if label not in self.target_labels:
                    self.error((*path, "matchers", label), f"{sel.metric} has no label {label!r} "
                               f"(it has: {', '.join(sorted(sets)) or 'none'})", at_key=True)
                continue
            fallback = sets[label].fallback
            allowed = set(sets[label].values) | ({fallback} if fallback else set())
            for v in value if isinstance(value, list) else [value]:
                if sets[label].values and v not in allowed:
                    self.error((*path, "matchers", label), f"{v!r} is not a value of label "
                               f"{label!r} ({', '.join(sorted(allowed))})")
        return info

    # --- indicators ------------------------------------------------------------------------

    def _indicators(self, metrics: Mapping[str, MetricInfo],
                    catalog: Mapping[str, Series]) -> dict[str, IndicatorInfo]:
        out: dict[str, IndicatorInfo] = {}
        specs = {i.name: i for i in self.spec.indicators}
        records: dict[str, str] = {}
        # topk indicators read others, so build plain ones first, keeping spec order for output.
        ordered = sorted(enumerate(self.spec.indicators), key=lambda p: p[1].kind == "topk")
        for index, ind in ordered:
            path: PathKey = ("indicators", index)
            info = self._indicator(path, ind, metrics, catalog, out, specs)
            if info is None:
                continue
            if info.record:
                if info.record in records:
                    self.error((*path, "name"), f"records as {info.record}, like indicator "
                               f"{records[info.record]!r}: they compute the same thing; keep one")
                records[info.record] = ind.name
            out[ind.name] = info
        return {i.name: out[i.name] for i in self.spec.indicators if i.name in out}

    def _indicator(self, path: PathKey, ind: Indicator, metrics: Mapping[str, MetricInfo],
                   catalog: Mapping[str, Series], built: Mapping[str, IndicatorInfo],
                   specs: Mapping[str, Indicator]) -> IndicatorInfo | None:
        by = tuple(ind.by)
        if isinstance(ind, TopkIndicator):
            if not self._ref((*path, "of"), "indicator", ind.of, specs):
                return None
            if isinstance(specs[ind.of], TopkIndicator):
                self.error((*path, "of"), "topk of a topk indicator; rank the underlying indicator")
                return None
            base = built.get(ind.of)
            if base is None:
                return None
            record = None
            if ind.record and base.record:
                level, metric, operation = base.record.split(":")
                record = f"{level}:{metric}:top{ind.k}_{operation}"
            return IndicatorInfo(ind, queries.topk(ind.k, base.query), record, base.labels,
                                 base.histogram)
        if isinstance(ind, ExprIndicator):
            record = conventions.record_name(by, self.prefix + ind.name, "expr") if ind.record else None
            return IndicatorInfo(ind, ind.expr.strip(), record, frozenset(by))
        sel = _selector_of(ind)
        info = self._selector((*path, _selector_field(ind)), sel, metrics, KIND_NEEDS[ind.kind])
        if info is None:
            return None
        available = frozenset(info.spec.labels) | self.target_labels
        for bi, label in enumerate(by):
            if label not in available:
                self.error((*path, "by", bi), f"cannot aggregate by {label!r}: {info.name} has no "
                           f"such label (it has: {', '.join(sorted(available))})")
        if isinstance(ind, RatioIndicator):
            den = self._selector((*path, "denominator"), ind.denominator, metrics, ("counter",))
            if den is None:
                return None
            expr = queries.ratio(ind.numerator, ind.denominator, ind.window, by)
            metric = conventions.strip_counter_suffix(ind.numerator.metric)
            if ind.denominator.metric != ind.numerator.metric:
                den_name = conventions.strip_counter_suffix(ind.denominator.metric)
                metric += "_per_" + den_name.removeprefix(self.prefix)
            operation = "ratio_" + conventions.window_suffix(ind.window)
        elif isinstance(ind, RateIndicator):
            expr = queries.rate(sel, ind.window, by)
            metric = conventions.strip_counter_suffix(sel.metric)
            operation = conventions.window_suffix(ind.window)
        elif isinstance(ind, QuantileIndicator):
            expr = queries.quantile(sel, ind.quantile, ind.window, by)
            metric = sel.metric
            operation = f"{conventions.quantile_label(ind.quantile)}_{conventions.window_suffix(ind.window)}"
        elif isinstance(ind, MeanIndicator):
            expr = queries.mean(sel, ind.window, by)
            metric = sel.metric
            operation = "mean_" + conventions.window_suffix(ind.window)
        else:
            assert isinstance(ind, GaugeIndicator)
            expr = queries.gauge(sel, ind.aggregation, by)
            metric = sel.metric
            operation = ind.aggregation
        operation = conventions.matcher_qualifier(dict(sel.matchers)) + operation
        record = conventions.record_name(by, metric, operation) if ind.record else None
        histogram = sel.metric if isinstance(ind, QuantileIndicator) else None
        return IndicatorInfo(ind, expr, record, frozenset(queries.grouping(by)), histogram)

    @property
    def prefix(self) -> str:
        return self.spec.service.metric_prefix

    def _check_exprs(self, indicators: Mapping[str, IndicatorInfo],
                     catalog: Mapping[str, Series]) -> None:
        for index, ind in enumerate(self.spec.indicators):
            if isinstance(ind, ExprIndicator) and ind.name in indicators:
                own = indicators[ind.name].record
                visible = _Hiding(catalog, own) if own else catalog
                self._check_expr(("indicators", index, "expr"), ind.expr, visible)

    def _check_expr(self, path: PathKey, expr: str, catalog: Mapping[str, Series]) -> None:
        """Raw PromQL must parse and name only spec metrics or recorded series."""
        for problem in check(expr, catalog):
            offset, _, message = problem.partition(": ")
            where = offset.removeprefix("offset ")
            at = f" (at character {int(where) + 1} of the expression)" if where.isdigit() else ""
            self.error(path, f"expr: {message}{at}")

    # --- SLOs, alerts, baselines -----------------------------------------------------------

    def _threshold_on_bucket(self, path: PathKey, what: str, value: float,
                             ind: IndicatorInfo | None) -> None:
        """Latency thresholds must sit on bucket boundaries, or the quantile is interpolated."""
        if ind is None or ind.histogram is None:
            return
        buckets = self.metrics_by_name[ind.histogram].buckets
        if not buckets:
            return  # reported where the histogram is defined
        if not any(math.isclose(value, b, rel_tol=1e-9) for b in buckets):
            self.error(path, f"{what} {value} is not a bucket boundary of {ind.histogram} "
                             f"({', '.join(f'{b:g}' for b in buckets)}); add it to the buckets "
                             "so the quantile is exact at the threshold")

    @cached_property
    def metrics_by_name(self) -> dict[str, Metric]:
        return {m.name: m for m in self.spec.metrics}

    def _check_slos(self, metrics: Mapping[str, MetricInfo], indicators: Mapping[str, IndicatorInfo],
                    teams: Mapping[str, Team], runbooks: Mapping[str, Runbook]) -> None:
        for index, slo in enumerate(self.spec.slos):
            path: PathKey = ("slos", index)
            self._ref((*path, "team"), "team", slo.team, teams)
            if slo.runbook:
                self._ref((*path, "runbook"), "runbook", slo.runbook, runbooks)
            status = slo.status
            if self._ref((*path, "status", "indicator"), "indicator", status.indicator, indicators):
                self._recorded((*path, "status", "indicator"), indicators[status.indicator])
                self._threshold_on_bucket((*path, "status", "threshold"), "status threshold",
                                          status.threshold, indicators[status.indicator])
            self._check_sli(path, slo, metrics)

    def _check_sli(self, path: PathKey, slo: SLO, metrics: Mapping[str, MetricInfo]) -> None:
        sli = slo.sli
        if sli is None:
            return
        if sli.kind == "events":
            self._selector((*path, "sli", "errors"), sli.errors, metrics, ("counter",))
            self._selector((*path, "sli", "total"), sli.total, metrics, ("counter",))
            return
        info = self._selector((*path, "sli", "histogram"), sli.histogram, metrics, ("histogram",))
        if info is not None:
            buckets = info.spec.buckets or []
            if not any(math.isclose(sli.threshold, b, rel_tol=1e-9) for b in buckets):
                self.error((*path, "sli", "threshold"),
                           f"latency threshold {sli.threshold} is not a bucket boundary of "
                           f"{info.name}; add it to the buckets so good events are counted exactly")

    def _check_alerts(self, indicators: Mapping[str, IndicatorInfo], teams: Mapping[str, Team],
                      runbooks: Mapping[str, Runbook]) -> None:
        for index, alert in enumerate(self.spec.alerts):
            path: PathKey = ("alerts", index)
            self._ref((*path, "team"), "team", alert.team, teams)
            if alert.runbook:
                self._ref((*path, "runbook"), "runbook", alert.runbook, runbooks)
            if self._ref((*path, "indicator"), "indicator", alert.indicator, indicators):
                self._recorded((*path, "indicator"), indicators[alert.indicator])
                self._threshold_on_bucket((*path, "threshold"), "threshold", alert.threshold,
                                          indicators[alert.indicator])
            if alert.guard and self._ref((*path, "guard", "indicator"), "indicator",
                                         alert.guard.indicator, indicators):
                self._recorded((*path, "guard", "indicator"), indicators[alert.guard.indicator])
                self._check_guard_labels(path, alert, indicators)

    def _recorded(self, path: PathKey, ind: IndicatorInfo) -> None:
        """Alerts and SLO status read recorded series, so promtool tests can feed them exactly."""
        if ind.record is None:
            self.error(path, f"indicator {ind.name!r} is not recorded (record: false); alerts, "
                             "guards, SLO status and baselines read recorded series")

    def _check_guard_labels(self, path: PathKey, alert: Alert,
                            indicators: Mapping[str, IndicatorInfo]) -> None:
        assert alert.guard is not None
        if alert.indicator not in indicators:
            return
        mine = indicators[alert.indicator].labels
        guard = indicators[alert.guard.indicator].labels
        if not guard <= mine:
            self.error((*path, "guard", "indicator"),
                       f"guard {alert.guard.indicator!r} is grouped by {sorted(guard)}, which "
                       f"{alert.indicator!r} ({sorted(mine)}) does not have; group them alike")

    def _check_baselines(self, indicators: Mapping[str, IndicatorInfo],
                         teams: Mapping[str, Team]) -> None:
        baselines = self.spec.baselines
        profiles = {p.name for p in baselines.profiles} if baselines else set()
        for ti, target in enumerate(self.spec.service.targets):
            label = baselines.profile_label if baselines else None
            if label and label in target.labels:
                self._ref(("service", "targets", ti, "labels", label), "baseline profile",
                          target.labels[label], profiles)
        if baselines is None:
            return
        self._ref(("baselines", "team"), "team", baselines.team, teams)
        self._unique_in(("baselines", "profiles"), [p.name for p in baselines.profiles])
        for quantity in ("ttft", "latency", "token_rate"):
            check_spec = getattr(baselines, quantity)
            path: PathKey = ("baselines", quantity, "indicator")
            if not self._ref(path, "indicator", check_spec.indicator, indicators):
                continue
            ind = indicators[check_spec.indicator]
            self._recorded(path, ind)
            if baselines.profile_label not in ind.labels:
                self.error(path, f"indicator {check_spec.indicator!r} must aggregate by "
                                 f"{baselines.profile_label!r} to compare profiles with their baselines")
            for pi, profile in enumerate(baselines.profiles):
                bound = getattr(profile, "token_rate" if quantity == "token_rate" else f"{quantity}_seconds")
                if quantity != "token_rate" and bound.max is not None:
                    self._threshold_on_bucket(("baselines", "profiles", pi, f"{quantity}_seconds", "max"),
                                              "baseline upper bound", bound.max, ind)

    def _unique_in(self, path: PathKey, names: list[str]) -> None:
        seen: set[str] = set()
        for index, name in enumerate(names):
            if name in seen:
                self.error((*path, index, "name"), f"{name!r} is defined twice; names must be unique")
            seen.add(name)

    def _check_dashboards(self, indicators: Mapping[str, IndicatorInfo]) -> None:
        for di, dash in enumerate(self.spec.dashboards):
            self._check_dashboard(("dashboards", di), dash, indicators)

    def _check_dashboard(self, path: PathKey, dash: Dashboard,
                         indicators: Mapping[str, IndicatorInfo]) -> None:
        labels = frozenset(self.spec.labels) | self.target_labels
        for vi, variable in enumerate(dash.variables):
            if variable not in labels:
                self.error((*path, "variables", vi), f"no metric or target has label {variable!r}")
        for ri, row in enumerate(dash.rows):
            for pi, panel in enumerate(row.panels):
                for ti, target in enumerate(panel.targets):
                    self._ref((*path, "rows", ri, "panels", pi, "targets", ti, "indicator"),
                              "indicator", target.indicator, indicators)
                if panel.baseline and self.spec.baselines is None:
                    self.error((*path, "rows", ri, "panels", pi, "baseline"),
                               "the spec has no `baselines` section to draw")

    def _check_runbooks_and_guide(self, indicators: Mapping[str, IndicatorInfo],
                                  catalog: Mapping[str, Series]) -> None:
        items: list[tuple[PathKey, Any]] = []
        for ri, runbook in enumerate(self.spec.runbooks):
            items += [(("runbooks", ri, "checks", ci), c) for ci, c in enumerate(runbook.checks)]
        for li, checklist in enumerate(self.spec.guide.checklists):
            items += [(("guide", "checklists", li, "items", ii), item)
                      for ii, item in enumerate(checklist.items)]
        for path, item in items:
            if item.indicator is not None:
                self._ref((*path, "indicator"), "indicator", item.indicator, indicators)
            if item.expr is not None:
                self._check_expr((*path, "expr"), item.expr, catalog)

    def _check_support(self, indicators: Mapping[str, IndicatorInfo],
                       teams: Mapping[str, Team]) -> None:
        for si, entry in enumerate(self.spec.support):
            self._ref(("support", si, "team"), "team", entry.team, teams)
            for ii, name in enumerate(entry.indicators):
                self._ref(("support", si, "indicators", ii), "indicator", name, indicators)

    def _check_notifications(self, teams: Mapping[str, Team]) -> None:
        """Alertmanager needs a known default team, groupable labels and a mail server for e-mail."""
        notifications = self.spec.notifications
        if notifications.default_team:
            self._ref(("notifications", "default_team"), "team", notifications.default_team, teams)
        if "group_by" in notifications.model_fields_set:
            known = (frozenset(self.spec.labels) | self.target_labels | {
                "alertname", conventions.TEAM_LABEL, conventions.SEVERITY_LABEL,
                conventions.SLO_LABEL, conventions.TIER_LABEL})
            for gi, label in enumerate(notifications.group_by):
                if label not in known:
                    self.error(("notifications", "group_by", gi),
                               f"no alert carries label {label!r}; known: {', '.join(sorted(known))}")
        if notifications.smtp is None:
            for ti, team in enumerate(self.spec.teams):
                if team.receiver.email_to:
                    self.error(("teams", ti, "receiver", "email_to"),
                               "e-mail needs a mail server: add notifications.smtp with "
                               "`smarthost` (host:port) and `from`")


class _Hiding(Mapping[str, Series]):
    """`catalog` without one name, without copying the catalog for every expression."""

    def __init__(self, catalog: Mapping[str, Series], hidden: str) -> None:
        self.catalog = catalog
        self.hidden = hidden

    def __getitem__(self, name: str) -> Series:
        if name == self.hidden:
            raise KeyError(name)
        return self.catalog[name]

    def __iter__(self) -> Iterator[str]:
        return (name for name in self.catalog if name != self.hidden)

    def __len__(self) -> int:
        return len(self.catalog) - (self.hidden in self.catalog)


def _selector_of(ind: Indicator) -> Selector:
    value = getattr(ind, _selector_field(ind))
    assert isinstance(value, Selector)
    return value


def _selector_field(ind: Indicator) -> str:
    fields: dict[type, str] = {
        RatioIndicator: "numerator", RateIndicator: "counter", QuantileIndicator: "histogram",
        MeanIndicator: "histogram", GaugeIndicator: "gauge",
    }
    return fields[type(ind)]


def _series_estimate(metric: Metric, sets: list[LabelSet]) -> int:
    """Upper bound of series per target: label combinations x series per combination."""
    combos = 1
    for label_set in sets:
        combos *= label_set.max_values or (len(label_set.values) + (label_set.fallback is not None))
    per_combination = len(metric.buckets or []) + 3 if metric.type == "histogram" else 1
    return combos * per_combination

