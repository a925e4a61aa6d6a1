"""prometheus-operator resources: the rule groups as a PrometheusRule, a ServiceMonitor or
PodMonitor for the service, and the dashboards as ConfigMaps the Grafana sidecar loads."""

from __future__ import annotations

from typing import Any

from ryotgen import conventions, rules
from ryotgen.model import Model
from ryotgen.promql import parse_duration
from ryotgen.render.formats import to_json, to_yaml
from ryotgen.spec import Kubernetes

API = "monitoring.coreos.com/v1"


def render(model: Model) -> dict[str, str]:
    k8s = model.spec.kubernetes
    if k8s is None:
        return {}
    out = {
        conventions.KUBERNETES_RULE_PATH: to_yaml(prometheus_rule(model, k8s), model.header),
        conventions.kubernetes_monitor_path(k8s.monitor): to_yaml(monitor(model, k8s), model.header),
    }
    maps = dashboard_config_maps(model, k8s)
    if maps:
        out[conventions.KUBERNETES_DASHBOARDS_PATH] = documents(maps, model.header)
    return out


def documents(docs: list[dict[str, Any]], header: str) -> str:
    """A multi-document YAML stream under one header line."""
    bodies = [to_yaml(doc, header).split("\n", 1)[1] for doc in docs]
    return f"# {header}\n" + "".join(f"---\n{body}" for body in bodies)


def metadata(model: Model, k8s: Kubernetes, name: str, *extra: dict[str, str]) -> dict[str, Any]:
    labels: dict[str, str] = dict(k8s.labels)
    for more in extra:
        labels.update(more)
    meta: dict[str, Any] = {"name": conventions.kubernetes_name(model.spec.service.name, name),
                            "namespace": k8s.namespace}
    if labels:
        meta["labels"] = dict(sorted(labels.items()))
    return meta


def prometheus_rule(model: Model, k8s: Kubernetes) -> dict[str, Any]:
    """spec.groups are exactly the groups of the plain rule files, in file order."""
    from ryotgen.render.prometheus import group_data

    groups = [group_data(group) for group in rules.build(model)]
    return {"apiVersion": API, "kind": "PrometheusRule",
            "metadata": metadata(model, k8s, "rules", k8s.rule_selector_labels),
            "spec": {"groups": groups}}


def monitor(model: Model, k8s: Kubernetes) -> dict[str, Any]:
    """Scrapes the service's metrics port and path; `job` is the spec's, so rules match as-is."""
    service = model.spec.service
    interval = k8s.scrape_interval or service.scrape_interval
    endpoint: dict[str, Any] = {"port": k8s.port, "path": service.metrics_path, "interval": interval}
    if parse_duration(service.scrape_timeout) <= parse_duration(interval):
        endpoint["scrapeTimeout"] = service.scrape_timeout
    # The operator names the job after the Service or PodMonitor; the rules select the spec's job.
    endpoint["relabelings"] = [{"action": "replace", "targetLabel": "job", "replacement": service.job}]
    service_monitor = k8s.monitor == "service"
    spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(sorted(k8s.selector_labels.items()))},
        "namespaceSelector": {"matchNames": [k8s.namespace]},
    }
    if k8s.target_labels:
        spec["podTargetLabels"] = list(k8s.target_labels)
    spec["endpoints" if service_monitor else "podMetricsEndpoints"] = [endpoint]
    kind = "ServiceMonitor" if service_monitor else "PodMonitor"
    return {"apiVersion": API, "kind": kind,
            "metadata": metadata(model, k8s, "metrics", k8s.monitor_selector_labels), "spec": spec}


def dashboard_config_maps(model: Model, k8s: Kubernetes) -> list[dict[str, Any]]:
    """One ConfigMap per dashboard (each stays far below the 1 MiB ConfigMap limit)."""
    from ryotgen.render import grafana

    return [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": metadata(model, k8s, f"dashboard-{dash.uid}", k8s.dashboard_labels),
         "data": {f"{dash.uid}.json": to_json(grafana.build(model, index).data)}}
        for index, dash in enumerate(model.spec.dashboards)
    ]

