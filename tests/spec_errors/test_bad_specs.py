"""Bad specs: every one exits 2 with FILE:LINE:COL and a message a person can act on, and
leaves the output folder untouched.

Each case edits a copy of a real spec (the minimal one unless it says otherwise), so the
line it expects is found from the edit, not hard-coded.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ryotgen.cli import app
from ryotgen.loader import MAX_BYTES
from tests.conftest import DEFAULT_SPEC, MINIMAL_SPEC

runner = CliRunner()


@dataclass(frozen=True)
class Case:
    old: str  # text replaced (first occurrence); "" appends `new` at the end
    new: str
    message: str  # a fragment (regex) the error must contain
    line_offset: int = 0  # the error's line relative to the first line of `new`
    spec: Path = MINIMAL_SPEC
    at: str | None = None  # or: the error is on the line where this text starts in the edited spec


CASES = [
    pytest.param(Case("labels: [model, outcome]", "labels: [model, outcome", "YAML syntax error", 1),
                 id="an unclosed flow sequence is a YAML syntax error"),
    pytest.param(Case("    type: counter\n    help: Completion requests.",
                      "    type: counter\n\thelp: Completion requests.", "tab character", 1),
                 id="a tab used for indentation is named as such"),
    pytest.param(Case("    help: Completion requests.",
                      "    help: Completion requests.\n    help: Again.", "duplicate key 'help'", 1),
                 id="a duplicate key is reported at the second one"),
    pytest.param(Case("metrics:\n", "cardinalty: {}\nmetrics:\n", "did you mean 'cardinality'"),
                 id="an unknown top-level key suggests the closest one"),
    pytest.param(Case("    help: Completion requests.", "    hepl: Completion requests.",
                      "unknown key 'hepl' in metrics\\[0\\]; did you mean 'help'"),
                 id="a misspelt metric key suggests the right one"),
    pytest.param(Case("    help: Completion requests.\n", "", "metrics\\[0\\] is missing the required key 'help'",
                      at="  - name: acme_requests_total"),
                 id="a missing key in a list item is reported at the item"),
    pytest.param(Case("  scrape_interval: 30s", "  scrape_interval: 30", "valid string"),
                 id="a number where a duration string belongs is a type error"),
    pytest.param(Case("  scrape_interval: 30s", "  scrape_interval: 30 seconds", "Prometheus duration"),
                 id="a duration in words is rejected with the expected form"),
    pytest.param(Case("    type: counter", "    type: countr", "expected 'counter', 'gauge' or 'histogram'"),
                 id="an unknown metric type lists the valid ones"),
    pytest.param(Case("  - name: acme_waiting_requests",
                      "  - {name: acme_restarts, type: counter, help: Restarts.}\n  - name: acme_waiting_requests",
                      "should end in _total"),
                 id="a counter without _total fails the naming lint"),
    pytest.param(Case("    buckets: [0.1, 0.25, 1, 4, 16, 64]", "    buckets: [0.1, 0.25, 1, 1, 16, 64]",
                      "buckets must increase strictly"),
                 id="histogram buckets must increase strictly"),
    pytest.param(Case("    buckets: [0.1, 0.25, 1, 4, 16, 64]\n", "", "needs `buckets`",
                      at="    type: histogram"),
                 id="a histogram without buckets is told to add them"),
    pytest.param(Case("    labels: [model, outcome]", "    labels: [model, outcom]",
                      "unknown label set 'outcom'; did you mean 'outcome'"),
                 id="a metric naming an undefined label set gets a suggestion"),
    pytest.param(Case("labels:\n  model:", "labels:\n  le:\n    description: x\n    values: [a]\n  model:",
                      "reserved by Prometheus", 1),
                 id="le cannot be a label name"),
    pytest.param(Case("values: [mistral-7b]", "values: ['mistral\"}7b']", "label values may use"),
                 id="a label value that would break out of a PromQL string is rejected"),
    pytest.param(Case("values: [mistral-7b]", 'values: ["mistral\\n7b"]', "label values may use"),
                 id="a label value with a newline is rejected"),
    pytest.param(Case("    indicator: waiting_max", "    indicator: waiting_maxx",
                      "unknown indicator 'waiting_maxx'; did you mean 'waiting_max'"),
                 id="an alert naming a missing indicator gets a suggestion"),
    pytest.param(Case("    severity: warning\n    team: llm_oncall", "    severity: warning\n    team: sre",
                      "unknown team 'sre'", 1),
                 id="an alert naming a missing team is a dangling reference"),
    pytest.param(Case("    window: 28d\n    team: llm_oncall", "    window: 28d\n    team: nobody",
                      "unknown team 'nobody'", 1),
                 id="an SLO naming a missing team is a dangling reference"),
    pytest.param(Case("    threshold: 16", "    threshold: 15", "15.0 is not a bucket boundary"),
                 id="a latency alert threshold must be a histogram bucket boundary"),
    pytest.param(Case("      threshold: 4", "      threshold: 3", "not a bucket boundary"),
                 id="a latency SLO threshold must be a histogram bucket boundary"),
    pytest.param(Case("    expr: sum(rate(acme_output_tokens_total[10m]))",
                      "    expr: sum(rate(acme_output_tokens_total[10m])) by",
                      "expr: parse error"),
                 id="raw PromQL that does not parse is reported"),
    pytest.param(Case("    expr: sum(rate(acme_output_tokens_total[10m]))",
                      "    expr: sum(rate(acme_output_tokenz_total[10m]))", "acme_output_tokens_total"),
                 id="raw PromQL naming an unknown metric suggests the closest"),
    pytest.param(Case("    expr: sum(rate(acme_output_tokens_total[10m]))",
                      "    expr: sum(rate(acme_waiting_requests[10m]))", "gauge"),
                 id="raw PromQL taking rate of a gauge is rejected"),
    pytest.param(Case("    expr: sum(rate(acme_output_tokens_total[10m])) / sum(rate(acme_requests_total[10m]))",
                      "    expr: histogram_quantile(0.9, sum by (model) "
                      "(rate(acme_request_duration_seconds_bucket[5m])))", "le"),
                 id="raw PromQL dropping le before histogram_quantile is rejected"),
    pytest.param(Case("    numerator: {metric: acme_requests_total, matchers: {outcome: failed}}",
                      "    numerator: {metric: acme_requests_total, matchers: {outcome: broken}}",
                      "'broken' is not a value of label 'outcome'"),
                 id="a matcher value outside the closed label set is rejected"),
    pytest.param(Case("    numerator: {metric: acme_requests_total, matchers: {outcome: failed}}",
                      "    numerator: {metric: acme_requests_total, matchers: {result: failed}}",
                      "has no label 'result'"),
                 id="a matcher on a label the metric lacks is rejected"),
    pytest.param(Case("  - name: acme_output_tokens_total", "  - name: acme_requests_total",
                      "defined twice"),
                 id="two metrics with one name are rejected"),
    pytest.param(Case("  - name: request_rate", "  - name: failure_ratio", "defined twice"),
                 id="two indicators with one name are rejected"),
    pytest.param(Case("    window: 28d", "    window: 28d\n    surprise: 1", "unknown key 'surprise'", 1),
                 id="an unknown key inside an SLO is reported at the key"),
    pytest.param(Case("metrics:\n", "cardinality: {max_series_per_metric: 10}\nmetrics:\n",
                      "acme_request_duration_seconds may create 18 series, over the budget of 10",
                      at="  - name: acme_request_duration_seconds"),
                 id="a metric over the series budget fails the build"),
    pytest.param(Case("version: 1", "version: 2", "expected 1"),
                 id="an unknown spec version is rejected"),
    pytest.param(Case("      threshold: 4", "      threshold: 4\n    objective_typo: 3",
                      "unknown key 'objective_typo'", 1),
                 id="unknown keys in nested SLO sections are found too"),
    pytest.param(Case("    unit: tokens\n", "    unit: tokens\n    waivers: [{rule: counter_suffix, "
                      "reason: Because the seed says so.}]\n", "waiver 'counter_suffix' is not needed", 1),
                 id="a waiver for a rule the metric passes is flagged"),
    pytest.param(Case("    help: Completion requests.", "    help: \"Completion\\x07requests.\"",
                      "control character"),
                 id="help text with a control character is rejected"),
    pytest.param(Case("    by: [model]\n    unit: seconds", "    by: [region, gpu]\n    unit: seconds",
                      "cannot aggregate by 'gpu'"),
                 id="an indicator grouping by a label nothing has is rejected"),
    pytest.param(Case("    objective: 90\n", "", "needs an `objective`", at="  - name: fast_completions"),
                 id="an SLO with an SLI needs an objective"),
    pytest.param(Case("  title: Acme chat completions", "  title: no", "valid string.*quote"),
                 id="a bare no is a YAML boolean and the error says to quote it"),
    pytest.param(Case("dashboards:", "x: &a [1, 2]\ny:\n  <<: {b: 1}\ndashboards:", "merge keys", 2),
                 id="YAML merge keys are rejected"),
    pytest.param(Case("dashboards:", "x: !!python/object/apply:os.system ['true']\ndashboards:",
                      "unsupported YAML tag"),
                 id="python object tags are refused, not executed"),
    pytest.param(Case("      - {title: P95 time to first token, indicator: ttft_p95}",
                      "      - {title: P95 time to first token, indicator: ttft_p9}",
                      "unknown indicator 'ttft_p9'; did you mean 'ttft_p95'", spec=DEFAULT_SPEC),
                 id="a runbook check in the default spec naming a missing indicator"),
    pytest.param(Case("      labels: {profile: multi-gpu, environment: production}",
                      "      labels: {profile: multi-gpus, environment: production}",
                      "unknown baseline profile 'multi-gpus'", spec=DEFAULT_SPEC),
                 id="a target labelled with an unknown baseline profile"),
    pytest.param(Case("      latency_seconds: {min: 0.1, max: 0.5}", "      latency_seconds: {min: 0.1, max: 0.6}",
                      "baseline upper bound 0.6 is not a bucket boundary", spec=DEFAULT_SPEC),
                 id="a baseline latency bound must be a bucket boundary"),
]


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An output folder holding one file ryotgen owns, which a failed build must not touch."""
    folder = tmp_path / "generated"
    (folder / "prometheus").mkdir(parents=True)
    (folder / "prometheus" / "old.yml").write_text("# generated by ryotgen from x, do not edit\n")
    return folder


@pytest.mark.parametrize("case", CASES)
def test_bad_spec_is_reported_with_its_line(case: Case, tmp_path: Path, out: Path) -> None:
    text = case.spec.read_text()
    if case.old:
        assert case.old in text, "the case no longer matches its spec; update the case"
        at = text.index(case.old)
        edited = text[:at] + case.new + text[at + len(case.old):]
    else:
        at = len(text)
        edited = text + case.new
    line = text[:at].count("\n") + 1 + case.line_offset
    if case.at is not None:
        line = edited[:edited.index(case.at)].count("\n") + 1
    spec = tmp_path / "spec.yaml"
    spec.write_text(edited)
    before = _digest(out)

    result = runner.invoke(app, ["build", "--spec", str(spec), "--out", str(out)])

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    problems = [p for p in result.output.splitlines() if p.startswith(f"{spec}:")]
    matching = [p for p in problems if re.search(case.message, p)]
    assert matching, f"no problem matches {case.message!r}:\n{result.output}"
    assert any(re.match(rf"{re.escape(str(spec))}:{line}:\d+: ", p) for p in matching), (
        f"expected line {line}:\n{result.output}")
    assert _digest(out) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("", "the spec is empty", id="an empty file"),
        pytest.param("- version: 1\n", "must be a mapping", id="a list instead of a mapping"),
        pytest.param("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                     + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
                               for p, c in zip("abcdefg", "bcdefgh", strict=True)),
                     "alias bomb", id="an alias bomb stops early"),
        pytest.param("version: 1\n\x00", "control|not UTF-8|special characters", id="a NUL byte"),
        pytest.param("\xff\xfe", "not UTF-8", id="not UTF-8"),
        pytest.param("x" * (MAX_BYTES + 1), "limit is", id="a file over the size limit"),
    ],
)
def test_unusable_files_get_one_clear_problem(content: str, message: str, tmp_path: Path, out: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(content.encode("latin-1") if content == "\xff\xfe" else content.encode())
    result = runner.invoke(app, ["validate", "--spec", str(spec)])
    assert result.exit_code == 2, result.output
    assert re.search(message, result.output), result.output
    assert re.match(rf"{re.escape(str(spec))}:\d+:\d+: ", result.output)


def test_a_missing_spec_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["validate", "--spec", str(missing)])
    assert result.exit_code == 2
    assert f"{missing}:1:1: cannot read the spec" in result.output


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL_SPEC.read_text().replace("team: llm_oncall", "team: nobody")
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = runner.invoke(app, ["validate", "--spec", str(spec)])
    assert result.exit_code == 2
    assert result.output.count("unknown team 'nobody'") == text.count("team: nobody")
