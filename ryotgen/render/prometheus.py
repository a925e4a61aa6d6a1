"""Prometheus: the scrape config, one rules file per rule group and its promtool test file."""

from __future__ import annotations

import posixpath
from typing import Any

from ryotgen import conventions, rule_tests, rules
from ryotgen.model import Model
from ryotgen.render.formats import to_yaml

RULES_GLOB = "*.rules.yml"


def render(model: Model) -> dict[str, str]:
    groups = rules.build(model)
    problems = rules.check(model, groups)
    if problems:  # the model accepted the spec, so this is a ryotgen bug
        raise RuntimeError("generated rules do not check:\n" + "\n".join(problems))
    out = {conventions.PROMETHEUS_CONFIG_PATH: to_yaml(config(model), model.header)}
    tests = rule_tests.build(model, groups)
    for group in groups:
        path = conventions.rules_path(model.spec.service.name, group.key)
        out[path] = to_yaml({"groups": [group_data(group)]}, model.header)
        test_path = conventions.rules_test_path(model.spec.service.name, group.key)
        out[test_path] = to_yaml({
            "rule_files": [posixpath.relpath(path, posixpath.dirname(test_path))],
            "evaluation_interval": rule_tests.EVALUATION_INTERVAL,
            "tests": tests[group.key],
        }, model.header)
    return out


def config(model: Model) -> dict[str, Any]:
    """prometheus.yml; rule_files are relative to its folder, as Prometheus resolves them."""
    service = model.spec.service
    config_dir = posixpath.dirname(conventions.PROMETHEUS_CONFIG_PATH)
    rules_dir = posixpath.dirname(conventions.rules_path(service.name, "x"))
    glob = posixpath.join(posixpath.relpath(rules_dir, config_dir), RULES_GLOB)
    global_: dict[str, Any] = {
        "scrape_interval": service.scrape_interval,
        "scrape_timeout": service.scrape_timeout,
        "evaluation_interval": service.evaluation_interval,
    }
    if service.external_labels:
        global_["external_labels"] = dict(service.external_labels)
    targets = []
    for target in service.targets:
        entry: dict[str, Any] = {"targets": [target.address]}
        if target.labels:
            entry["labels"] = dict(target.labels)
        targets.append(entry)
    return {
        "global": global_,
        "rule_files": [glob],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": list(service.alertmanagers)}]}]},
        "scrape_configs": [{
            "job_name": service.job,
            "metrics_path": service.metrics_path,
            "scrape_interval": service.scrape_interval,
            "scrape_timeout": service.scrape_timeout,
            "static_configs": targets,
        }],
    }


def group_data(group: rules.RuleGroup) -> dict[str, Any]:
    return {"name": group.name, "interval": group.interval,
            "rules": [rule_data(rule) for rule in group.rules]}


def rule_data(rule: rules.Rule) -> dict[str, Any]:
    if isinstance(rule, rules.Recording):
        data: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
        if rule.labels:
            data["labels"] = dict(rule.labels)
        return data
    data = {"alert": rule.alert, "expr": rule.expr}
    if rule.for_ not in ("0s", "0m", "0"):
        data["for"] = rule.for_
    data["labels"] = dict(rule.labels)
    data["annotations"] = rule.annotations
    return data
