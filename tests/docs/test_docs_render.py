"""Runbooks and the operations guide: complete, linked, valid PromQL, exact numbers, safe Markdown."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from typer.testing import CliRunner

from ryotgen import conventions, pipeline, promql, rules
from ryotgen.cli import app
from ryotgen.model import Model
from ryotgen.promql_check import Series, check
from ryotgen.render import docs
from tests.conftest import DEFAULT_SPEC, MINIMAL_SPEC

SPECS = [pytest.param(DEFAULT_SPEC, id="default spec"), pytest.param(MINIMAL_SPEC, id="minimal spec")]
FENCE = re.compile(r"^( *)(`{3,})promql\n(.*?)^\1\2$", re.S | re.M)


def load(spec: Path) -> Model:
    return pipeline.load_model(spec, spec.parent.parent / "generated")


def rendered(spec: Path) -> tuple[Model, dict[str, str]]:
    model = load(spec)
    return model, docs.render(model)


def promql_blocks(text: str) -> list[str]:
    return ["\n".join(line.removeprefix(m.group(1)) for line in m.group(3).splitlines())
            for m in FENCE.finditer(text)]


def catalog(model: Model) -> dict[str, Series]:
    """Spec metrics, recorded indicators and every series the generated rules record."""
    known = dict(model.catalog)
    for group in rules.build(model):
        for rec in group.recordings:
            labels = frozenset(rec.labels) | model.target_labels
            if rec.indicator:
                labels |= model.indicators[rec.indicator].labels
            known.setdefault(rec.record, Series(rec.record, "recorded", labels))
    for extra in ("scrape_duration_seconds", "scrape_samples_scraped"):
        known[extra] = Series(extra, "gauge", model.target_labels)
    return known


@pytest.mark.parametrize("spec", SPECS)
def test_every_alert_has_a_runbook_and_every_runbook_url_resolves(spec: Path) -> None:
    model, files = rendered(spec)
    groups = rules.build(model)
    alert_rules = rules.alert_rules(groups)
    assert alert_rules
    for group in groups:
        rules_file = conventions.rules_path(model.spec.service.name, group.key)
        for rule in group.alerts:
            assert conventions.runbook_path(rule.alert) in files, rule.alert
            target = posixpath.normpath(posixpath.join(posixpath.dirname(rules_file), rule.runbook_url))
            assert target == conventions.runbook_path(rule.alert), rule.runbook_url
    runbooks = {p for p in files if p.startswith("docs/runbooks/")}
    assert runbooks == {conventions.runbook_path(r.alert) for r in alert_rules}, "no orphan runbooks"


def test_runbook_urls_use_the_configured_base_url(tmp_path: Path) -> None:
    data = yaml.safe_load(MINIMAL_SPEC.read_text(encoding="utf-8"))
    data["service"]["runbook_base_url"] = "https://runbooks.example.com/acme/"
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    model = pipeline.load_model(spec)
    files = docs.render(model)
    for rule in rules.alert_rules(rules.build(model)):
        base, _, path = rule.runbook_url.partition("/acme/")
        assert base == "https://runbooks.example.com" and path in files


@pytest.mark.parametrize("spec", SPECS)
def test_every_promql_block_parses_and_names_only_known_series(spec: Path) -> None:
    model, files = rendered(spec)
    known = catalog(model)
    count = 0
    for path, text in files.items():
        for expr in promql_blocks(text):
            assert check(expr, known) == [], f"{path}: {expr}"
            count += 1
    assert count > len(files)


@pytest.mark.parametrize("spec", SPECS)
def test_every_prometheus_link_opens_the_query_shown_above_it(spec: Path) -> None:
    model, files = rendered(spec)
    base = model.spec.service.prometheus_url
    for path, text in files.items():
        for block in FENCE.finditer(text):
            after = text[block.end():block.end() + 4000]
            url = re.search(r"\[Open in Prometheus\]\((\S+?)\)", after)
            assert url, f"{path}: no link after a query"
            parts = urlsplit(url.group(1))
            assert url.group(1).startswith(base + "/graph?")
            expr = promql_blocks(block.group(0))[0]
            assert parse_qs(parts.query)["g0.expr"] == [expr]


def _row(text: str, marker: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith("|") and marker in line]
    assert len(rows) == 1, f"expected one table row with {marker!r}"
    return rows[0]


def test_guide_shows_every_seed_alert_threshold_in_its_row() -> None:
    model, files = rendered(DEFAULT_SPEC)
    guide = files[docs.GUIDE_PATH]
    assert len(model.spec.alerts) == 6
    for alert in model.spec.alerts:
        row = _row(guide, f"[{model.alert_name(alert.name)}]")
        assert f"`{promql.format_number(rules.exact(alert.threshold))}`" in row
        assert f"`{alert.op}`" in row and f"`{alert.for_}`" in row


def test_guide_shows_every_baseline_number_in_its_profile_row() -> None:
    model, files = rendered(DEFAULT_SPEC)
    guide = files[docs.GUIDE_PATH]
    assert model.spec.baselines is not None
    for profile in model.spec.baselines.profiles:
        row = _row(guide, f"(`{profile.name}`)")
        numbers = [profile.success_ratio_min]
        for bounds in (profile.ttft_seconds, profile.latency_seconds, profile.token_rate,
                       profile.gpu_memory_bytes):
            if bounds is not None:
                numbers += [v for v in (bounds.min, bounds.max) if v is not None]
        for value in numbers:
            assert f"`{promql.format_number(rules.exact(value))}`" in row, (profile.name, value)
        if profile.gpu_memory_note:
            assert profile.gpu_memory_note in row


def test_guide_shows_every_slo_tier_and_checklist_item() -> None:
    model, files = rendered(DEFAULT_SPEC)
    guide = files[docs.GUIDE_PATH]
    for tier in model.spec.slo_policy.tiers:
        row = _row(guide, f"| `{tier.name}` |")
        assert f"`{promql.format_number(rules.exact(tier.burn_rate))}`x" in row
    for checklist in model.spec.guide.checklists:
        for item in checklist.items:
            assert f"- [ ] {item.text}" in guide.replace("\\", "")


@pytest.mark.parametrize("spec", SPECS)
def test_docs_start_with_the_header_and_are_stable(spec: Path) -> None:
    model, files = rendered(spec)
    assert files == docs.render(load(spec))
    for text in files.values():
        assert text.startswith(f"<!-- {model.header} -->\n")
        assert text.endswith("\n") and not text.endswith("\n\n")


HOSTILE = "Pipe | tick ` <script>alert(1)</script> [x](javascript:alert(1)) *bold*\n# heading"


def test_hostile_spec_text_cannot_break_tables_or_inject_markup(tmp_path: Path) -> None:
    data = yaml.safe_load(MINIMAL_SPEC.read_text(encoding="utf-8"))
    alert = data["alerts"][0]
    alert.update(title="T | itle `x`", summary="Sum | mary ` {{ $value }}", description=HOSTILE,
                 actions=[HOSTILE])
    data["teams"][0]["escalation"] = HOSTILE
    data["metrics"][0]["help"] = "Help | with ` backtick <b>"
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    files = docs.render(pipeline.load_model(spec))
    for path, text in files.items():
        assert "<script>" not in text and "<b>" not in text, path
        assert re.search(r"(?<!\\)\]\(javascript:", text) is None, path
        assert "\n# heading" not in text, path
        for table in re.findall(r"(?:^\|.*\|\n)+", text, re.M):
            lines = table.splitlines()
            widths = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
            assert len(widths) == 1, f"{path}: a cell split a row:\n{table}"


def test_check_catches_a_hand_edit_to_a_generated_doc(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "generated"
    built = runner.invoke(app, ["build", "--spec", str(DEFAULT_SPEC), "--out", str(out)])
    assert built.exit_code == 0, built.output
    runbook = sorted((out / "docs" / "runbooks").glob("*.md"))[0]
    runbook.write_text(runbook.read_text(encoding="utf-8").replace("## Checks", "## Checks (edited)"),
                       encoding="utf-8")
    result = runner.invoke(app, ["check", "--spec", str(DEFAULT_SPEC), "--out", str(out)])
    assert result.exit_code == 1
    assert f"docs/runbooks/{runbook.name}" in result.output
    assert "(edited)" in result.output
