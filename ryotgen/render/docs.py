"""Runbooks (docs/runbooks/<Alert>.md) and the operations guide (docs/operations-guide.md).

Both are read from the same rule groups Prometheus loads (`ryotgen.rules`), so an alert, its
threshold and its runbook cannot disagree. Markdown is assembled from lines with the escaping
helpers in `render.markdown`; every query is a ```promql block holding one expression, with a
link that opens it in the configured Prometheus.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from ryotgen import conventions, promql, queries, rules
from ryotgen.model import IndicatorInfo, Model
from ryotgen.render import markdown as md
from ryotgen.rules import AlertRule, RuleGroup
from ryotgen.spec import SLO, Alert, BaselineProfile, Range, Runbook, Team

GUIDE_PATH = "docs/operations-guide.md"
Lines = list[str]


def render(model: Model) -> dict[str, str]:
    groups = rules.build(model)
    docs = _Docs(model, groups)
    out = {GUIDE_PATH: docs.guide()}
    for name, alert_rules in docs.alerts.items():
        out[conventions.runbook_path(name)] = docs.runbook(name, alert_rules)
    return out


@dataclass(frozen=True)
class Query:
    """A query to show: its title, one PromQL expression and, when recorded, the series name."""

    title: str
    expr: str
    record: str | None = None


# --- formatting ----------------------------------------------------------------------------

# Units a threshold or baseline is shown in, besides its exact spec value.
_UNIT_WORDS = {"tokens_per_second": "tokens/s", "requests_per_second": "requests/s",
               "per_second": "/s", "count": "", "none": "", "bytes": "bytes", "percent": "%"}


def number(value: float | Decimal) -> str:
    """A spec number exactly as written (0.05 stays 0.05), as a code span."""
    return md.code(promql.format_number(rules.exact(value)))


def human(value: float | Decimal, unit: str) -> str:
    """Plain-language reading of a value in an indicator unit: 0.05 ratio -> 5%, 0.5 s -> 500 ms."""
    exact = rules.exact(value)
    if unit == "ratio":
        return f"{_plain(exact * 100)}%"
    if unit == "seconds":
        return f"{_plain(exact * 1000)} ms" if exact < 1 else f"{_plain(exact)} s"
    if unit == "bytes" and exact >= 10**9:
        return f"{_plain(exact / 10**9)} GB"
    word = _UNIT_WORDS.get(unit, unit)
    return f"{_plain(exact)}{'' if word in ('', '%') else ' '}{word}"


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def graph_url(model: Model, expr: str) -> str:
    """The Prometheus expression browser with `expr` filled in, as a table."""
    base = model.spec.service.prometheus_url.rstrip("/")
    return f"{base}/graph?g0.expr={quote(expr, safe='')}&g0.tab=0"


def _rel(from_path: str, to_path: str) -> str:
    return posixpath.relpath(to_path, posixpath.dirname(from_path))


def _team_line(team: Team) -> str:
    return f"{md.inline(team.title)} ({md.code(team.name)})"


def _receiver(team: Team) -> str:
    receiver = team.receiver
    kinds = [kind for kind, value in (
        ("webhook", receiver.webhook_url or receiver.webhook_url_file),
        (f"Slack {receiver.slack_channel}", receiver.slack_channel),
        ("e-mail", receiver.email_to),
        ("PagerDuty", receiver.pagerduty_routing_key_file),
    ) if value]
    return md.inline(", ".join(kinds))


def _range(bounds: Range | None, unit: str) -> str:
    """`min`-`max` unit (human reading), either end open."""
    if bounds is None:
        return ""
    low = bounds.min
    high = bounds.max
    if low is not None and high is not None:
        return f"{number(low)} - {number(high)} ({human(low, unit)} - {human(high, unit)})"
    if low is not None:
        return f"at least {number(low)} ({human(low, unit)})"
    assert high is not None
    return f"at most {number(high)} ({human(high, unit)})"


class _Docs:
    def __init__(self, model: Model, groups: Sequence[RuleGroup]) -> None:
        self.model = model
        self.spec = model.spec
        self.groups = groups
        self.alerts: dict[str, list[AlertRule]] = {}
        for rule in rules.alert_rules(groups):
            self.alerts.setdefault(rule.alert, []).append(rule)
        self.alert_specs: dict[str, Alert] = {a.name: a for a in self.spec.alerts}
        # Which file defines each rule, by identity: scanning every group per rule was quadratic.
        self.rule_files: dict[int, str] = {}
        for group in groups:
            for rule in group.alerts:
                self.rule_files.setdefault(id(rule), conventions.rules_path(self.spec.service.name,
                                                                            group.key))
        self.slos: dict[str, SLO] = {s.name: s for s in self.spec.slos}

    # --- shared pieces ------------------------------------------------------------------------

    def indicator_query(self, name: str, title: str | None = None) -> Query:
        info = self.model.indicators[name]
        return Query(title or info.spec.title, info.expr, info.record)

    def query_block(self, query: Query, path: str, *, level: int = 3) -> Lines:
        """A titled, copyable query with its Prometheus link (and recorded series, if any)."""
        lines = [*md.heading(level, query.title), *md.fence(query.expr, "promql"), ""]
        links = [md.link("Open in Prometheus", graph_url(self.model, query.expr))]
        if query.record:
            links.append(f"recorded as {md.code(query.record)} "
                         f"({md.link('graph', graph_url(self.model, query.record))})")
        return [*lines, " · ".join(links), ""]

    def team(self, name: str) -> Team:
        return self.model.teams[name]

    def runbook_link(self, from_path: str, alert: str) -> str:
        return md.link(md.inline(alert), _rel(from_path, conventions.runbook_path(alert)))

    # --- runbooks -----------------------------------------------------------------------------

    def runbook(self, name: str, alert_rules: list[AlertRule]) -> str:
        path = conventions.runbook_path(name)
        first = alert_rules[0]
        team = self.team(first.team)
        blocks: list[Lines] = [
            [f"# {md.inline(name)}", "", self.runbook_subtitle(alert_rules, team)],
            [*md.heading(2, "What fired"), *self.what_fired(alert_rules)],
            [*md.heading(2, "Why it matters"), *self.why_it_matters(first)],
            [*md.heading(2, "Threshold"), *self.threshold_table(alert_rules)],
            [*md.heading(2, "The alerting rule"),
             *[line for rule in _distinct_exprs(alert_rules) for line in self.rule_block(rule, path)]],
            [*md.heading(2, "Checks"), md.markup("Run these first, in order; each is the corrected "
                                                 "PromQL, recorded series where one exists."), "",
             *[line for query in self.checks(first) for line in self.query_block(query, path)]],
            [*md.heading(2, "Likely causes"), *self.causes(first)],
            [*md.heading(2, "Actions"), *self.actions(first)],
            [*md.heading(2, "Owner and escalation"), *self.escalation(team)],
            [*md.heading(2, "Related"), *self.related(path, alert_rules)],
        ]
        return md.document(self.model.header, blocks)

    def runbook_subtitle(self, alert_rules: list[AlertRule], team: Team) -> str:
        severities = ", ".join(dict.fromkeys(md.code(r.severity) for r in alert_rules))
        waits = ", ".join(dict.fromkeys(md.code(r.for_) for r in alert_rules))
        return (f"**{md.inline(self.alert_title(alert_rules[0]))}** · severity {severities} · "
                f"team {_team_line(team)} · fires after {waits}")

    def alert_title(self, rule: AlertRule) -> str:
        if rule.kind == "slo_burn":
            return f"{self.slos[rule.source].title}: error budget burn"
        if rule.kind == "baseline":
            return rule.title.split(" (")[0]
        return rule.title

    def what_fired(self, alert_rules: list[AlertRule]) -> Lines:
        first = alert_rules[0]
        if len(alert_rules) == 1:
            return [md.inline(first.summary)]
        lines = [md.inline(f"{self.alert_title(first)}: one rule per row below shares this alert "
                           "name; the labels of the firing alert tell them apart."), ""]
        return lines + md.table(["rule", "summary"], [(md.inline(r.title), md.inline(r.summary))
                                                      for r in alert_rules])

    def why_it_matters(self, rule: AlertRule) -> Lines:
        if rule.kind == "threshold":
            alert = self.alert_specs[rule.source]
            lines = [md.inline(alert.description)]
            slos = [s for s in self.spec.slos if s.status.indicator == alert.indicator]
            for slo in slos:
                lines += ["", f"The indicator is also the status of the SLO {md.inline(slo.title)}."]
            return lines
        if rule.kind == "slo_burn":
            slo = self.slos[rule.source]
            assert rule.burn is not None
            window = rules.slo_window(self.model, slo)
            budget = rule.burn.error_budget
            text = [md.inline(slo.description or slo.title), "",
                    f"The objective is {number(slo.objective or 0)}% over {md.code(window)}, so the "
                    f"error budget is {number(budget)} ({human(budget, 'ratio')}) of all events. A burn "
                    "rate of 1 spends exactly the budget over the window; the page tiers fire when "
                    "it would be gone in days, the ticket tiers when it would run out before the "
                    "window ends."]
            return text
        if rule.kind == "baseline":
            return [md.markup("Each baseline profile has an expected range (operations guide, "
                              "Baselines). A profile running outside it for long means a regression "
                              "(a deploy, a driver, a noisy neighbour) or hardware that no longer "
                              "matches its profile label.")]
        if rule.kind == "target_down":
            return [md.inline(rule.description), "",
                    md.markup("While a target cannot be scraped its series go stale: alerts on it "
                              "stop firing and its SLOs go blind. Fix scraping first.")]
        return [md.inline(rule.description), "",
                md.markup("Without these series every alert and SLO of the service is silent, "
                          "not healthy.")]

    def threshold_table(self, alert_rules: list[AlertRule]) -> Lines:
        first = alert_rules[0]
        if first.kind == "slo_burn":
            rows = []
            for rule in alert_rules:
                assert rule.burn is not None
                tier = rule.burn.tier
                rows.append((md.code(tier.name), md.code(tier.severity), number(tier.burn_rate) + "x",
                             md.code(tier.long_window), md.code(tier.short_window), md.code(tier.for_),
                             number(rule.burn.error_budget * rules.exact(tier.burn_rate))))
            guard = number(first.burn.min_event_rate) if first.burn else ""
            return [*md.table(["tier", "severity", "burn rate", "long window", "short window", "for",
                               "error ratio that fires"], rows), "",
                    f"Both windows must exceed the burn rate, and the long window must see at least "
                    f"{guard} events/s (low-traffic guard)."]
        if first.condition is None:
            return [f"Fires when {md.code(first.expr)} has held for {md.code(first.for_)}."]
        cond_rows: list[tuple[str, ...]] = []
        for rule in alert_rules:
            cond = rule.condition
            assert cond is not None
            what = self.model.indicators[cond.indicator].spec.title if cond.indicator else cond.query
            cond_rows.append((md.inline(what), md.code(cond.op), number(cond.threshold),
                              md.inline(human(cond.threshold, cond.unit)), md.code(rule.for_),
                              md.code(rule.severity)))
        lines = md.table(["indicator", "op", "threshold", "reads as", "for", "severity"], cond_rows)
        extra = first.guard
        if extra is not None:
            title = self.model.indicators[extra.indicator].spec.title if extra.indicator else extra.query
            lines += ["", f"Only while {md.inline(title)} {md.code(extra.op)} {number(extra.threshold)} "
                          "(guard: no alert on an idle service)."]
        return lines

    def rule_block(self, rule: AlertRule, path: str) -> Lines:
        return [*md.fence(rule.expr, "promql"), "",
                md.link("Open in Prometheus", graph_url(self.model, rule.expr)) + " · defined in " +
                md.code(self.rule_file(rule)), ""]

    def rule_file(self, rule: AlertRule) -> str:
        if id(rule) in self.rule_files:
            return self.rule_files[id(rule)]
        for group in self.groups:
            if rule in group.alerts:
                return conventions.rules_path(self.spec.service.name, group.key)
        raise KeyError(rule.alert)

    def checks(self, rule: AlertRule) -> list[Query]:
        queries: list[Query] = []
        job = {"job": self.spec.service.job}
        if rule.kind == "threshold":
            alert = self.alert_specs[rule.source]
            queries.append(self.indicator_query(alert.indicator))
            if alert.guard:
                queries.append(self.indicator_query(alert.guard.indicator))
        elif rule.kind == "slo_burn":
            slo = self.slos[rule.source]
            only = {conventions.SLO_LABEL: slo.name}
            tiers = self.spec.slo_policy.tiers
            windows = sorted({w for t in tiers for w in (t.long_window, t.short_window)},
                             key=promql.parse_duration)
            for window in windows:
                series = conventions.slo_burn_rate_record(window)
                queries.append(Query(f"Burn rate over {window}", _select(series, only), series))
            period = rules.slo_window(self.model, slo)
            remaining = conventions.slo_budget_remaining_record(period)
            queries.append(Query(f"Error budget left over {period}", _select(remaining, only), remaining))
            queries.append(self.indicator_query(slo.status.indicator, f"SLO status: {slo.status.indicator}"))
        elif rule.kind == "baseline":
            assert rule.condition is not None and rule.condition.indicator is not None
            queries.append(self.indicator_query(rule.condition.indicator))
        elif rule.kind == "target_down":
            queries.append(Query("Targets and their scrape state (1 up, 0 down)", _select("up", job)))
            queries.append(Query("Seconds each scrape took", _select("scrape_duration_seconds", job)))
        else:
            queries.append(Query("Targets and their scrape state (1 up, 0 down)", _select("up", job)))
            queries.append(Query("Series each target exported in its last scrape",
                                 _select("scrape_samples_scraped", job)))
        runbook = self.linked_runbook(rule)
        if runbook is not None:
            for check in runbook.checks:
                if check.indicator is not None:
                    queries.append(self.indicator_query(check.indicator, check.title))
                elif check.expr is not None:
                    queries.append(Query(check.title, check.expr.strip()))
        unique: dict[str, Query] = {}
        for query in queries:
            unique.setdefault(query.expr, query)
        return list(unique.values())

    def linked_runbook(self, rule: AlertRule) -> Runbook | None:
        name: str | None = None
        if rule.kind == "threshold":
            name = self.alert_specs[rule.source].runbook
        elif rule.kind == "slo_burn":
            name = self.slos[rule.source].runbook
        elif rule.kind == "baseline":
            name = {"ttft": "high_latency", "latency": "high_latency",
                    "token_rate": "low_throughput"}.get(rule.source)
            # Seed runbook names are a convention, not a contract: use them only if the spec has them.
        return self.model.runbooks.get(name) if name else None

    def causes(self, rule: AlertRule) -> Lines:
        runbook = self.linked_runbook(rule)
        if runbook is not None:
            return md.bullets(
                (f"**{md.inline(c.cause)}**: {md.inline(c.confirm)}" for c in runbook.causes), numbered=True)
        if rule.kind == "target_down":
            return md.bullets(md.markup(text) for text in (
                "The service process is down or restarting (check its logs and restarts).",
                f"The target address or port changed; Prometheus scrapes "
                f"`{self.spec.service.metrics_path}` on each target of job `{self.spec.service.job}`.",
                "A network policy or firewall blocks Prometheus.",
                f"Scrapes time out (limit `{self.spec.service.scrape_timeout}`); "
                "see the scrape duration check.",
            ))
        if rule.kind == "metrics_absent":
            return md.bullets(md.markup(text) for text in (
                "The instrumentation middleware or metrics router is not installed in the app.",
                "Multi-worker servers without prometheus_client multiprocess mode export empty metrics.",
                "The scrape job or its targets are missing from the Prometheus config.",
            ))
        return [md.markup("The spec links no runbook to this alert; add `runbook:` to it in the spec "
                          "to list likely causes here.")]

    def actions(self, rule: AlertRule) -> Lines:
        lines: Lines = []
        if rule.kind == "threshold":
            alert = self.alert_specs[rule.source]
            lines += md.bullets((md.inline(a) for a in alert.actions), numbered=True)
        elif rule.kind == "slo_burn":
            lines += md.bullets(md.markup(text) for text in (
                "Page tiers: treat as an incident; find the failing requests with the checks above "
                "and stop the bleeding (roll back, shed load, scale).",
                "Ticket tiers: the budget will run out before the window ends; plan the fix "
                "this week.",
            ))
        elif rule.kind == "target_down":
            lines += md.bullets([md.markup("Restore the target, then confirm `up` is 1 again.")])
        elif rule.kind == "metrics_absent":
            lines += md.bullets([md.markup("Install the generated instrumentation (see the operations "
                                           "guide, Deployment) and confirm the metrics endpoint "
                                           "serves the series.")])
        runbook = self.linked_runbook(rule)
        if runbook is not None:
            lines += ["", f"Solutions from the {md.inline(runbook.title)} runbook:", "",
                      *md.bullets(md.inline(s) for s in runbook.solutions)]
        return lines

    def escalation(self, team: Team) -> Lines:
        return [
            f"- Owner: {_team_line(team)}, notified by {_receiver(team)}; Alertmanager routes on the "
            f"{md.code(conventions.TEAM_LABEL)} label and repeats every {md.code(team.repeat_interval)} "
            "while it fires.",
            f"- Escalation: {md.inline(team.escalation)}",
        ]

    def related(self, path: str, alert_rules: list[AlertRule]) -> Lines:
        guide = _rel(path, GUIDE_PATH)
        files = dict.fromkeys(self.rule_file(r) for r in alert_rules)
        lines = [f"- {md.link('Operations guide', guide)}"]
        lines += [f"- Rules: {md.link(md.inline(f), _rel(path, f))}" for f in files]
        return lines

    # --- operations guide ---------------------------------------------------------------------

    def guide(self) -> str:
        service = self.spec.service
        blocks: list[Lines] = [
            [f"# {md.inline(service.title)}: operations guide", "",
             md.markup(f"Generated from `{self.model.source}` together with the rules, dashboards and "
                       "Alertmanager routes, so it always describes what is deployed. Change the spec, "
                       "not this file."), "",
             md.inline(f"Prometheus: {service.prometheus_url} (every query below links there)."),
             ""],
            self.contents(),
            self.deployment(),
            self.metrics_catalog(),
            self.queries_section(),
            self.slo_section(),
            self.alert_section(),
            self.baselines_section(),
            self.dashboards_section(),
            self.checklists_section(),
            self.tuning_section(),
            self.support_section(),
            self.retention_section(),
            self.compliance_section(),
        ]
        return md.document(self.model.header, blocks)

    def contents(self) -> Lines:
        titles = ["Deployment", "Metrics catalog", "Queries", "SLOs", "Alerts", "Baselines",
                  "Dashboards", "Checklists", "Tuning scenarios", "Support matrix", "Retention",
                  "Security and compliance"]
        return md.bullets(md.link(t, "#" + t.lower().replace(" ", "-")) for t in titles)

    def deployment(self) -> Lines:
        service = self.spec.service
        files = [
            (conventions.PYTHON_MODULE_PATH, "instrumentation module: copy it into the service"),
            (conventions.PROMETHEUS_CONFIG_PATH, f"scrape job {service.job}, rule files, Alertmanager"),
            (conventions.ALERTMANAGER_CONFIG_PATH, "routes and receivers per team"),
            *[(conventions.dashboard_path(d.uid), f"Grafana dashboard {d.title}")
              for d in self.spec.dashboards],
        ]
        code = ("from ryot_metrics import RyotMetricsMiddleware, metrics_router, InferenceMetricsContext\n\n"
                "app.add_middleware(RyotMetricsMiddleware)\n"
                f"app.include_router(metrics_router)              # GET {service.metrics_path}\n\n"
                f'with InferenceMetricsContext(model="{self.first_model()}") as m:\n'
                "    ...                                          # m.first_token(), m.tokens(n)")
        return [*md.heading(2, "Deployment"),
                *md.table(["file", "what"], [(md.link(md.inline(p), _rel(GUIDE_PATH, p)), md.inline(w))
                                             for p, w in files]), "",
                *md.fence(code, "python")]

    def first_model(self) -> str:
        values = self.spec.labels.get("model")
        return values.values[0] if values and values.values else "my-model"

    def metrics_catalog(self) -> Lines:
        targets = len(self.spec.service.targets)
        rows = []
        total = 0
        for info in self.model.metrics.values():
            metric = info.spec
            total += info.series_estimate * targets
            rows.append((md.code(metric.name), metric.type, md.inline(metric.unit or ""),
                         ", ".join(md.code(label) for label in metric.labels), str(info.series_estimate),
                         md.inline(metric.help)))
        label_rows = []
        for name, label_set in self.spec.labels.items():
            values = ", ".join(md.code(v) for v in label_set.values) or md.inline(
                f"{label_set.bounded_by or ''} (at most {label_set.max_values})")
            fallback = md.code(label_set.fallback) if label_set.fallback else "none (closed)"
            label_rows.append((md.code(name), values, fallback, md.inline(label_set.description)))
        budget = self.spec.cardinality
        return [*md.heading(2, "Metrics catalog"),
                *md.table(["metric", "type", "unit", "labels", "series per target", "help"], rows), "",
                f"At most {total} series across {targets} target(s) (budget "
                f"{budget.max_series_total}; {budget.max_series_per_metric} per metric).", "",
                *md.heading(3, "Label values"),
                md.markup("Values outside a closed set are recorded as the fallback, so no input can "
                          "create new series."), "",
                *md.table(["label", "values", "fallback", "meaning"], label_rows)]

    def queries_section(self) -> Lines:
        recorded = [i for i in self.model.indicators.values() if i.record]
        on_demand = [i for i in self.model.indicators.values() if not i.record]
        lines = [*md.heading(2, "Queries"),
                 md.markup("Every indicator of the spec in its corrected form. Recorded ones are "
                           "evaluated by Prometheus continuously; query the recorded series for speed."),
                 ""]
        lines += md.table(["indicator", "title", "recorded as", "unit"],
                          [(md.code(i.name), md.inline(i.spec.title),
                            md.code(i.record) if i.record else "on demand", md.inline(i.spec.unit))
                           for i in self.model.indicators.values()])
        lines += ["", *md.heading(3, "Essential queries (recorded)")]
        for info in recorded:
            lines += self.indicator_block(info)
        lines += md.heading(3, "Debugging and review queries (on demand)")
        for info in on_demand:
            lines += self.indicator_block(info)
        return lines

    def indicator_block(self, info: IndicatorInfo) -> Lines:
        query = Query(info.spec.title, info.expr, info.record)
        lines = self.query_block(query, GUIDE_PATH, level=4)
        if info.spec.description:
            lines[2:2] = [md.inline(info.spec.description), ""]
        return lines

    def slo_section(self) -> Lines:
        policy = self.spec.slo_policy
        rows = []
        for slo in self.spec.slos:
            status = slo.status
            unit = self.model.indicators[status.indicator].spec.unit
            objective = f"{number(slo.objective)}%" if slo.objective is not None else "status only"
            window = md.code(rules.slo_window(self.model, slo)) if slo.sli else ""
            budget = number(rules.error_budget(slo)) if slo.sli else ""
            rows.append((md.inline(slo.title), objective, window, budget,
                         f"{md.code(status.indicator)} {md.code(status.op)} {number(status.threshold)} "
                         f"({md.inline(human(status.threshold, unit))})",
                         _team_line(self.team(slo.team))))
        tiers = [(md.code(t.name), md.code(t.severity), number(t.burn_rate) + "x", md.code(t.long_window),
                  md.code(t.short_window), md.code(t.for_)) for t in policy.tiers]
        lines = [*md.heading(2, "SLOs"),
                 *md.table(["SLO", "objective", "window", "error budget", "status (1 meeting, 0 violated)",
                            "team"], rows), "",
                 *md.heading(3, "Burn-rate tiers"),
                 md.markup(f"Every SLO with an SLI alerts when both windows of a tier burn the error budget "
                           f"faster than the tier's rate, with at least {policy.min_event_rate} events/s "
                           f"in the long window (default SLO window `{policy.window}`)."), "",
                 *md.table(["tier", "severity", "burn rate", "long window", "short window", "for"], tiers),
                 ""]
        for slo in self.spec.slos:
            status_expr = self.status_expr(slo)
            lines += self.query_block(Query(f"{slo.title}: status", status_expr), GUIDE_PATH, level=3)
        return lines

    def status_expr(self, slo: SLO) -> str:
        info = self.model.indicators[slo.status.indicator]
        return f"{info.query} {slo.status.op} bool {promql.format_number(rules.exact(slo.status.threshold))}"

    def alert_section(self) -> Lines:
        rows = []
        for alert in self.spec.alerts:
            name = self.model.alert_name(alert.name)
            info = self.model.indicators[alert.indicator]
            rows.append((self.runbook_link(GUIDE_PATH, name), md.inline(alert.title),
                         f"{md.inline(info.spec.title)} {md.code(alert.op)} {number(alert.threshold)}",
                         md.inline(human(alert.threshold, info.spec.unit)), md.code(alert.for_),
                         md.code(alert.severity), md.code(alert.team),
                         md.inline("; ".join(alert.actions))))
        others = []
        for name, alert_rules in self.alerts.items():
            first = alert_rules[0]
            if first.kind == "threshold":
                continue
            others.append((self.runbook_link(GUIDE_PATH, name), md.inline(self.alert_title(first)),
                           ", ".join(dict.fromkeys(md.code(r.severity) for r in alert_rules)),
                           md.code(first.team), str(len(alert_rules))))
        return [*md.heading(2, "Alerts"),
                *md.heading(3, "Alert thresholds"),
                *md.table(["alert", "title", "condition", "reads as", "for", "severity", "team", "action"],
                          rows), "",
                *md.heading(3, "Generated alerts"),
                md.markup("SLO burn rates, baseline deviations and scrape health; each links its runbook."),
                "",
                *md.table(["alert", "what", "severity", "team", "rules"], others)]

    def baselines_section(self) -> Lines:
        baselines = self.spec.baselines
        lines = md.heading(2, "Baselines")
        if baselines is None:
            return [*lines, md.markup("The spec defines no baseline profiles.")]
        rows = [self.profile_row(p) for p in baselines.profiles]
        targets = [(md.code(t.address), md.code(t.labels.get(baselines.profile_label, "")))
                   for t in self.spec.service.targets]
        checks = [(quantity, getattr(baselines, quantity)) for quantity in ("ttft", "latency", "token_rate")]
        lines += [*md.table(["profile", "TTFT", "total latency", "token rate", "GPU memory",
                             "success ratio"], rows), ""]
        notes = [f"**{md.inline(p.title)}**: {md.inline(p.note)}" for p in baselines.profiles if p.note]
        if notes:
            lines += [*md.bullets(notes), ""]
        lines += [md.markup(f"Targets carry their profile in the `{baselines.profile_label}` label; "
                            "deviation alerts compare each profile with its own range."), "",
                  *md.table(["target", baselines.profile_label], targets), "",
                  *md.table(["quantity", "indicator", "for", "alert"],
                            [(md.inline(q), md.code(c.indicator), md.code(c.for_),
                              self.deviation_link(q))
                             for q, c in checks])]
        return lines

    def deviation_link(self, quantity: str) -> str:
        return self.runbook_link(GUIDE_PATH, conventions.deviation_alert(self.model.prefix, quantity))

    def profile_row(self, profile: BaselineProfile) -> tuple[str, ...]:
        gpu = _range(profile.gpu_memory_bytes, "bytes")
        if profile.gpu_memory_note:
            gpu = f"{gpu} {md.inline(profile.gpu_memory_note)}".strip() if not gpu else (
                f"{gpu}; {md.inline(profile.gpu_memory_note)}")
        return (f"{md.inline(profile.title)} ({md.code(profile.name)})",
                _range(profile.ttft_seconds, "seconds"), _range(profile.latency_seconds, "seconds"),
                _range(profile.token_rate, "tokens_per_second"), gpu,
                f"at least {number(profile.success_ratio_min)} "
                f"({human(profile.success_ratio_min, 'ratio')})")

    def dashboards_section(self) -> Lines:
        lines = md.heading(2, "Dashboards")
        for dash in self.spec.dashboards:
            path = conventions.dashboard_path(dash.uid)
            lines += [*md.heading(3, dash.title),
                      f"{md.link(md.inline(path), _rel(GUIDE_PATH, path))} · uid {md.code(dash.uid)} · "
                      f"refresh {md.code(dash.refresh)} · last {md.code(dash.time_from)}", ""]
            rows = []
            for row in dash.rows:
                for panel in row.panels:
                    queries = "<br>".join(
                        md.code(self.model.indicators[t.indicator].query) for t in panel.targets)
                    thresholds = ", ".join(f"{t.color} from {number(t.value)}" for t in panel.thresholds)
                    rows.append((md.inline(row.title), md.inline(panel.title), panel.type, queries,
                                 md.code(panel.unit) if panel.unit else "", thresholds,
                                 md.code(panel.baseline) if panel.baseline else ""))
            lines += [*md.table(["row", "panel", "type", "queries", "unit", "thresholds", "baseline"], rows),
                      ""]
        return lines

    def checklists_section(self) -> Lines:
        lines = md.heading(2, "Checklists")
        for checklist in self.spec.guide.checklists:
            lines += md.heading(3, checklist.title)
            for item in checklist.items:
                lines.append(f"- [ ] {md.inline(item.text)}")
                expr = (self.model.indicators[item.indicator].expr if item.indicator
                        else item.expr.strip() if item.expr else None)
                if expr is not None:
                    lines += ["", *md.fence(expr, "promql", indent="  "), "",
                              "  " + md.link("Open in Prometheus", graph_url(self.model, expr)), ""]
            lines.append("")
        return lines

    def tuning_section(self) -> Lines:
        lines = md.heading(2, "Tuning scenarios")
        for index, scenario in enumerate(self.spec.guide.tuning_scenarios, start=1):
            lines += [*md.heading(3, f"Scenario {index}: {scenario.title}"),
                      f"**Observed:** {md.inline(scenario.observed)}", "",
                      "**Investigation:**", "",
                      *md.bullets((md.inline(i) for i in scenario.investigation), numbered=True), "",
                      "**Actions:**", "", *md.bullets(md.inline(a) for a in scenario.actions), "",
                      f"**Result:** {md.inline(scenario.result)}", ""]
        return lines

    def support_section(self) -> Lines:
        rows = []
        for entry in self.spec.support:
            team = self.team(entry.team)
            queries = "<br>".join(md.code(self.model.indicators[i].query) for i in entry.indicators)
            rows.append((md.inline(entry.issue), md.inline(entry.metrics), queries, _team_line(team),
                         md.inline(team.escalation)))
        teams = [(_team_line(t), _receiver(t), md.code(t.repeat_interval), md.inline(t.escalation))
                 for t in self.spec.teams]
        return [*md.heading(2, "Support matrix"),
                *md.table(["issue", "metrics to check", "queries", "escalate to", "escalation"], rows), "",
                *md.heading(3, "Teams"),
                *md.table(["team", "notified by", "repeat", "escalation"], teams)]

    def retention_section(self) -> Lines:
        retention = self.spec.retention
        return [*md.heading(2, "Retention"),
                *md.bullets([
                    f"Raw samples: {md.code(retention.raw)}; start Prometheus with "
                    f"{md.code('--storage.tsdb.retention.time=' + retention.raw)}.",
                    f"Aggregates: {md.code(retention.aggregates)}; the recorded series are evaluated "
                    f"every {md.code(retention.aggregate_interval)} for long-term storage.",
                ])]

    def compliance_section(self) -> Lines:
        compliance = self.spec.guide.compliance
        lines = md.heading(2, "Security and compliance")
        for title, items in (("Access control", compliance.access_control), ("Privacy", compliance.privacy)):
            if items:
                lines += [*md.heading(3, title), *md.bullets(md.inline(i) for i in items), ""]
        lines += [*md.heading(3, "Label safety"),
                  md.markup("Metric labels take only the closed values listed in the metrics catalog "
                            "(model names, error types, ...); requests, prompts and users never become "
                            "label values.")]
        return lines


def _select(metric: str, matchers: dict[str, str]) -> str:
    return queries.selector(metric, dict(matchers))


def _distinct_exprs(alert_rules: Iterable[AlertRule]) -> list[AlertRule]:
    seen: dict[str, AlertRule] = {}
    for rule in alert_rules:
        seen.setdefault(rule.expr, rule)
    return list(seen.values())
