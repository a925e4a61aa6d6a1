"""The two-tier Prometheus layout: hashmod shards and a global tier, from the single-server files.

Shard i scrapes the targets whose address hashes to i, keeps raw data for `retention.raw`,
and evaluates the per-instance rules (`ryotgen.sharding` decides which). The global tier
collects only recorded `level:metric:operation` series (federation or remote write), evaluates
the fleet-wide rules and alerts, and keeps them for `retention.aggregates`. `tiers.json` lists
each server's config and flags for a launcher.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

from ryotgen import conventions, promql, rules, sharding
from ryotgen.model import Model
from ryotgen.render.formats import to_json, to_yaml
from ryotgen.spec import ScaleOut

HASH_LABEL = "__tmp_hash"  # __tmp_ labels are dropped after relabelling
PARTIALS = "partials"  # key of the shards' group of per-instance recordings


def render(model: Model) -> dict[str, str]:
    scale = model.spec.scale_out
    if scale is None:
        return {}
    from ryotgen.render import prometheus

    service = model.spec.service.name
    plain = prometheus.config(model)
    groups = rules.build(model)
    # Each tier's share of a group goes to a file named like the single-server one.
    file_of = {conventions.rule_group(service, key): posixpath.basename(conventions.rules_path(service, key))
               for key in [*(group.key for group in groups), PARTIALS]}
    shard_groups, global_groups = sharding.split_groups(
        [prometheus.group_data(group) for group in groups], conventions.rule_group(service, PARTIALS))
    # The global tier evaluates no more often than it receives data.
    every = promql.parse_duration(scale.global_.interval)
    global_groups = [{**group, "interval": scale.global_.interval}
                     if promql.parse_duration(group.get("interval", "0s")) < every else group
                     for group in global_groups]
    shard_rules = _files(shard_groups, file_of, conventions.shard_rules_path)
    global_rules = _files(global_groups, file_of, conventions.global_rules_path)

    out: dict[str, str] = {}
    for path, tier_groups in {**shard_rules, **global_rules}.items():
        out[path] = to_yaml({"groups": tier_groups}, model.header)
    for index in range(len(scale.shards)):
        path = conventions.shard_config_path(index)
        out[path] = to_yaml(shard_config(model, scale, plain, index, _relative(path, shard_rules)),
                            model.header)
    out[conventions.GLOBAL_CONFIG_PATH] = to_yaml(
        global_config(model, scale, plain, _relative(conventions.GLOBAL_CONFIG_PATH, global_rules)),
        model.header)
    out[conventions.TIERS_PATH] = to_json(tiers(model, scale))
    return out


def _files(groups: list[dict[str, Any]], file_of: dict[str, str],
           path_of: Callable[[str], str]) -> dict[str, list[dict[str, Any]]]:
    """Groups back into files named like the single-server rule files they came from."""
    files: dict[str, list[dict[str, Any]]] = {}
    for group in groups:
        files.setdefault(path_of(file_of[group["name"]]), []).append(group)
    return files


def _relative(config: str, rules: dict[str, Any]) -> list[str]:
    return [posixpath.relpath(path, posixpath.dirname(config)) for path in rules]


def hashmod(shards: int, index: int) -> list[dict[str, Any]]:
    """Keep the targets whose address hashes to `index` (Prometheus' hashmod: md5 mod N)."""
    return [
        {"source_labels": ["__address__"], "modulus": shards, "target_label": HASH_LABEL,
         "action": "hashmod"},
        {"source_labels": [HASH_LABEL], "regex": str(index), "action": "keep"},
    ]


def keep_recorded() -> list[dict[str, Any]]:
    return [{"source_labels": ["__name__"], "regex": conventions.RECORDED_SERIES_REGEX,
             "action": "keep"}]


def shard_config(model: Model, scale: ScaleOut, plain: dict[str, Any], index: int,
                 rule_files: list[str]) -> dict[str, Any]:
    """The single-server config with this shard's share of the spec's targets and rules."""
    config: dict[str, Any] = {"global": {**plain["global"], "external_labels": {
        **plain["global"].get("external_labels", {}), conventions.SHARD_LABEL: str(index)}}}
    config["rule_files"] = rule_files
    if "alerting" in plain:
        config["alerting"] = plain["alerting"]
    scrape = []
    for job in plain.get("scrape_configs", []):
        if job["job_name"] == model.spec.service.job:
            job = {**job, "relabel_configs": [*job.get("relabel_configs", []),
                                              *hashmod(len(scale.shards), index)]}
        scrape.append(job)
    config["scrape_configs"] = scrape
    if scale.global_.mode == "remote_write":
        config["remote_write"] = [{"url": f"http://{scale.global_.address}/api/v1/write",
                                   "write_relabel_configs": keep_recorded()}]
    return config


def global_config(model: Model, scale: ScaleOut, plain: dict[str, Any],
                  rule_files: list[str]) -> dict[str, Any]:
    """Fleet-wide rules over the shards' recorded series, collected by federation or received."""
    interval = scale.global_.interval
    # No scrape_timeout: Prometheus then caps its default at the (possibly short) interval.
    settings = {key: value for key, value in plain["global"].items() if key != "scrape_timeout"}
    config: dict[str, Any] = {"global": {**settings, "scrape_interval": interval,
                                         "evaluation_interval": interval}}
    config["rule_files"] = rule_files
    if "alerting" in plain:
        config["alerting"] = plain["alerting"]
    if scale.global_.mode == "federation":
        config["scrape_configs"] = [{
            "job_name": conventions.federate_job(model.spec.service.name),
            # Keep the shards' job and instance labels instead of this job's.
            "honor_labels": True,
            "metrics_path": "/federate",
            "params": {"match[]": ['{__name__=~"' + conventions.RECORDED_SERIES_REGEX + '"}']},
            "static_configs": [{"targets": list(scale.shards)}],
        }]
    return config


def tiers(model: Model, scale: ScaleOut) -> dict[str, Any]:
    """Each server's config file (relative to prometheus/) and command-line flags."""
    retention = model.spec.retention

    def server(name: str, address: str, config: str, keep: str, *extra: str) -> dict[str, Any]:
        relative = posixpath.relpath(config, "prometheus")
        return {"name": name, "address": address, "config": relative, "retention": keep,
                "flags": [f"--config.file={relative}", f"--web.listen-address={address}",
                          f"--storage.tsdb.retention.time={keep}", *extra]}

    receiver = ("--web.enable-remote-write-receiver",) if scale.global_.mode == "remote_write" else ()
    return {
        "description": model.header,
        "mode": scale.global_.mode,
        "shards": [server(f"shard-{i}", address, conventions.shard_config_path(i), retention.raw)
                   for i, address in enumerate(scale.shards)],
        "global": server("global", scale.global_.address, conventions.GLOBAL_CONFIG_PATH,
                         retention.aggregates, *receiver),
    }
