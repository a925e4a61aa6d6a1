"""alertmanager/alertmanager.yml: a route and a receiver per team, grouping and inhibition.

Built as data. Secrets are referenced by file (`*_file`), never written into the output.
"""

from __future__ import annotations

from typing import Any

from ryotgen import conventions
from ryotgen.model import Model
from ryotgen.promql import quote
from ryotgen.render.formats import to_yaml
from ryotgen.spec import Receiver, Spec, Team

# Severities that page someone; the rest (warning, info) open tickets.
PAGING_SEVERITIES = frozenset({"critical"})


def render(model: Model) -> dict[str, str]:
    return {conventions.ALERTMANAGER_CONFIG_PATH: to_yaml(config(model.spec), model.header)}


def config(spec: Spec) -> dict[str, Any]:
    """The whole Alertmanager configuration as data."""
    data: dict[str, Any] = {"global": _global(spec), "route": _route(spec)}
    inhibit = inhibit_rules(spec)
    if inhibit:
        data["inhibit_rules"] = inhibit
    data["receivers"] = [_receiver(team) for team in spec.teams]
    return data


def _global(spec: Spec) -> dict[str, Any]:
    notifications = spec.notifications
    data: dict[str, Any] = {"resolve_timeout": notifications.resolve_timeout}
    smtp = notifications.smtp
    if smtp is not None:
        data["smtp_smarthost"] = smtp.smarthost
        data["smtp_from"] = smtp.from_
        if smtp.auth_username:
            data["smtp_auth_username"] = smtp.auth_username
        if smtp.auth_password_file:
            data["smtp_auth_password_file"] = smtp.auth_password_file
        data["smtp_require_tls"] = smtp.require_tls
    return data


def default_team(spec: Spec) -> Team:
    """The team that receives alerts without a team label (a rule someone forgot to label)."""
    name = spec.notifications.default_team or spec.teams[0].name
    return next(team for team in spec.teams if team.name == name)


def _route(spec: Spec) -> dict[str, Any]:
    notifications = spec.notifications
    fallback = default_team(spec)
    return {
        "receiver": conventions.receiver_name(fallback.name),
        "group_by": list(notifications.group_by),
        "group_wait": notifications.group_wait,
        "group_interval": notifications.group_interval,
        "repeat_interval": fallback.repeat_interval,
        "routes": [
            {
                "receiver": conventions.receiver_name(team.name),
                "matchers": [_matcher(conventions.TEAM_LABEL, "=", team.name)],
                "repeat_interval": team.repeat_interval,
            }
            for team in spec.teams
        ],
    }


def inhibit_rules(spec: Spec) -> list[dict[str, Any]]:
    """A louder alert mutes the quieter one that says the same thing."""
    rules: list[dict[str, Any]] = [{
        # Same alert on the same model: the critical notification already says it all.
        "source_matchers": [_matcher(conventions.SEVERITY_LABEL, "=", "critical")],
        "target_matchers": [_matcher(conventions.SEVERITY_LABEL, "=", "warning")],
        "equal": ["alertname", "model"],
    }]
    tiers = spec.slo_policy.tiers
    paging = [t.name for t in tiers if t.severity in PAGING_SEVERITIES]
    ticket = [t.name for t in tiers if t.severity not in PAGING_SEVERITIES]
    if paging and ticket:
        # A fast burn that pages also trips the slow ticket tiers of the same SLO; one is enough.
        rules.append({
            "source_matchers": [_matcher(conventions.TIER_LABEL, "=~", "|".join(paging))],
            "target_matchers": [_matcher(conventions.TIER_LABEL, "=~", "|".join(ticket))],
            "equal": [conventions.SLO_LABEL],
        })
    return rules


def _receiver(team: Team) -> dict[str, Any]:
    data: dict[str, Any] = {"name": conventions.receiver_name(team.name)}
    data.update(_integrations(team.receiver))
    return data


def _integrations(receiver: Receiver) -> dict[str, list[dict[str, Any]]]:
    """One Alertmanager integration per destination the spec declares; resolved ones too."""
    out: dict[str, list[dict[str, Any]]] = {}
    hooks = [{"url": receiver.webhook_url}] if receiver.webhook_url else []
    hooks += [{"url_file": receiver.webhook_url_file}] if receiver.webhook_url_file else []
    if hooks:
        out["webhook_configs"] = [{**hook, "send_resolved": True} for hook in hooks]
    if receiver.slack_channel and receiver.slack_api_url_file:
        out["slack_configs"] = [{
            "api_url_file": receiver.slack_api_url_file,
            "channel": receiver.slack_channel,
            "send_resolved": True,
        }]
    if receiver.email_to:
        out["email_configs"] = [{"to": receiver.email_to, "send_resolved": True}]
    if receiver.pagerduty_routing_key_file:
        out["pagerduty_configs"] = [{
            "routing_key_file": receiver.pagerduty_routing_key_file,
            "send_resolved": True,
        }]
    return out


def _matcher(label: str, op: str, value: str) -> str:
    """An Alertmanager matcher; values quoted like PromQL strings."""
    return f"{label}{op}{quote(value)}"
