"""Model -> Prometheus rule groups, as plain data (no YAML, no I/O).

The renderer (`ryotgen.render.prometheus`) dumps these groups; docs, dashboards and the
promtool test generator read them, so every consumer sees the same names and expressions.

API
    build(model) -> tuple[RuleGroup, ...]     every group, in file order
    alert_rules(groups) -> list[AlertRule]    every alerting rule (several rules may share an
                                              alert name: burn-rate tiers, baseline profiles)
    slo_windows(model, slo) -> tuple[str, ...]  windows an event SLO records, shortest first
    error_budget(slo) -> Decimal              1 - objective/100, exact
    escape_template(text)                     spec text made inert for Go templates
    value_template(unit), VALUE_FORMATS       how an alert shows its value, per indicator unit

Groups (`RuleGroup.key`; file `conventions.rules_path(service, key)`):
    indicators       one recording per recorded indicator, dependencies first
    slo-<name>       per SLO: error ratio and event rate per window, objective, error budget,
                     burn rate per window, budget remaining, status (1/0), one burn alert per tier
    alerts           the spec's threshold alerts (with their guards)
    baselines        per-profile deviation alerts (one rule per profile and quantity)
    scrape           target down and metrics absent

An `AlertRule` carries what docs need (name, expr, for, severity, team, op/threshold,
summary, description, runbook_url) and what the test generator needs (the compared
`Condition`s, the burn tier). `summary`/`description` are the plain texts; `annotations`
is what Prometheus gets (escaped, with the value template appended).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from ryotgen import conventions, promql, promql_check, queries
from ryotgen.model import IndicatorInfo, Model
from ryotgen.promql_check import Series
from ryotgen.spec import SLO, BurnRateTier, Selector

AlertKind = Literal["threshold", "slo_burn", "baseline", "target_down", "metrics_absent"]

# Indicator unit -> (Prometheus template function, suffix) used to show an alert's value.
VALUE_FORMATS: Mapping[str, tuple[str, str]] = {
    "ratio": ("humanizePercentage", ""),
    "seconds": ("humanizeDuration", ""),
    "percent": ("humanize", "%"),
}

TARGET_DOWN_FOR = "5m"
METRICS_ABSENT_FOR = "10m"


def exact(value: float | int | Decimal) -> Decimal:
    """A spec number as the decimal it was written as (0.05 stays 0.05)."""
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def escape_template(text: str) -> str:
    """Make spec text literal inside a Prometheus (Go text/template) annotation.

    Only `{{` opens an action; it is replaced by an action printing `{{`, so no spec text can
    reach `$labels`, `$value` or template functions.
    """
    return text.replace("{{", '{{ "{{" }}')


def value_template(unit: str) -> str:
    """`{{ $value | humanize... }}` for an indicator unit."""
    func, suffix = VALUE_FORMATS.get(unit, ("humanize", ""))
    return f"{{{{ $value | {func} }}}}{suffix}"


@dataclass(frozen=True)
class Recording:
    """A recording rule. `labels` are static labels the rule adds (e.g. slo)."""

    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)
    indicator: str | None = None  # the indicator it records, for indicator recordings
    slo: str | None = None


@dataclass(frozen=True)
class Condition:
    """`query op threshold`; `query` is a recorded series (or `up`/absent for scrape alerts)."""

    query: str
    op: str
    threshold: Decimal
    labels: frozenset[str]  # labels the query's series carry
    indicator: str | None = None
    unit: str = "none"

    @property
    def expr(self) -> str:
        return f"{self.query} {self.op} {promql.format_number(self.threshold)}"


@dataclass(frozen=True)
class BurnTier:
    """What a burn-rate alert rule checks, for docs and tests."""

    slo: str
    tier: BurnRateTier
    error_budget: Decimal
    min_event_rate: Decimal


@dataclass(frozen=True)
class AlertRule:
    """An alerting rule with everything docs and tests need."""

    alert: str
    kind: AlertKind
    title: str
    expr: str
    for_: str
    severity: str
    team: str
    labels: Mapping[str, str]  # every static label, severity and team included
    summary: str  # plain text from the spec (or generated), not escaped
    description: str
    value_format: str  # template function showing the value: humanize, humanizeDuration, ...
    value_suffix: str
    runbook_url: str
    source: str  # the spec item: alert name, SLO name, baseline quantity, or "service"
    condition: Condition | None = None  # threshold alerts and baselines
    guard: Condition | None = None
    burn: BurnTier | None = None

    @property
    def op(self) -> str | None:
        return self.condition.op if self.condition else None

    @property
    def threshold(self) -> Decimal | None:
        return self.condition.threshold if self.condition else None

    @property
    def severity_label(self) -> str:
        return self.severity

    @property
    def annotations(self) -> dict[str, str]:
        value = f"{{{{ $value | {self.value_format} }}}}{self.value_suffix}"
        return {
            "summary": escape_template(self.summary),
            "description": f"{escape_template(self.description)} Current value: {value}.",
            "runbook_url": self.runbook_url,
        }


Rule = Recording | AlertRule


@dataclass(frozen=True)
class RuleGroup:
    """One rule group = one rules file and one promtool test file."""

    key: str  # file key: conventions.rules_path(service, key)
    name: str  # the Prometheus group name (unique per server)
    interval: str
    rules: tuple[Rule, ...]

    @property
    def recordings(self) -> list[Recording]:
        return [r for r in self.rules if isinstance(r, Recording)]

    @property
    def alerts(self) -> list[AlertRule]:
        return [r for r in self.rules if isinstance(r, AlertRule)]


def build(model: Model) -> tuple[RuleGroup, ...]:
    """Every rule group of the model, in a stable order; empty groups are left out."""
    return _Builder(model).groups()


def alert_rules(groups: Iterable[RuleGroup]) -> list[AlertRule]:
    return [rule for group in groups for rule in group.alerts]


def error_budget(slo: SLO) -> Decimal:
    """The allowed share of bad events, computed in decimal so 99.9 gives exactly 0.001."""
    assert slo.objective is not None
    return Decimal(1) - exact(slo.objective) / Decimal(100)


def slo_window(model: Model, slo: SLO) -> str:
    return slo.window or model.spec.slo_policy.window


def slo_windows(model: Model, slo: SLO) -> tuple[str, ...]:
    """The standard windows, every tier's windows and the SLO window, shortest first."""
    windows = set(conventions.SLO_WINDOWS) | {slo_window(model, slo)}
    for tier in model.spec.slo_policy.tiers:
        windows |= {tier.long_window, tier.short_window}
    by_length = {promql.parse_duration(w): w for w in sorted(windows)}
    return tuple(by_length[length] for length in sorted(by_length))


class _Builder:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.spec = model.spec
        self.service = model.spec.service

    def groups(self) -> tuple[RuleGroup, ...]:
        parts: list[tuple[str, list[Rule]]] = [("indicators", list(self.indicator_recordings()))]
        for slo in self.spec.slos:
            parts.append((conventions.slo_group(slo.name), self.slo_rules(slo)))
        parts.append(("alerts", self.threshold_alerts()))
        parts.append(("baselines", self.baseline_alerts()))
        parts.append(("scrape", self.scrape_alerts()))
        return tuple(
            RuleGroup(key, conventions.rule_group(self.service.name, key),
                      self.service.evaluation_interval, tuple(rules))
            for key, rules in parts if rules
        )

    # --- helpers ----------------------------------------------------------------------------

    def runbook_url(self, group: str, alert: str) -> str:
        path = conventions.runbook_path(alert)
        base = self.service.runbook_base_url
        if base:
            return base.rstrip("/") + "/" + path
        rules_dir = posixpath.dirname(conventions.rules_path(self.service.name, group))
        return posixpath.relpath(path, rules_dir)

    def indicator(self, name: str) -> IndicatorInfo:
        return self.model.indicators[name]

    def condition(self, name: str, op: str, threshold: float, matchers: Mapping[str, str] | None = None
                  ) -> Condition:
        info = self.indicator(name)
        # The model only lets alerts, guards, SLO status and baselines use recorded indicators.
        assert info.record is not None, f"indicator {name} is not recorded"
        query = _select(info.record, dict(matchers or {}))
        return Condition(query, op, exact(threshold), info.labels, name, info.spec.unit)

    @property
    def default_team(self) -> str:
        return self.spec.notifications.default_team or self.spec.teams[0].name

    # --- recordings -------------------------------------------------------------------------

    def indicator_recordings(self) -> list[Recording]:
        """Recorded indicators, each after the recordings its expression reads."""
        pending = [i for i in self.model.indicators.values() if i.record]
        records = {i.record for i in pending}
        done: set[str | None] = set()
        out: list[Recording] = []
        while pending:
            for info in pending:
                reads = _selected_names(info.expr) & records - {info.record}
                if reads <= done:
                    break
            else:  # a cycle cannot pass the model's checks; keep spec order anyway
                info = pending[0]
            pending.remove(info)
            done.add(info.record)
            assert info.record is not None
            out.append(Recording(info.record, info.expr, indicator=info.name))
        return out

    def slo_rules(self, slo: SLO) -> list[Rule]:
        labels = {conventions.SLO_LABEL: slo.name}
        only = {conventions.SLO_LABEL: slo.name}
        rules: list[Rule] = []
        if slo.sli is not None:
            budget = error_budget(slo)
            objective = exact(slo.objective or 0) / Decimal(100)
            windows = slo_windows(self.model, slo)
            for window in windows:
                rules.append(Recording(conventions.slo_error_ratio_record(window),
                                       self.sli_error_expr(slo, window), labels, slo=slo.name))
            for window in windows:
                rules.append(Recording(conventions.slo_events_record(window),
                                       self.sli_events_expr(slo, window), labels, slo=slo.name))
            rules.append(Recording(conventions.SLO_OBJECTIVE_RECORD,
                                   f"vector({promql.format_number(objective)})", labels, slo=slo.name))
            rules.append(Recording(conventions.SLO_ERROR_BUDGET_RECORD,
                                   f"vector({promql.format_number(budget)})", labels, slo=slo.name))
            for window in windows:
                error = _select(conventions.slo_error_ratio_record(window), only)
                rules.append(Recording(conventions.slo_burn_rate_record(window),
                                       f"{error} / {promql.format_number(budget)}", labels,
                                       slo=slo.name))
            period = slo_window(self.model, slo)
            error = _select(conventions.slo_error_ratio_record(period), only)
            rules.append(Recording(conventions.slo_budget_remaining_record(period),
                                   f"1 - {error} / {promql.format_number(budget)}", labels,
                                   slo=slo.name))
        status = self.condition(slo.status.indicator, slo.status.op, slo.status.threshold)
        bool_expr = f"{status.query} {status.op} bool {promql.format_number(status.threshold)}"
        rules.append(Recording(conventions.SLO_STATUS_RECORD, bool_expr, labels, slo=slo.name))
        if slo.sli is not None:
            rules.extend(self.burn_alert(slo, tier) for tier in self.spec.slo_policy.tiers)
        return rules

    def sli_events_expr(self, slo: SLO, window: str) -> str:
        sli = slo.sli
        assert sli is not None
        total = queries.of(sli.total) if sli.kind == "events" else queries.of(sli.histogram, "_count")
        return queries.summed_rate(total, window, ())

    def sli_error_expr(self, slo: SLO, window: str) -> str:
        sli = slo.sli
        assert sli is not None
        if sli.kind == "events":
            return queries.ratio(sli.errors, sli.total, window, ())
        # Good events are the threshold's bucket; bad = all - good, so the SLI is exact.
        hist = sli.histogram
        good = Selector(metric=hist.metric,
                        matchers={**hist.matchers, "le": conventions.le_value(sli.threshold)})
        total = queries.summed_rate(queries.of(hist, "_count"), window, ())
        bad = f"({total} - {queries.summed_rate(queries.of(good, '_bucket'), window, ())})"
        return queries.guarded_ratio(bad, total)

    # --- alerts -----------------------------------------------------------------------------

    def burn_alert(self, slo: SLO, tier: BurnRateTier) -> AlertRule:
        name = conventions.slo_burn_alert(self.model.prefix, slo.name)
        group = conventions.slo_group(slo.name)
        only = {conventions.SLO_LABEL: slo.name}
        burn = promql.format_number(exact(tier.burn_rate))
        objective = promql.format_number(exact(slo.objective or 0))
        policy = self.spec.slo_policy
        min_rate = exact(policy.min_event_rate)
        long_ = _select(conventions.slo_burn_rate_record(tier.long_window), only)
        short = _select(conventions.slo_burn_rate_record(tier.short_window), only)
        events = _select(conventions.slo_events_record(tier.long_window), only)
        expr = (f"{long_} > {burn} and {short} > {burn} "
                f"and {events} >= {promql.format_number(min_rate)}")
        labels = {conventions.SEVERITY_LABEL: tier.severity, conventions.TEAM_LABEL: slo.team,
                  conventions.SLO_LABEL: slo.name, conventions.TIER_LABEL: tier.name}
        return AlertRule(
            alert=name, kind="slo_burn", title=f"{slo.title}: error budget burn ({tier.name})",
            expr=expr, for_=tier.for_, severity=tier.severity, team=slo.team, labels=labels,
            summary=f"{slo.title}: the error budget burns faster than {burn}x ({tier.name}).",
            description=(f"Over the last {tier.long_window} and {tier.short_window}, bad events "
                         f"exceed {burn} times the rate the {objective}% "
                         f"objective allows over {slo_window(self.model, slo)}."),
            value_format="humanize", value_suffix="x", runbook_url=self.runbook_url(group, name),
            source=slo.name, burn=BurnTier(slo.name, tier, error_budget(slo), min_rate),
        )

    def threshold_alerts(self) -> list[Rule]:
        rules: list[Rule] = []
        for alert in self.spec.alerts:
            name = self.model.alert_name(alert.name)
            cond = self.condition(alert.indicator, alert.op, alert.threshold)
            expr = cond.expr
            guard = None
            if alert.guard is not None:
                guard = self.condition(alert.guard.indicator, alert.guard.op, alert.guard.threshold)
                expr += f" and on({', '.join(sorted(guard.labels))}) {guard.expr}"
            func, suffix = VALUE_FORMATS.get(cond.unit, ("humanize", ""))
            rules.append(AlertRule(
                alert=name, kind="threshold", title=alert.title, expr=expr, for_=alert.for_,
                severity=alert.severity, team=alert.team,
                labels={conventions.SEVERITY_LABEL: alert.severity, conventions.TEAM_LABEL: alert.team},
                summary=alert.summary, description=alert.description, value_format=func,
                value_suffix=suffix, runbook_url=self.runbook_url("alerts", name), source=alert.name,
                condition=cond, guard=guard,
            ))
        return rules

    def baseline_alerts(self) -> list[Rule]:
        baselines = self.spec.baselines
        if baselines is None:
            return []
        rules: list[Rule] = []
        label = baselines.profile_label
        for quantity, attr, bound in (("ttft", "ttft_seconds", "max"), ("latency", "latency_seconds", "max"),
                                      ("token_rate", "token_rate", "min")):
            check = getattr(baselines, quantity)
            name = conventions.deviation_alert(self.model.prefix, quantity)
            what = quantity.replace("_", " ").replace("ttft", "TTFT")
            for profile in baselines.profiles:
                value = getattr(getattr(profile, attr), bound)
                if value is None:
                    continue
                op = ">" if bound == "max" else "<"
                cond = self.condition(check.indicator, op, value, {label: profile.name})
                func, suffix = VALUE_FORMATS.get(cond.unit, ("humanize", ""))
                shown = promql.format_number(cond.threshold)
                side = "above the upper" if bound == "max" else "below the lower"
                rules.append(AlertRule(
                    alert=name, kind="baseline", title=f"Baseline {what} deviation ({profile.title})",
                    expr=cond.expr, for_=check.for_, severity="warning", team=baselines.team,
                    # The profile label keeps the rules of one alert distinct (promtool lints that).
                    labels={conventions.SEVERITY_LABEL: "warning", conventions.TEAM_LABEL: baselines.team,
                            label: profile.name},
                    summary=f"{profile.title}: {what} is {side} baseline bound ({shown}).",
                    description=(f"Targets running the {profile.title} profile deviate from their "
                                 f"expected {what} range."),
                    value_format=func, value_suffix=suffix,
                    runbook_url=self.runbook_url("baselines", name), source=quantity, condition=cond,
                ))
        return rules

    def scrape_alerts(self) -> list[Rule]:
        job = {"job": self.service.job}
        team = self.default_team
        labels = {conventions.SEVERITY_LABEL: "critical", conventions.TEAM_LABEL: team}
        down = conventions.target_down_alert(self.model.prefix)
        up = Condition(_select("up", job), "==", Decimal(0), frozenset(self.model.target_labels))
        # The instrumentation exports every series of a closed counter at start-up (at 0), so
        # such a counter is present on an idle service too.
        closed = [m.spec for m in self.model.metrics.values() if m.spec.type == "counter" and m.closed]
        heartbeat = closed[0] if closed else self.spec.metrics[0]
        series = heartbeat.name + ("_count" if heartbeat.type == "histogram" else "")
        absent = conventions.metrics_absent_alert(self.model.prefix)
        return [
            AlertRule(
                alert=down, kind="target_down", title="Scrape target down", expr=up.expr,
                for_=TARGET_DOWN_FOR, severity="critical", team=team, labels=labels,
                summary=f"Prometheus cannot scrape a {self.service.title} target.",
                description=f"A target of job {self.service.job} has failed every scrape for "
                            f"{TARGET_DOWN_FOR}; its alerts and SLOs are blind.",
                value_format="humanize", value_suffix="", runbook_url=self.runbook_url("scrape", down),
                source="service", condition=up,
            ),
            AlertRule(
                alert=absent, kind="metrics_absent", title="Metrics absent",
                expr=f"absent({_select(series, job)})", for_=METRICS_ABSENT_FOR,
                severity="warning", team=team,
                labels={conventions.SEVERITY_LABEL: "warning", conventions.TEAM_LABEL: team},
                summary=f"No target of job {self.service.job} exports {series}.",
                description="The instrumentation is not exported (missing middleware, metrics "
                            "router or multiprocess directory), or the scrape job is missing.",
                value_format="humanize", value_suffix="", runbook_url=self.runbook_url("scrape", absent),
                source="service",
            ),
        ]


def _select(metric: str, matchers: Mapping[str, str]) -> str:
    return queries.selector(metric, {label: value for label, value in matchers.items()})


def _selected_names(expr: str) -> set[str]:
    """Metric names an expression selects."""
    return {node.name for node in promql.walk(promql.parse(expr))
            if isinstance(node, promql.VectorSelector) and node.name}


def catalog(model: Model, groups: Iterable[RuleGroup]) -> dict[str, Series]:
    """The model's catalog plus every series these groups record (with their labels)."""
    out = dict(model.catalog)
    for group in groups:
        for rule in group.recordings:
            known = out.get(rule.record)
            labels = _output_labels(rule, out) | frozenset(rule.labels)
            if known is not None:
                labels |= known.labels
            out[rule.record] = Series(rule.record, "recorded", labels)
    return out


def check(model: Model, groups: Iterable[RuleGroup]) -> list[str]:
    """Every generated expression checked against the catalog; [] when all are sound."""
    groups = tuple(groups)
    known = catalog(model, groups)
    problems = []
    for group in groups:
        for rule in group.rules:
            name = rule.record if isinstance(rule, Recording) else rule.alert
            problems += [f"{group.name}: {name}: {p}" for p in promql_check.check(rule.expr, known)]
    return problems


def _output_labels(rule: Recording, known: Mapping[str, Series]) -> frozenset[str]:
    """Labels a recording's result may carry: its grouping, else its inputs' labels."""
    tree = promql.parse(rule.expr)
    while isinstance(tree, promql.Paren):
        tree = tree.expr
    if isinstance(tree, promql.Aggregation) and not tree.without and tree.op not in ("topk", "bottomk"):
        return frozenset(tree.grouping)
    labels: set[str] = set()
    for node in promql.walk(tree):
        if isinstance(node, promql.Aggregation) and not node.without and node.op not in ("topk", "bottomk"):
            return frozenset(node.grouping)
        if isinstance(node, promql.VectorSelector) and node.name and node.name in known:
            labels |= known[node.name].labels - {"le"}
    return frozenset(labels)
