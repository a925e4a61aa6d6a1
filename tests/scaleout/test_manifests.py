"""Kubernetes manifests and the two-tier configs, as rendered from the default spec and variants."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ryotgen import conventions, promql
from ryotgen.errors import SpecError
from ryotgen.output import write
from ryotgen.pipeline import load_model, render
from tests.conftest import DEFAULT_SPEC, GENERATED, MINIMAL_SPEC, require_binary

P = pytest.param
K8S_API = "monitoring.coreos.com/v1"


@pytest.fixture(scope="module")
def default() -> dict[str, str]:
    return render(DEFAULT_SPEC, GENERATED)


def variant(tmp_path: Path, edit: str, base: Path = DEFAULT_SPEC) -> Path:
    """The base spec with `edit` (YAML text) appended or replacing its scale-out/kubernetes tail."""
    text = base.read_text()
    cut = text.find("\n# prometheus-operator resources")
    path = tmp_path / "spec.yaml"
    path.write_text((text if cut < 0 else text[:cut + 1]) + edit)
    return path


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_binary("promtool"), *args], capture_output=True, text=True,
                          timeout=60, check=False)


def plain_groups(artifacts: dict[str, str]) -> list[dict[str, Any]]:
    """The single-server rule groups, in the order the rules files come from `rules.build`."""
    model = load_model(DEFAULT_SPEC, GENERATED)
    from ryotgen import rules

    service = model.spec.service.name
    return [group for g in rules.build(model)
            for group in yaml.safe_load(artifacts[conventions.rules_path(service, g.key)])["groups"]]


# --- Kubernetes ----------------------------------------------------------------------------


def test_prometheus_rule_carries_exactly_the_plain_rule_groups(default: dict[str, str],
                                                               tmp_path: Path) -> None:
    rule = yaml.safe_load(default[conventions.KUBERNETES_RULE_PATH])
    assert rule["spec"]["groups"] == plain_groups(default)
    extracted = tmp_path / "extracted.rules.yml"
    extracted.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    result = promtool("check", "rules", str(extracted))
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_rule_is_labelled_for_the_operators_rule_selector(default: dict[str, str]) -> None:
    rule = yaml.safe_load(default[conventions.KUBERNETES_RULE_PATH])
    assert (rule["apiVersion"], rule["kind"]) == (K8S_API, "PrometheusRule")
    assert rule["metadata"] == {"name": "ryot-rules", "namespace": "ryot", "labels": {
        "app.kubernetes.io/part-of": "ryot", "release": "kube-prometheus-stack"}}


def test_service_monitor_scrapes_the_metrics_port_path_and_interval(default: dict[str, str]) -> None:
    monitor = yaml.safe_load(default[conventions.kubernetes_monitor_path("service")])
    assert (monitor["apiVersion"], monitor["kind"]) == (K8S_API, "ServiceMonitor")
    assert monitor["metadata"]["namespace"] == "ryot"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    spec = monitor["spec"]
    assert spec["selector"] == {"matchLabels": {"app.kubernetes.io/name": "ryot-inference"}}
    assert spec["namespaceSelector"] == {"matchNames": ["ryot"]}
    assert spec["podTargetLabels"] == ["profile", "environment"]
    (endpoint,) = spec["endpoints"]
    assert {k: endpoint[k] for k in ("port", "path", "interval", "scrapeTimeout")} == {
        "port": "metrics", "path": "/metrics", "interval": "15s", "scrapeTimeout": "10s"}
    # The rules select job="ryot-inference", so the monitor sets it rather than the Service name.
    assert {"action": "replace", "targetLabel": "job", "replacement": "ryot-inference"} in endpoint[
        "relabelings"]


def test_pod_monitor_when_the_spec_chooses_pods(tmp_path: Path) -> None:
    spec = variant(tmp_path, "kubernetes:\n  namespace: llm\n  monitor: pod\n"
                             "  selector_labels: {app: acme}\n  port: http-metrics\n"
                             "  scrape_interval: 5s\n", MINIMAL_SPEC)
    out = render(spec, tmp_path / "generated")
    assert conventions.kubernetes_monitor_path("service") not in out
    monitor = yaml.safe_load(out[conventions.kubernetes_monitor_path("pod")])
    assert monitor["kind"] == "PodMonitor"
    assert "labels" not in monitor["metadata"]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    # A scrape timeout longer than the interval is left to Prometheus' default (the interval).
    assert endpoint == {"port": "http-metrics", "path": "/metrics", "interval": "5s",
                        "relabelings": [{"action": "replace", "targetLabel": "job",
                                         "replacement": "acme-llm"}]}


def test_dashboards_config_maps_carry_the_dashboard_json_for_the_sidecar(default: dict[str, str]) -> None:
    text = default[conventions.KUBERNETES_DASHBOARDS_PATH]
    assert text.startswith("# generated by ryotgen from ")
    maps = list(yaml.safe_load_all(text))
    dashboards = sorted(p for p in default if p.startswith("grafana/dashboards/"))
    assert len(maps) == len(dashboards)
    for config_map, path in zip(maps, dashboards, strict=True):
        assert (config_map["apiVersion"], config_map["kind"]) == ("v1", "ConfigMap")
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        (name, body), = config_map["data"].items()
        assert path.endswith("/" + name) and body == default[path]
        json.loads(body)


def test_kubernetes_and_scale_out_are_off_unless_the_spec_asks(tmp_path: Path) -> None:
    out = render(MINIMAL_SPEC, tmp_path)
    assert not [p for p in out if p.startswith("kubernetes/") or "shard" in p or "global" in p]


# --- two tiers -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["federation", "remote_write"])
def test_promtool_accepts_shard_and_global_configs(mode: str, tmp_path: Path) -> None:
    spec = variant(tmp_path, "scale_out:\n  shards: [127.0.0.1:9191, 127.0.0.1:9192, 127.0.0.1:9193]\n"
                             f"  global: {{mode: {mode}, address: 127.0.0.1:9190}}\n")
    out = tmp_path / "generated"
    write(out, render(spec, out))
    tiers = json.loads((out / conventions.TIERS_PATH).read_text())
    configs = [t["config"] for t in [*tiers["shards"], tiers["global"]]]
    assert len(configs) == 4
    result = promtool("check", "config", *(str(out / "prometheus" / c) for c in configs))
    assert result.returncode == 0, result.stdout + result.stderr
    shard = yaml.safe_load((out / conventions.shard_config_path(2)).read_text())
    relabel = shard["scrape_configs"][0]["relabel_configs"]
    assert relabel[0]["modulus"] == 3 and relabel[1] == {
        "source_labels": ["__tmp_hash"], "regex": "2", "action": "keep"}
    assert shard["global"]["external_labels"] == {"shard": "2"}
    glob = yaml.safe_load((out / conventions.GLOBAL_CONFIG_PATH).read_text())
    if mode == "federation":
        (job,) = glob["scrape_configs"]
        assert job["params"] == {"match[]": ['{__name__=~".+:.+:.+"}']} and job["honor_labels"]
        assert "remote_write" not in shard
    else:
        assert "scrape_configs" not in glob
        assert shard["remote_write"] == [{"url": "http://127.0.0.1:9190/api/v1/write",
                                          "write_relabel_configs": [{
                                              "source_labels": ["__name__"], "regex": ".+:.+:.+",
                                              "action": "keep"}]}]
        assert "--web.enable-remote-write-receiver" in tiers["global"]["flags"]


def test_each_tier_keeps_data_for_its_retention(default: dict[str, str]) -> None:
    tiers = json.loads(default[conventions.TIERS_PATH])
    assert tiers["description"].startswith("generated by ryotgen from ")
    assert {s["retention"] for s in tiers["shards"]} == {"14d"}
    assert tiers["global"]["retention"] == "1y"
    assert "--storage.tsdb.retention.time=1y" in tiers["global"]["flags"]
    assert all("--storage.tsdb.retention.time=14d" in s["flags"] for s in tiers["shards"])


def _tier_rules(artifacts: dict[str, str], folder: str) -> list[dict[str, Any]]:
    return [rule for path, text in artifacts.items() if path.startswith(folder)
            for group in yaml.safe_load(text)["groups"] for rule in group["rules"]]


def _names(expr: str) -> set[str]:
    return {n.name for n in promql.walk(promql.parse(expr))
            if isinstance(n, promql.VectorSelector) and n.name}


def test_every_rule_runs_on_exactly_one_tier(default: dict[str, str]) -> None:
    plain = [r for g in plain_groups(default) for r in g["rules"]]
    shard = _tier_rules(default, "prometheus/shard-rules/")
    fleet = _tier_rules(default, "prometheus/global-rules/")
    key = lambda r: (r.get("record") or r["alert"], json.dumps(r.get("labels", {}), sort_keys=True))  # noqa: E731
    partials = [r for r in shard if r.get("record") and key(r) not in {key(p) for p in plain}]
    assert sorted(map(key, [r for r in shard if r not in partials] + fleet)) == sorted(map(key, plain))
    # Every alert that reads fleet-wide data is evaluated once, globally.
    assert {r["alert"] for r in shard if "alert" in r} == {"RyotTargetDown"}


def test_no_fleet_value_is_computed_from_one_shards_raw_data(default: dict[str, str]) -> None:
    shard = _tier_rules(default, "prometheus/shard-rules/")
    fleet = _tier_rules(default, "prometheus/global-rules/")
    shard_records = {r["record"] for r in shard if "record" in r}
    for rule in fleet:
        names = _names(rule["expr"])
        assert all(":" in n for n in names), rule  # the global tier has recorded series only
        assert names <= shard_records | {r["record"] for r in fleet if "record" in r}, rule
    for rule in shard:
        # Shard rules read raw series only, aggregated (if at all) per instance.
        assert all(":" not in n for n in _names(rule["expr"])), rule
        aggregations = [n for n in promql.walk(promql.parse(rule["expr"]))
                        if isinstance(n, promql.Aggregation)]
        assert all("instance" in a.grouping for a in aggregations), rule


@pytest.mark.parametrize(("edit", "message"), [
    P("scale_out:\n  shards: [127.0.0.1:9191, 127.0.0.1:9191]\n  global: {address: 127.0.0.1:9190}\n",
      "own host:port", id="two shards on one address"),
    P("scale_out:\n  shards: []\n  global: {address: 127.0.0.1:9190}\n", "at least 1",
      id="no shards"),
    P("kubernetes:\n  namespace: Ryot_NS\n  selector_labels: {app: ryot}\n  port: metrics\n",
      "Kubernetes name", id="a namespace Kubernetes rejects"),
])
def test_bad_scale_out_sections_are_spec_errors_at_their_line(edit: str, message: str,
                                                              tmp_path: Path) -> None:
    spec = variant(tmp_path, edit)
    with pytest.raises(SpecError) as caught:
        load_model(spec, tmp_path)
    line = spec.read_text().count("\n", 0, spec.read_text().index(edit)) + 1
    (problem,) = caught.value.problems
    assert message in problem.message and line <= problem.line <= line + 3


def test_an_expression_that_cannot_split_is_reported_at_its_line(tmp_path: Path) -> None:
    spec = variant(tmp_path, "scale_out:\n  shards: [127.0.0.1:9191]\n  global: {address: 127.0.0.1:9190}\n",
                   MINIMAL_SPEC)
    text = spec.read_text().replace(
        "expr: sum(rate(acme_output_tokens_total[10m])) / sum(rate(acme_requests_total[10m]))",
        "expr: topk(1, rate(acme_output_tokens_total[10m]))")
    spec.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_model(spec, tmp_path)
    (problem,) = caught.value.problems
    assert "scale_out" in problem.message and "cannot recompute" in problem.message
    assert problem.line == text.count("\n", 0, text.index("topk(1")) + 1
