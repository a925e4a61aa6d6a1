"""The generated module as source: lint and strict typing, hostile spec text, other specs, roles."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from ryotgen import conventions
from ryotgen.errors import SpecError
from ryotgen.pipeline import load_model
from ryotgen.render import python as python_renderer
from ryotgen.templating import WIDTH, pystr, pytuple
from tests.conftest import DEFAULT_SPEC, MINIMAL_SPEC, ROOT
from tests.instrumentation.support import MODULE_PATH, import_file, parse, value

VENV_BIN = Path(sys.executable).parent
HOSTILE = 'He said """hi""" {{ spec.title }} {% if x %} \\x00 \\n \' " \\ # \u2028 end\\'
TEMPLATE = ROOT / "templates" / python_renderer.TEMPLATE


def write_module(tmp_path: Path, spec: Path, name: str) -> Path:
    text = python_renderer.render(load_model(spec))[conventions.PYTHON_MODULE_PATH]
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    return path


def hostile_spec(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEFAULT_SPEC.read_text())
    data["service"]["title"] = "Ryot\n'''\"\"\"{{ x }}"
    for metric in data["metrics"]:
        metric["help"] = HOSTILE + " " + metric["name"] + " " + "long " * 60
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def other_modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("modules")
    return {
        "hostile": write_module(tmp, hostile_spec(tmp), "ryot_metrics_hostile"),
        "minimal": write_module(tmp, MINIMAL_SPEC, "ryot_metrics_minimal"),
    }


def test_generated_modules_pass_ruff_and_mypy_strict(other_modules: dict[str, Path], tmp_path: Path) -> None:
    files = [str(MODULE_PATH), *map(str, other_modules.values())]
    ruff = subprocess.run([str(VENV_BIN / "ruff"), "check", "--no-cache", *files], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    for path in files:  # one module name per mypy run
        mypy = subprocess.run([str(VENV_BIN / "mypy"), "--strict", "--cache-dir", str(tmp_path / "mypy"), path],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert mypy.returncode == 0, mypy.stdout + mypy.stderr


def test_hostile_help_text_reaches_prometheus_exactly(other_modules: dict[str, Path]) -> None:
    module = import_file(other_modules["hostile"], "ryot_metrics_hostile")
    metrics = module.RyotMetrics(registry=CollectorRegistry())
    assert module.SERVICE == "Ryot\n'''\"\"\"{{ x }}"
    family = metrics.ryot_inference_requests_total
    # The spec keeps help as written, minus surrounding whitespace.
    assert family._documentation == (HOSTILE + " ryot_inference_requests_total " + "long " * 60).strip()
    text = metrics.exposition()[0].decode()
    assert {f.name: f.documentation for f in _families(text)}["ryot_ttft_latency_seconds"].startswith(HOSTILE)


def _families(text: str) -> list[Any]:
    from prometheus_client.parser import text_string_to_metric_families

    return list(text_string_to_metric_families(text))


def test_a_spec_without_the_seed_metrics_gets_a_working_module(other_modules: dict[str, Path]) -> None:
    module = import_file(other_modules["minimal"], "ryot_metrics_minimal")
    metrics = module.RyotMetrics(registry=CollectorRegistry())
    # Its metrics are defined as the spec says; calls for roles it lacks are no-ops.
    metrics.acme_requests_total.labels(model="mistral-7b", outcome="ok").inc()
    with pytest.raises(ValueError), module.InferenceMetricsContext("mistral-7b", metrics=metrics) as m:
        m.tokens(3)
        raise ValueError("bad prompt")
    metrics.record_http("GET", "/x", 200, 0.1)
    samples = parse(metrics.exposition()[0].decode())
    assert value(samples, "acme_requests_total", model="mistral-7b", outcome="ok") == 1
    # Closed counters are exported at 0 from the start; only the hand-made call counted.
    assert {name for (name, _), v in samples.items() if v} == {"acme_requests_total"}
    assert module.normalise("model", "gpt-9") == "other"


def test_closed_counters_are_exported_at_zero_before_any_request(other_modules: dict[str, Path]) -> None:
    module = import_file(other_modules["minimal"], "ryot_metrics_minimal_idle")
    samples = parse(module.RyotMetrics(registry=CollectorRegistry()).exposition()[0].decode())
    requests = {labels: v for (name, labels), v in samples.items() if name == "acme_requests_total"}
    # model: mistral-7b or the fallback `other`; outcome: ok or failed (no fallback).
    assert sorted(tuple(sorted(dict(labels).items())) for labels in requests) == [
        (("model", m), ("outcome", o)) for m in ("mistral-7b", "other") for o in ("failed", "ok")]
    assert set(requests.values()) == {0.0}
    # A histogram is only exported once observed (its buckets would multiply idle series).
    assert not any(name.startswith("acme_request_duration_seconds") for name, _ in samples)


def test_template_calls_exactly_the_roles_conventions_define() -> None:
    source = TEMPLATE.read_text()
    called = {(kind, role) for kind, role in re.findall(r"_(counter|gauge|histogram)\(\"([a-z_]+)\"\)", source)}
    nvml = set(python_renderer.NVML_ROLES)
    expected = {(kind, role) for role, (kind, _) in conventions.INSTRUMENTATION_ROLES.items() if role not in nvml}
    assert called == expected


@given(st.text(max_size=400), st.integers(0, 60))
def test_long_strings_wrap_into_valid_literals_within_the_line_length(text: str, indent: int) -> None:
    literal = pystr(text, indent, indent)
    assert eval(literal) == text  # the point: it parses back exactly
    assert all(len(line) <= WIDTH for line in literal.splitlines()[1:])


def test_long_tuples_wrap_one_item_per_line() -> None:
    items = tuple(f"value-{i}" for i in range(30))
    literal = pytuple(items, 8, 8)
    assert eval(literal) == items
    assert max(len(line) for line in literal.splitlines()) <= WIDTH


@pytest.mark.parametrize(("old", "new", "message", "line_of"), [
    pytest.param("    labels: [model, error_type]", "    labels: [model]",
                 "ryot_inference_errors_total is recorded by the generated instrumentation, which needs a "
                 "counter with labels ['error_type', 'model']", "- name: ryot_inference_errors_total",
                 id="a role metric without its labels"),
    pytest.param("  - name: ryot_queue_depth\n    type: gauge", "  - name: ryot_queue_depth\n    type: counter",
                 "ryot_queue_depth is recorded by the generated instrumentation, which needs a gauge",
                 "- name: ryot_queue_depth", id="a role metric of the wrong type"),
    pytest.param("values: [success, error]", "values: [success, failure]",
                 "label 'status' must list error", "values: [success, failure]",
                 id="a status label without the value the context writes"),
    pytest.param("    values: [oom, timeout, invalid_request, cuda_error]",
                 "    values: [oom, timeout, invalid_request, cuda_error]\n    fallback: null  # none",
                 "label 'error_type' needs a fallback", "fallback: null  # none",
                 id="error types without a fallback for unclassified exceptions"),
])
def test_role_metrics_must_have_the_shape_the_module_records(tmp_path: Path, old: str, new: str,
                                                             message: str, line_of: str) -> None:
    text = DEFAULT_SPEC.read_text()
    assert old in text
    text = text.replace(old, new, 1)
    spec = tmp_path / "ryot.yaml"
    spec.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_model(spec)
    matching = [p for p in caught.value.problems if message in p.message]
    assert matching, [str(p) for p in caught.value.problems]
    expected_line = next(i for i, line in enumerate(text.splitlines(), 1) if line_of in line)
    assert matching[0].line in (expected_line, expected_line + 1), str(matching[0])
