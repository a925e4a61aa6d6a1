"""The spec: pydantic models that mirror `specs/ryot.yaml` one to one.

Field rules live here (types, patterns, ranges); rules that span fields or sections
(references, bucket boundaries, cardinality) live in `ryotgen.model`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

# Every pattern a field may fail, with what to tell the person who wrote the value.
PATTERN_HINTS: dict[str, str] = {}


def _pattern(regex: str, hint: str) -> str:
    PATTERN_HINTS[regex] = hint
    return regex


DURATION = _pattern(r"^([0-9]+(ms|s|m|h|d|w|y))+$",
                    "expected a Prometheus duration such as 30s, 5m, 1h30m, 14d or 1y")
NAME = _pattern(r"^[a-z][a-z0-9_]*$",
                "expected a snake_case name: a lower-case letter, then lower-case letters, digits or _")
SLUG = _pattern(r"^[a-z0-9][a-z0-9-]*$", "expected lower-case letters, digits and dashes")
PROM_NAME = _pattern(r"^[a-zA-Z_][a-zA-Z0-9_]*$",
                     "expected a Prometheus name: letters, digits and _, not starting with a digit")
LABEL_VALUE = _pattern(r"^[A-Za-z0-9][A-Za-z0-9_.:+/-]*$",
                       "label values may use letters, digits and _ . : + / - only "
                       "(no quotes, spaces or newlines), starting with a letter or digit")
HOST_PORT = _pattern(r"^[A-Za-z0-9][A-Za-z0-9.-]*:[0-9]{1,5}$", "expected host:port, e.g. 127.0.0.1:8000")
PREFIX = _pattern(r"^[a-z][a-z0-9]*_$", "expected a lower-case prefix ending in _, e.g. ryot_")
URL_PATH = _pattern(r"^/[A-Za-z0-9/_.-]*$", "expected an absolute URL path such as /metrics")
HTTP_URL = _pattern(r"^https?://[A-Za-z0-9.:/_%?=&-]+$", "expected an http(s) URL without spaces or quotes")
BASE_URL = _pattern(r"^([A-Za-z0-9+.-]+://[A-Za-z0-9.:/_%-]*)?$",
                    "expected an absolute URL (or empty for relative links)")
FILE_PATH = _pattern(r"^/[A-Za-z0-9._/-]+$", "expected an absolute file path (secrets are read from files)")
WORD = _pattern(r"^[a-z]+$", "expected one lower-case word, e.g. seconds")
GRAFANA_UNIT = _pattern(r"^[a-z0-9]+$", "expected a Grafana unit id such as s, percentunit, short, bytes")
SLACK_CHANNEL = _pattern(r"^#[a-z0-9_-]+$", "expected a Slack channel such as #ml-oncall")
EMAIL = _pattern(r"^[^@\s]+@[^@\s]+$", "expected an e-mail address")

Duration = Annotated[str, StringConstraints(pattern=DURATION)]
# snake_case handles for things the spec refers to by name.
Name = Annotated[str, StringConstraints(pattern=NAME, max_length=80)]
# Slugs end up in URLs, uids and label values.
Slug = Annotated[str, StringConstraints(pattern=SLUG, max_length=60)]
# Colons are reserved for recording rules, so spec metric and label names have none.
MetricName = Annotated[str, StringConstraints(pattern=PROM_NAME, max_length=120)]
LabelName = Annotated[str, StringConstraints(pattern=PROM_NAME, max_length=60)]
# Label values reach PromQL, YAML and Python source; keep them to a safe alphabet.
LabelValue = Annotated[str, StringConstraints(pattern=LABEL_VALUE, max_length=100)]
HostPort = Annotated[str, StringConstraints(pattern=HOST_PORT)]
Comparison = Literal[">", ">=", "<", "<="]
Severity = Literal["critical", "warning", "info"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


Title = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Line = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Prose = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class StrictModel(BaseModel):
    """Base: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: object) -> object:
        # Tabs and newlines are fine in prose; other control bytes only hide mistakes.
        if isinstance(value, str) and _CONTROL.search(value):
            raise ValueError("contains a control character; remove it")
        return value


# --- service -----------------------------------------------------------------------------


class ScrapeTarget(StrictModel):
    """One scrape target and the labels Prometheus attaches to its series."""

    address: HostPort = Field(description="host:port Prometheus scrapes.")
    labels: dict[LabelName, LabelValue] = Field(
        default_factory=dict,
        description="Target labels, e.g. the baseline `profile` it runs and its `environment`.",
    )


class Service(StrictModel):
    """The inference service being monitored and how Prometheus reaches it."""

    name: Slug = Field(description="Short service name; used in uids, file names and titles.")
    title: Title = Field(description="Human title for dashboards and docs.")
    metric_prefix: str = Field(
        pattern=PREFIX, description="Prefix every metric name starts with, e.g. ryot_."
    )
    job: Slug = Field(description="Prometheus scrape job name (the `job` label).")
    metrics_path: str = Field(default="/metrics", pattern=URL_PATH,
                              description="HTTP path the instrumentation serves metrics on.")
    scrape_interval: Duration = Field(default="15s", description="How often Prometheus scrapes the targets.")
    scrape_timeout: Duration = Field(default="10s", description="Scrape timeout; at most scrape_interval.")
    evaluation_interval: Duration = Field(
        default="15s", description="How often Prometheus evaluates recording and alerting rules."
    )
    targets: list[ScrapeTarget] = Field(min_length=1, description="The instances to scrape.")
    alertmanagers: list[HostPort] = Field(
        default_factory=lambda: ["127.0.0.1:9093"], description="Alertmanager host:port list."
    )
    external_labels: dict[LabelName, LabelValue] = Field(
        default_factory=dict,
        description="Labels Prometheus adds to everything it sends out (federation, alerts).",
    )
    prometheus_url: str = Field(
        default="http://127.0.0.1:9090",
        pattern=HTTP_URL,
        description="Where people open Prometheus; runbooks link their queries there.",
    )
    runbook_base_url: str = Field(
        default="",
        pattern=BASE_URL,
        description="Base URL of the generated runbooks; empty means links relative to the rules.",
    )


# --- labels and metrics ------------------------------------------------------------------


class LabelSet(StrictModel):
    """The closed set of values one label may take; anything else becomes the fallback."""

    description: Prose = Field(description="What the label distinguishes.")
    values: list[LabelValue] = Field(
        default_factory=list, description="Every value the instrumentation may emit."
    )
    fallback: LabelValue | None = Field(
        default="other",
        description="Value used for anything outside `values`; null when `values` is exhaustive.",
    )
    bounded_by: str | None = Field(
        default=None,
        description="For labels whose values come from code (e.g. route templates): why they are bounded.",
    )
    max_values: int | None = Field(
        default=None, ge=1, le=10000,
        description="With `bounded_by`: the most distinct values, used for the cardinality estimate.",
    )

    @model_validator(mode="after")
    def _closed_or_bounded(self) -> LabelSet:
        if not self.values and not (self.bounded_by and self.max_values):
            raise ValueError("give `values`, or both `bounded_by` and `max_values`")
        if len(set(self.values)) != len(self.values):
            raise ValueError("`values` has duplicates")
        if self.fallback is not None and self.fallback in self.values:
            raise ValueError(f"fallback {self.fallback!r} is also listed in `values`")
        return self


LintRule = Literal["counter_suffix", "unit_suffix", "base_unit"]


class Waiver(StrictModel):
    """An explicit, reasoned exception to one naming rule."""

    rule: LintRule = Field(description="The naming rule waived.")
    reason: str = Field(min_length=10, max_length=500, description="Why the rule does not apply.")


class Metric(StrictModel):
    """One metric the instrumentation module exports."""

    name: MetricName = Field(description="Full metric name, starting with the service's metric_prefix.")
    type: Literal["counter", "gauge", "histogram"] = Field(description="Prometheus metric type.")
    help: str = Field(min_length=1, max_length=500, description="HELP text; one line.")
    unit: str | None = Field(
        default=None,
        pattern=WORD,
        description="Unit the name ends with: seconds, bytes, ratio, tokens, ... (base units).",
    )
    labels: list[LabelName] = Field(default_factory=list, description="Label set names.")
    buckets: list[float] | None = Field(
        default=None, description="Histogram bucket upper bounds, strictly increasing (no +Inf)."
    )
    multiprocess_mode: Literal["livesum", "sum", "max", "min", "mostrecent", "all"] = Field(
        default="livesum",
        description="Gauges only: how worker processes combine in prometheus_client multiprocess mode.",
    )
    waivers: list[Waiver] = Field(
        default_factory=list, description="Naming-lint rules this metric is exempt from."
    )

    @field_validator("help")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value.strip():
            raise ValueError("help must be a single line")
        return value.strip()


class Cardinality(StrictModel):
    """Series budgets; the build fails when the estimate exceeds them."""

    max_series_per_metric: int = Field(
        default=1000, ge=1, description="Most series one metric may create per target."
    )
    max_series_total: int = Field(
        default=10000, ge=1, description="Most series all metrics together may create across all targets."
    )


# --- indicators --------------------------------------------------------------------------


class Selector(StrictModel):
    """A metric and equality (or set) label matchers."""

    metric: MetricName = Field(description="A metric from `metrics` (without _bucket/_sum/_count).")
    matchers: dict[LabelName, LabelValue | list[LabelValue]] = Field(
        default_factory=dict, description="label: value, or label: [values] for any of them."
    )


class _IndicatorBase(StrictModel):
    name: Name = Field(description="Handle SLOs, alerts, panels and runbooks refer to it by.")
    title: Title = Field(description="Human title.")
    description: str | None = Field(default=None, description="What it shows, for the docs.")
    unit: Literal["seconds", "ratio", "percent", "tokens_per_second", "requests_per_second",
                  "per_second", "count", "bytes", "none"] = Field(
        default="none", description="Unit of the result, for docs and dashboard defaults."
    )
    by: list[LabelName] = Field(default_factory=list, description="Labels kept by the aggregation.")
    record: bool = Field(default=True, description="Emit a recording rule for it.")


class RatioIndicator(_IndicatorBase):
    """sum(rate(numerator)) / sum(rate(denominator)), zero traffic guarded."""

    kind: Literal["ratio"]
    numerator: Selector
    denominator: Selector
    window: Duration = Field(default="5m", description="Range of the rate() window.")


class RateIndicator(_IndicatorBase):
    """Per-second rate of a counter, summed."""

    kind: Literal["rate"]
    counter: Selector
    window: Duration = Field(default="5m", description="Range of the rate() window.")


class QuantileIndicator(_IndicatorBase):
    """A histogram quantile, buckets summed before the quantile is taken."""

    kind: Literal["quantile"]
    histogram: Selector
    quantile: float = Field(gt=0, lt=1, description="Quantile to compute, e.g. 0.95.")
    window: Duration = Field(default="5m", description="Range of the rate() window.")


class MeanIndicator(_IndicatorBase):
    """Mean observation of a histogram: rate of _sum over rate of _count."""

    kind: Literal["mean"]
    histogram: Selector
    window: Duration = Field(default="5m", description="Range of the rate() window.")


class GaugeIndicator(_IndicatorBase):
    """A gauge aggregated across series."""

    kind: Literal["gauge"]
    gauge: Selector
    aggregation: Literal["avg", "sum", "max", "min"] = Field(
        default="avg", description="How series are combined."
    )


class TopkIndicator(_IndicatorBase):
    """The k largest series of another indicator (debugging views)."""

    kind: Literal["topk"]
    of: Name = Field(description="Indicator to rank.")
    k: int = Field(default=5, ge=1, le=100, description="How many series to keep.")


class ExprIndicator(_IndicatorBase):
    """Escape hatch: raw PromQL. It must parse and may name only spec metrics or recorded series."""

    kind: Literal["expr"]
    expr: str = Field(min_length=1, max_length=4000, description="The PromQL expression.")


Indicator = Annotated[
    RatioIndicator
    | RateIndicator
    | QuantileIndicator
    | MeanIndicator
    | GaugeIndicator
    | TopkIndicator
    | ExprIndicator,
    Field(discriminator="kind"),
]


# --- SLOs --------------------------------------------------------------------------------


class BurnRateTier(StrictModel):
    """One multi-window burn-rate alert tier (Google SRE workbook, chapter 5)."""

    name: Slug = Field(description="Stable tier label value, e.g. page-1h.")
    severity: Severity = Field(
        description="Severity label of the tier's alert (critical pages, warning tickets)."
    )
    burn_rate: float = Field(
        gt=0, description="Budget burn rate that fires, e.g. 14.4 (x the sustainable rate)."
    )
    long_window: Duration = Field(description="Window the burn rate must exceed the rate over, e.g. 1h.")
    short_window: Duration = Field(
        description="Second, shorter window that must agree, so the alert resets fast."
    )
    for_: Duration = Field(default="0s", alias="for", description="How long both windows must burn first.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _default_tiers() -> list[BurnRateTier]:
    rows = [
        ("page-1h", "critical", 14.4, "1h", "5m", "2m"),
        ("page-6h", "critical", 6.0, "6h", "30m", "15m"),
        ("ticket-1d", "warning", 3.0, "1d", "2h", "1h"),
        ("ticket-3d", "warning", 1.0, "3d", "6h", "3h"),
    ]
    return [
        BurnRateTier.model_validate(
            {"name": n, "severity": s, "burn_rate": b, "long_window": lw, "short_window": sw, "for": f}
        )
        for n, s, b, lw, sw, f in rows
    ]


class SLOPolicy(StrictModel):
    """Defaults shared by every SLO."""

    window: Duration = Field(default="30d", description="Default SLO (error budget) window.")
    tiers: list[BurnRateTier] = Field(
        default_factory=_default_tiers,
        min_length=1,
        description="Burn-rate alert tiers every SLO with an `sli` gets.",
    )
    min_event_rate: float = Field(
        default=0.01,
        ge=0,
        description="Low-traffic guard: burn-rate alerts need at least this many events/s "
        "in the long window, so a handful of requests on an idle service cannot page.",
    )


class EventsSLI(StrictModel):
    """Bad events over all events, both counters."""

    kind: Literal["events"]
    errors: Selector
    total: Selector


class LatencySLI(StrictModel):
    """Requests slower than `threshold` are bad; good events are the `le` bucket, so it is exact."""

    kind: Literal["latency"]
    histogram: Selector
    threshold: float = Field(gt=0, description="Seconds; must be one of the histogram's buckets.")


class IndicatorCondition(StrictModel):
    """`indicator op threshold`: an SLO's simple status (1 while it holds, else 0) or an
    alert's guard (an extra condition, e.g. enough traffic to judge)."""

    indicator: Name = Field(description="Indicator compared.")
    op: Comparison = Field(description="Holds while `indicator op threshold`.")
    threshold: float = Field(description="In the indicator's unit.")


class SLO(StrictModel):
    """A service level objective."""

    name: Name = Field(description="Handle; the `slo` label of its series and alerts.")
    title: Title = Field(description="Human title.")
    description: str | None = Field(default=None, description="What the objective promises.")
    objective: float | None = Field(
        default=None, gt=0, lt=100,
        description="Target in percent, e.g. 99.9; required with an `sli`.",
    )
    window: Duration | None = Field(default=None, description="Defaults to slo_policy.window.")
    team: Name = Field(description="Team that owns the SLO and its burn-rate alerts.")
    sli: EventsSLI | LatencySLI | None = Field(
        default=None,
        discriminator="kind",
        description="Event-ratio SLI for error budgets and burn-rate alerts; omit for status-only SLOs.",
    )
    status: IndicatorCondition = Field(
        description="The seed's simple status expression (1 meeting, 0 violated).")
    runbook: Name | None = Field(default=None, description="Runbook (from `runbooks`) its alerts link to.")

    @model_validator(mode="after")
    def _objective_with_sli(self) -> SLO:
        if self.sli is not None and self.objective is None:
            raise ValueError("an SLO with an `sli` needs an `objective` (percent, e.g. 99.9)")
        if self.sli is None and self.objective is not None:
            raise ValueError("`objective` needs an `sli` to measure it against; add one or drop it")
        return self


# --- alerts and runbooks -----------------------------------------------------------------


class Alert(StrictModel):
    """A threshold alert on an indicator."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: Name = Field(description="snake_case; the alert is named Ryot + CamelCase of this.")
    title: Title = Field(description="Name used in the seed's alert table.")
    indicator: Name = Field(description="Indicator the threshold applies to.")
    op: Comparison = Field(description="Fires while `indicator op threshold` holds.")
    threshold: float = Field(description="In the indicator's unit (a ratio 0.05, not 5%).")
    for_: Duration = Field(
        default="5m", alias="for", description="How long the condition must hold before firing."
    )
    severity: Severity = Field(description="critical pages; warning and info notify.")
    team: Name = Field(description="Owning team; routes the notification.")
    summary: Line = Field(description="One line; plain text (template braces are escaped).")
    description: Prose = Field(description="What is wrong and why it matters; plain text.")
    actions: list[str] = Field(min_length=1, description="What to do, in order.")
    runbook: Name | None = Field(default=None, description="Shared runbook (common issue) to link.")
    guard: IndicatorCondition | None = Field(
        default=None, description="Extra condition the alert needs, e.g. enough traffic to judge.")


class Check(StrictModel):
    """A query to run while diagnosing: an indicator, or raw PromQL."""

    title: Line = Field(description="What this shows.")
    indicator: Name | None = Field(default=None, description="Indicator to query.")
    expr: str | None = Field(default=None, max_length=4000, description="Raw PromQL instead of an indicator.")

    @model_validator(mode="after")
    def _one_source(self) -> Check:
        if (self.indicator is None) == (self.expr is None):
            raise ValueError("give exactly one of `indicator` or `expr`")
        return self


class Cause(StrictModel):
    """A likely cause and the check that confirms it."""

    cause: Line = Field(description="The cause.")
    confirm: Line = Field(description="How to confirm it.")


class Runbook(StrictModel):
    """A common issue: checks, likely causes and solutions."""

    name: Name = Field(description="Handle alerts and SLOs refer to it by.")
    title: Title = Field(description="Issue title.")
    checks: list[Check] = Field(min_length=1, description="Queries to run first.")
    causes: list[Cause] = Field(min_length=1, description="Likely causes, most likely first.")
    solutions: list[str] = Field(min_length=1, description="What fixes it.")


# --- baselines ---------------------------------------------------------------------------


class Range(StrictModel):
    """An expected range; either end may be open."""

    min: float | None = Field(default=None, description="Lower bound; omit for none.")
    max: float | None = Field(default=None, description="Upper bound; omit for none.")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class BaselineProfile(StrictModel):
    """Expected performance of one deployment profile (targets carry it as a label)."""

    name: LabelValue = Field(description="Profile name, as targets carry it in the profile label.")
    title: Title = Field(description="Human title.")
    ttft_seconds: Range
    latency_seconds: Range
    token_rate: Range = Field(description="Generated tokens per second.")
    gpu_memory_bytes: Range | None = Field(default=None, description="GPU memory in use, bytes.")
    gpu_memory_note: str | None = Field(
        default=None, max_length=200, description="GPU memory as the docs show it."
    )
    success_ratio_min: float = Field(gt=0, le=1, description="Lowest expected success ratio, e.g. 0.999.")
    note: str | None = Field(default=None, max_length=500, description="Anything else worth knowing.")


class DeviationCheck(StrictModel):
    """Which per-profile indicator a baseline range is compared with."""

    indicator: Name = Field(description="Must aggregate `by` the profile label.")
    for_: Duration = Field(
        default="15m", alias="for", description="How long a deviation lasts before it alerts."
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Baselines(StrictModel):
    """Baseline profiles and the deviation alerts derived from them."""

    profile_label: LabelName = Field(
        default="profile", description="Target label naming the profile a target runs."
    )
    team: Name = Field(description="Team that owns deviation alerts.")
    ttft: DeviationCheck = Field(description="Compares TTFT with ttft_seconds.")
    latency: DeviationCheck = Field(description="Compares latency with latency_seconds.")
    token_rate: DeviationCheck = Field(description="Compares the token rate with token_rate.")
    profiles: list[BaselineProfile] = Field(min_length=1, description="Expected performance per profile.")


# --- dashboards --------------------------------------------------------------------------


class PanelTarget(StrictModel):
    """One query of a panel."""

    indicator: Name = Field(description="Indicator to plot (its recorded series when it has one).")
    legend: str | None = Field(default=None, max_length=120, description="Legend; {{label}} allowed.")


class Threshold(StrictModel):
    """A colour step of a panel."""

    value: float = Field(description="From this value up.")
    color: Literal["green", "yellow", "orange", "red", "blue", "purple"] = Field(
        description="Colour of the step."
    )


class Panel(StrictModel):
    """A dashboard panel showing one or more indicators."""

    title: Title = Field(description="Panel title.")
    description: str | None = Field(default=None, max_length=500, description="Panel tooltip.")
    type: Literal["timeseries", "stat", "gauge", "table", "bargauge"] = Field(
        default="timeseries", description="Grafana panel type."
    )
    targets: list[PanelTarget] = Field(min_length=1, description="Queries, one per indicator.")
    unit: str | None = Field(
        default=None, pattern=GRAFANA_UNIT, description="Grafana unit; defaults from the indicator."
    )
    thresholds: list[Threshold] = Field(default_factory=list, description="Colour steps, ascending.")
    baseline: Literal["ttft_seconds", "latency_seconds", "token_rate"] | None = Field(
        default=None, description="Draw every baseline profile's range of this quantity."
    )
    width: int = Field(default=12, ge=1, le=24, description="Width in grid columns (24 per row).")
    height: int = Field(default=8, ge=2, le=40, description="Height in grid units.")


class Row(StrictModel):
    """A dashboard row of panels."""

    title: Title = Field(description="Row title.")
    collapsed: bool = Field(default=False, description="Start collapsed.")
    panels: list[Panel] = Field(min_length=1, description="Panels, laid out left to right.")


class Dashboard(StrictModel):
    """A Grafana dashboard."""

    uid: Slug = Field(description="Stable Grafana uid; also the file name.")
    title: Title = Field(description="Dashboard title.")
    tags: list[Slug] = Field(default_factory=list, description="Grafana tags.")
    refresh: Duration = Field(default="30s", description="Auto-refresh interval.")
    time_from: Duration = Field(default="6h", description="Default time range, back from now.")
    variables: list[LabelName] = Field(
        default_factory=list, description="Label template variables every query filters on."
    )
    rows: list[Row] = Field(min_length=1, description="Rows of panels, top to bottom.")
    slo_row: bool = Field(
        default=True,
        description="Add the generated SLO row (status, error budget left, burn rate of every "
        "SLO) after the first row.",
    )


# --- teams and routing -------------------------------------------------------------------


class Receiver(StrictModel):
    """Where a team's notifications go. Secrets are files, never inline."""

    webhook_url: str | None = Field(default=None, pattern=HTTP_URL, description="Webhook receiver URL.")
    webhook_url_file: str | None = Field(
        default=None, pattern=FILE_PATH,
        description="File holding the webhook URL (Alertmanager 0.26 or later reads `url_file`).",
    )
    slack_api_url_file: str | None = Field(default=None, pattern=FILE_PATH,
                                           description="File holding the Slack webhook URL.")
    slack_channel: str | None = Field(
        default=None, pattern=SLACK_CHANNEL, description="Slack channel to post to."
    )
    email_to: str | None = Field(default=None, pattern=EMAIL, description="E-mail address to notify.")
    pagerduty_routing_key_file: str | None = Field(
        default=None, pattern=FILE_PATH, description="File holding the PagerDuty routing key."
    )

    @model_validator(mode="after")
    def _something(self) -> Receiver:
        if not any(getattr(self, f) for f in type(self).model_fields):
            raise ValueError("give at least one destination (webhook_url, slack_channel, ...)")
        if bool(self.slack_channel) != bool(self.slack_api_url_file):
            raise ValueError("slack_channel and slack_api_url_file go together")
        return self


class Team(StrictModel):
    """A team that owns alerts."""

    name: Name = Field(description="Handle alerts, SLOs and the support matrix refer to it by.")
    title: Title = Field(description="Human name.")
    receiver: Receiver
    escalation: Prose = Field(description="Who to escalate to, and when.")
    repeat_interval: Duration = Field(default="4h", description="How often a still-firing alert is re-sent.")


class Smtp(StrictModel):
    """The mail server Alertmanager sends e-mail through (its global smtp_* settings)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    smarthost: HostPort = Field(description="host:port of the SMTP server.")
    from_: str = Field(alias="from", pattern=EMAIL, description="Sender address.")
    auth_username: str | None = Field(default=None, max_length=200, description="SMTP login, if any.")
    auth_password_file: str | None = Field(
        default=None, pattern=FILE_PATH, description="File holding the SMTP password."
    )
    require_tls: bool = Field(default=True, description="Refuse to send without STARTTLS.")


class Notifications(StrictModel):
    """How Alertmanager groups, repeats and delivers notifications."""

    default_team: Name | None = Field(
        default=None, description="Receives alerts that carry no team label; defaults to the first team."
    )
    group_by: list[LabelName] = Field(
        default_factory=lambda: ["alertname", "slo", "model"],
        description="One notification per distinct value set: an SLO's burn-rate tiers arrive "
        "together, a model's alert separately from another model's.",
    )
    group_wait: Duration = Field(default="30s", description="Wait to batch a new group's first alerts.")
    group_interval: Duration = Field(default="5m", description="Wait before notifying a group's changes.")
    resolve_timeout: Duration = Field(
        default="5m", description="Alertmanager marks an alert resolved when not updated for this long."
    )
    smtp: Smtp | None = Field(default=None, description="Required when a team receives e-mail.")


class SupportEntry(StrictModel):
    """A row of the support matrix."""

    issue: Title = Field(description="Issue.")
    metrics: Line = Field(description="Metrics to check.")
    indicators: list[Name] = Field(min_length=1, description="Queries to run.")
    team: Name = Field(description="Team to escalate to.")


# --- operations guide --------------------------------------------------------------------


class ChecklistItem(StrictModel):
    """One thing to check, with an optional query."""

    text: Line = Field(description="What to do.")
    indicator: Name | None = Field(default=None, description="Indicator to query.")
    expr: str | None = Field(default=None, max_length=4000, description="Raw PromQL instead of an indicator.")


class Checklist(StrictModel):
    """A routine checklist of the operations guide."""

    name: Name = Field(description="Handle.")
    title: Title = Field(description="Title, e.g. Morning (9 AM).")
    items: list[ChecklistItem] = Field(min_length=1, description="Items in order.")


class TuningScenario(StrictModel):
    """A worked performance-tuning example."""

    title: Title = Field(description="Scenario title.")
    observed: Line = Field(description="What was observed.")
    investigation: list[str] = Field(min_length=1, description="Questions asked and their answers.")
    actions: list[str] = Field(min_length=1, description="Changes made.")
    result: Prose = Field(description="Outcome and trade-offs.")


class Retention(StrictModel):
    """How long data is kept (Prometheus flags and long-term aggregate rules)."""

    raw: Duration = Field(
        default="14d", description="Raw samples (Prometheus --storage.tsdb.retention.time)."
    )
    aggregates: Duration = Field(default="1y", description="Long-term aggregate series.")
    aggregate_interval: Duration = Field(
        default="5m", description="Evaluation interval of the long-term aggregate rules."
    )


class Compliance(StrictModel):
    """Security and compliance statements for the operations guide."""

    access_control: list[str] = Field(default_factory=list, description="Who may reach what.")
    privacy: list[str] = Field(default_factory=list, description="What the metrics do and do not contain.")


class Guide(StrictModel):
    """Prose of the operations guide that is not derived from rules."""

    checklists: list[Checklist] = Field(default_factory=list, description="Daily and weekly routines.")
    tuning_scenarios: list[TuningScenario] = Field(
        default_factory=list, description="Worked tuning examples."
    )
    compliance: Compliance = Field(default_factory=Compliance)


# --- scale-out: Kubernetes and the two-tier Prometheus layout ----------------------------

K8S_NAME = _pattern(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
                    "expected a Kubernetes name: lower-case letters, digits and dashes, "
                    "starting and ending with a letter or digit")
K8S_LABEL_KEY = _pattern(r"^([a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$",
                         "expected a Kubernetes label key such as app or app.kubernetes.io/name")
K8S_LABEL_VALUE = _pattern(r"^([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?$",
                           "expected a Kubernetes label value: letters, digits, - _ . "
                           "(at most 63), starting and ending with a letter or digit")
PORT_NAME = _pattern(r"^[a-z]([a-z0-9-]*[a-z0-9])?$",
                     "expected a port name such as metrics or http-metrics: lower-case letters, "
                     "digits and dashes, starting with a letter")

K8sName = Annotated[str, StringConstraints(pattern=K8S_NAME, max_length=63)]
K8sLabelKey = Annotated[str, StringConstraints(pattern=K8S_LABEL_KEY, max_length=253)]
K8sLabelValue = Annotated[str, StringConstraints(pattern=K8S_LABEL_VALUE, max_length=63)]
K8sLabels = dict[K8sLabelKey, K8sLabelValue]


class Kubernetes(StrictModel):
    """prometheus-operator resources (kubernetes/): a PrometheusRule with the generated rule
    groups, a ServiceMonitor or PodMonitor, and a ConfigMap of dashboards for the Grafana sidecar."""

    namespace: K8sName = Field(
        description="Namespace of every generated manifest; the monitored Service or Pods live there too."
    )
    labels: K8sLabels = Field(
        default_factory=dict,
        description="Labels on every generated manifest, e.g. app.kubernetes.io/part-of.",
    )
    rule_selector_labels: K8sLabels = Field(
        default_factory=dict,
        description="Labels the Prometheus resource's `ruleSelector` matches (e.g. release: "
        "kube-prometheus-stack); put on the PrometheusRule so the operator loads it.",
    )
    monitor: Literal["service", "pod"] = Field(
        default="service",
        description="`service`: a ServiceMonitor selecting the Service by `selector_labels`; "
        "`pod`: a PodMonitor selecting the Pods directly (no Service needed).",
    )
    monitor_selector_labels: K8sLabels = Field(
        default_factory=dict,
        description="Labels the Prometheus resource's `serviceMonitorSelector` or "
        "`podMonitorSelector` matches; put on the ServiceMonitor or PodMonitor.",
    )
    selector_labels: K8sLabels = Field(
        min_length=1, description="Labels of the Service (monitor: service) or Pods (monitor: pod) to scrape."
    )
    port: str = Field(
        pattern=PORT_NAME, max_length=15,
        description="Name of the metrics port on the Service (monitor: service) or container (monitor: pod).",
    )
    target_labels: list[LabelName] = Field(
        default_factory=list,
        description="Service or Pod labels copied onto every scraped series (e.g. the baseline "
        "`profile`), as the static targets' labels are outside Kubernetes.",
    )
    scrape_interval: Duration | None = Field(
        default=None, description="Scrape interval of the monitor; defaults to service.scrape_interval."
    )
    dashboard_labels: K8sLabels = Field(
        default_factory=lambda: {"grafana_dashboard": "1"},
        description="Labels on the dashboards ConfigMap; the Grafana sidecar (kube-prometheus-stack) "
        "loads ConfigMaps labelled grafana_dashboard: \"1\" by default.",
    )


class GlobalTier(StrictModel):
    """The global Prometheus: fleet-wide rules and alerts over the shards' recorded series."""

    mode: Literal["federation", "remote_write"] = Field(
        default="federation",
        description="`federation`: the global tier scrapes each shard's /federate for recorded "
        "(level:metric:operation) series only; `remote_write`: each shard pushes them to the "
        "global tier's /api/v1/write (needs --web.enable-remote-write-receiver there).",
    )
    address: HostPort = Field(description="host:port the global Prometheus listens on.")
    interval: Duration = Field(
        default="30s",
        description="How often the global tier federates from the shards and evaluates its rules.",
    )


class ScaleOut(StrictModel):
    """Two-tier Prometheus: N shards split the targets by hashmod and record per-instance
    series; a global tier re-aggregates them fleet-wide and alerts. Retention comes from
    `retention`: shards keep raw data for `raw`, the global tier keeps aggregates for `aggregates`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    shards: list[HostPort] = Field(
        min_length=1,
        description="host:port of each shard Prometheus, in shard order; their count N is the "
        "hashmod modulus, and shard i keeps the targets whose address hashes to i.",
    )
    global_: GlobalTier = Field(alias="global", description="The global tier.")

    @model_validator(mode="after")
    def _distinct_addresses(self) -> ScaleOut:
        addresses = [*self.shards, self.global_.address]
        if len(set(addresses)) != len(addresses):
            raise ValueError("every shard and the global tier need their own host:port")
        return self


# --- the whole spec ----------------------------------------------------------------------


class Spec(StrictModel):
    """ryotgen spec, version 1."""

    version: Literal[1] = Field(description="Spec format version; always 1 for now.")
    service: Service
    labels: dict[LabelName, LabelSet] = Field(description="Closed value sets, by label name.")
    cardinality: Cardinality = Field(default_factory=Cardinality)
    metrics: list[Metric] = Field(min_length=1)
    indicators: list[Indicator] = Field(
        default_factory=list, description="Named PromQL building blocks; each is one of the kinds below."
    )
    slo_policy: SLOPolicy = Field(default_factory=SLOPolicy)
    slos: list[SLO] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    runbooks: list[Runbook] = Field(default_factory=list)
    baselines: Baselines | None = None
    dashboards: list[Dashboard] = Field(default_factory=list)
    teams: list[Team] = Field(min_length=1)
    support: list[SupportEntry] = Field(default_factory=list)
    notifications: Notifications = Field(default_factory=Notifications)
    retention: Retention = Field(default_factory=Retention)
    guide: Guide = Field(default_factory=Guide)
    kubernetes: Kubernetes | None = Field(
        default=None, description="Emit prometheus-operator resources under kubernetes/; off when absent."
    )
    scale_out: ScaleOut | None = Field(
        default=None, description="Emit a sharded / global two-tier Prometheus layout; off when absent."
    )
