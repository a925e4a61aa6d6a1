"""promtool on what ryotgen generates: the committed generated/ and a build of the minimal spec."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from ryotgen import conventions, pipeline, rules
from ryotgen.render import prometheus
from tests.conftest import GENERATED, MINIMAL_SPEC, require_binary


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_binary("promtool"), *args], capture_output=True, text=True,
                          timeout=120, check=False)


def _write(spec: Path, out: Path) -> Path:
    """Only the Prometheus artifacts of `spec`, under out/prometheus."""
    for path, text in prometheus.render(pipeline.load_model(spec, out)).items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(text)
    return out / "prometheus"


@pytest.fixture(scope="module")
def minimal_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Only the Prometheus renderer: these tests must not depend on the other renderers.
    return _write(MINIMAL_SPEC, tmp_path_factory.mktemp("minimal") / "generated")


@pytest.fixture(params=["committed generated/", "minimal spec build"])
def folder(request: pytest.FixtureRequest, minimal_build: Path) -> Path:
    return GENERATED / "prometheus" if request.param == "committed generated/" else minimal_build


def test_promtool_check_config_accepts_the_scrape_config(folder: Path) -> None:
    result = _promtool("check", "config", str(folder / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    # rule_files is relative to the config's folder, so promtool found every rules file.
    assert f"SUCCESS: {len(list((folder / 'rules').glob('*.rules.yml')))} rule files found" in result.stdout


def test_promtool_check_rules_accepts_every_rules_file(folder: Path) -> None:
    files = sorted(str(p) for p in (folder / "rules").glob("*.rules.yml"))
    assert files
    result = _promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_runs_the_generated_unit_tests_green(folder: Path) -> None:
    files = sorted(str(p) for p in (folder / "tests").glob("*.test.yml"))
    assert len(files) == len(list((folder / "rules").glob("*.rules.yml")))
    result = _promtool("test", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def _tests_of(folder: Path) -> list[dict[str, object]]:
    return [test for path in sorted((folder / "tests").glob("*.test.yml"))
            for test in yaml.safe_load(path.read_text())["tests"]]


def test_every_alert_has_a_firing_and_a_silent_case(folder: Path) -> None:
    alerts = {rule["alert"] for path in (folder / "rules").glob("*.rules.yml")
              for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]
              if "alert" in rule}
    firing: set[str] = set()
    silent: set[str] = set()
    for test in _tests_of(folder):
        for case in test.get("alert_rule_test", []):  # type: ignore[attr-defined]
            (firing if case["exp_alerts"] else silent).add(case["alertname"])
    assert alerts and firing == alerts and silent == alerts


def test_every_slo_burn_test_names_the_tier_that_fires(folder: Path) -> None:
    names = [str(test["name"]) for test in _tests_of(folder)]
    for test in _tests_of(folder):
        match = re.search(r"burn trips (\S+)$", str(test["name"]))
        if match:
            fired = [a["exp_labels"][conventions.TIER_LABEL] for case in test["alert_rule_test"]  # type: ignore[index]
                     for a in case["exp_alerts"]]
            assert fired == [match.group(1)], test["name"]
    assert any("page" in n and "trips" in n for n in names)
    assert any("ticket" in n and "trips" in n for n in names)
    assert any("stays below every tier" in n for n in names)


@pytest.mark.parametrize("changed", ["> 16.5", "> 15.5"], ids=["threshold raised", "threshold lowered"])
def test_a_changed_threshold_fails_the_generated_tests(changed: str, tmp_path: Path) -> None:
    # The tests pin thresholds: rules that drift from the spec by a few percent fail them.
    out = _write(MINIMAL_SPEC, tmp_path)
    path = out / "rules" / "acme-alerts.rules.yml"
    text = path.read_text()
    assert "> 16\n" in text
    path.write_text(text.replace("> 16\n", changed + "\n"))
    result = _promtool("test", "rules", str(out / "tests" / "acme-alerts.test.yml"))
    assert result.returncode != 0
    assert "AcmeSlowCompletions" in result.stdout + result.stderr


HOSTILE = '{{ $labels.job }} {{ range $x := . }}{{ end }} }} {{{ "quoted" `back` {{/* c */}}'


def test_hostile_spec_text_reaches_the_annotations_literally(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    text = MINIMAL_SPEC.read_text()
    old = "summary: Twenty or more requests are waiting."
    assert old in text
    spec.write_text(text.replace(old, "summary: " + yaml.safe_dump(HOSTILE).splitlines()[0])
                    .replace("description: The server cannot keep up.",
                             "description: " + yaml.safe_dump("cost " + HOSTILE).splitlines()[0]))
    out = _write(spec, tmp_path / "generated")
    model = pipeline.load_model(spec)
    rule = next(r for r in rules.alert_rules(rules.build(model)) if r.source == "requests_waiting")
    assert rule.summary == HOSTILE
    # promtool renders the annotation templates and compares them with the literal spec text.
    result = _promtool("test", "rules", str(out / "tests" / "acme-alerts.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
