"""Rule placement between shard and global tiers: each rule on one tier, fleet values from partials."""

from __future__ import annotations

import pytest

from ryotgen.sharding import Splitter, Unsplittable, check, split_groups

P = pytest.param
REQ = "ryot_inference_requests_total"
LAT = "ryot_inference_latency_seconds_bucket"

PLACED = [
    P(f"sum by (job) (rate({REQ}[5m]))", "global",
      "sum by (job) (instance_job:ryot_inference_requests:rate5m)",
      {"instance_job:ryot_inference_requests:rate5m": f"sum by (instance, job) (rate({REQ}[5m]))"},
      id="a fleet rate sums the per-instance rates"),
    P(f'sum by (job) (rate({REQ}{{status="error"}}[5m])) / (sum by (job) (rate({REQ}[5m])) > 0)',
      "global",
      "sum by (job) (instance_job:ryot_inference_requests:error_rate5m) / "
      "(sum by (job) (instance_job:ryot_inference_requests:rate5m) > 0)",
      {"instance_job:ryot_inference_requests:error_rate5m":
           f'sum by (instance, job) (rate({REQ}{{status="error"}}[5m]))',
       "instance_job:ryot_inference_requests:rate5m": f"sum by (instance, job) (rate({REQ}[5m]))"},
      id="a ratio divides re-summed numerator and denominator, never averages ratios"),
    P(f"histogram_quantile(0.95, sum by (le, model) (rate({LAT}[5m])))", "global",
      "histogram_quantile(0.95, sum by (le, model) "
      "(instance_le_model:ryot_inference_latency_seconds_bucket:rate5m))",
      {"instance_le_model:ryot_inference_latency_seconds_bucket:rate5m":
           f"sum by (instance, le, model) (rate({LAT}[5m]))"},
      id="a quantile is taken over bucket rates re-summed by le"),
    P("100 - avg by (job) (ryot_gpu_memory_percentage)", "global",
      "100 - (sum by (job) (instance_job:ryot_gpu_memory_percentage:sum) / "
      "sum by (job) (instance_job:ryot_gpu_memory_percentage:count))",
      {"instance_job:ryot_gpu_memory_percentage:sum": "sum by (instance, job) (ryot_gpu_memory_percentage)",
       "instance_job:ryot_gpu_memory_percentage:count":
           "count by (instance, job) (ryot_gpu_memory_percentage)"},
      id="an average is a re-summed sum over a re-summed count"),
    P("max(ryot_queue_depth)", "global", "max(instance:ryot_queue_depth:max)",
      {"instance:ryot_queue_depth:max": "max by (instance) (ryot_queue_depth)"},
      id="a maximum is the maximum of per-instance maxima"),
    P('absent(ryot_inference_requests_total{job="ryot"})', "global",
      'absent(instance_job:ryot_inference_requests_total:count{job="ryot"})',
      {"instance_job:ryot_inference_requests_total:count":
           "count by (instance, job) (ryot_inference_requests_total)"},
      id="absent is judged fleet-wide so an empty shard cannot raise it"),
    P("max by (instance, gpu) (ryot_gpu_memory_percentage)", "shard",
      "max by (instance, gpu) (ryot_gpu_memory_percentage)", {},
      id="an aggregation keeping instance is complete on its shard"),
    P('up{job="ryot"} == 0', "shard", 'up{job="ryot"} == 0', {},
      id="a per-target alert runs on the shard that scrapes the target"),
    P("job:ryot_inference_requests:ratio_rate5m > 0.05", "global",
      "job:ryot_inference_requests:ratio_rate5m > 0.05", {},
      id="an alert on recorded series runs on the global tier"),
    P("vector(0.001)", "global", "vector(0.001)", {}, id="a constant runs on the global tier"),
]


@pytest.mark.parametrize(("expr", "tier", "placed", "partials"), PLACED)
def test_placement(expr: str, tier: str, placed: str, partials: dict[str, str]) -> None:
    splitter = Splitter()
    placement = splitter.place(expr)
    assert (placement.tier, placement.expr) == (tier, placed)
    assert splitter.partials == partials


REJECTED = [
    P(f"topk(5, rate({REQ}[5m]))", "cannot recompute", id="topk across instances of raw series"),
    P("quantile(0.9, ryot_queue_depth)", "cannot recompute", id="a quantile across instances"),
    P("sum without (model) (ryot_queue_depth)", "cannot recompute", id="without-grouping"),
    P(f"sum(rate({REQ}[5m])) > 0 and up == 1", "mixes per-instance",
      id="raw per-target series mixed with a fleet aggregate"),
]


@pytest.mark.parametrize(("expr", "message"), REJECTED)
def test_unsplittable(expr: str, message: str) -> None:
    with pytest.raises(Unsplittable, match=message):
        Splitter().place(expr)
    assert message in (check(expr) or "")


def test_partials_never_take_a_rule_name_with_a_different_expression() -> None:
    splitter = Splitter()
    splitter.claim("instance:ryot_queue_depth:max", "max by (instance) (ryot_queue_depth{model=\"a\"})")
    placed = splitter.place("max(ryot_queue_depth)")
    (name,) = splitter.partials
    assert name.startswith("instance:ryot_queue_depth:max_") and name in placed.expr


def test_groups_split_so_every_rule_runs_once_and_partials_lead() -> None:
    groups = [
        {"name": "ryot-indicators", "interval": "15s", "rules": [
            {"record": "job:ryot_inference_requests:rate5m", "expr": f"sum by (job) (rate({REQ}[5m]))"},
            {"record": "instance_gpu:g:max", "expr": "max by (instance, gpu) (g)"},
        ]},
        {"name": "ryot-scrape", "interval": "15s", "rules": [
            {"alert": "Down", "expr": "up == 0", "for": "5m"},
            {"alert": "Absent", "expr": f'absent({REQ}{{job="ryot"}})', "for": "10m"},
        ]},
    ]
    shard, fleet = split_groups(groups, "ryot-partials")
    assert [g["name"] for g in shard] == ["ryot-partials", "ryot-indicators", "ryot-scrape"]
    assert [g["name"] for g in fleet] == ["ryot-indicators", "ryot-scrape"]
    names = [r.get("record") or r.get("alert") for g in shard + fleet for r in g["rules"]]
    originals = [r.get("record") or r.get("alert") for g in groups for r in g["rules"]]
    assert sorted(n for n in names if n in originals) == sorted(originals)
    assert shard[2]["rules"] == [{"alert": "Down", "expr": "up == 0", "for": "5m"}]
    assert fleet[1]["rules"][0]["expr"] == 'absent(instance_job:ryot_inference_requests_total:count{job="ryot"})'
    assert fleet[0]["interval"] == "15s"
