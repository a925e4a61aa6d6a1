"""alertmanager/alertmanager.yml: amtool accepts it, every team's alerts reach that team, secrets
stay in files, and routing mistakes in the spec are caught with their line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ryotgen import conventions, pipeline
from ryotgen.cli import app
from ryotgen.render import alertmanager
from tests.conftest import DEFAULT_SPEC, GENERATED, MINIMAL_SPEC, require_binary

runner = CliRunner()
COMMITTED = GENERATED / conventions.ALERTMANAGER_CONFIG_PATH


def _edited(spec: Path, tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """A copy of `spec` with the first `old` replaced; returns it and the line `new` starts on."""
    text = spec.read_text()
    assert old in text, f"{old!r} not in {spec.name}"
    start = text.index(old)
    edited = tmp_path / "spec.yaml"
    edited.write_text(text[:start] + new + text[start + len(old):])
    return edited, text.count("\n", 0, start) + 1


def _config_of(spec: Path) -> tuple[str, dict[str, object]]:
    model = pipeline.load_model(spec)
    text = alertmanager.render(model)[conventions.ALERTMANAGER_CONFIG_PATH]
    return text, yaml.safe_load(text)


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_binary("amtool"), *args], capture_output=True, text=True,
                          timeout=30, check=False)


# --- amtool accepts what we generate --------------------------------------------------------


def test_amtool_accepts_the_committed_config() -> None:
    result = _amtool("check-config", str(COMMITTED))
    assert result.returncode == 0, result.stdout + result.stderr


RECEIVERS = [
    pytest.param("{email_to: llm-oncall@example.com}", ["email_configs"],
                 id="e-mail, with the spec's mail server"),
    pytest.param('{webhook_url: "http://127.0.0.1:9/hook"}', ["webhook_configs"], id="webhook url"),
    pytest.param('{slack_api_url_file: /etc/alertmanager/slack-url, slack_channel: "#llm"}',
                 ["slack_configs"], id="slack, url from a file"),
    pytest.param("{pagerduty_routing_key_file: /etc/alertmanager/pd-key}", ["pagerduty_configs"],
                 id="pagerduty, routing key from a file"),
    pytest.param('{email_to: a@example.com, webhook_url: "http://127.0.0.1:9/h", '
                 "pagerduty_routing_key_file: /etc/am/pd}",
                 ["webhook_configs", "email_configs", "pagerduty_configs"],
                 id="several destinations for one team"),
]


@pytest.mark.parametrize(("receiver", "integrations"), RECEIVERS)
def test_amtool_accepts_every_receiver_kind(receiver: str, integrations: list[str],
                                            tmp_path: Path) -> None:
    spec, _ = _edited(MINIMAL_SPEC, tmp_path, "receiver: {email_to: llm-oncall@example.com}",
                      f"receiver: {receiver}")
    text, data = _config_of(spec)
    config = tmp_path / "alertmanager.yml"
    config.write_text(text)

    result = _amtool("check-config", str(config))

    assert result.returncode == 0, result.stdout + result.stderr
    (team,) = data["receivers"]  # type: ignore[misc]
    assert [key for key in team if key != "name"] == integrations
    assert all(hook["send_resolved"] for key in integrations for hook in team[key])


def test_secrets_are_referenced_by_file_never_inlined(tmp_path: Path) -> None:
    spec, _ = _edited(MINIMAL_SPEC, tmp_path, "receiver: {email_to: llm-oncall@example.com}",
                      'receiver: {slack_api_url_file: /run/secrets/slack, slack_channel: "#llm", '
                      "pagerduty_routing_key_file: /run/secrets/pd, "
                      "webhook_url_file: /run/secrets/hook}")
    _, data = _config_of(spec)
    (team,) = data["receivers"]  # type: ignore[misc]
    assert team["slack_configs"] == [{"api_url_file": "/run/secrets/slack", "channel": "#llm",
                                      "send_resolved": True}]
    assert team["pagerduty_configs"] == [{"routing_key_file": "/run/secrets/pd", "send_resolved": True}]
    # url_file needs Alertmanager 0.26+ (Debian 12 ships 0.25), so this one is checked as data only.
    assert team["webhook_configs"] == [{"url_file": "/run/secrets/hook", "send_resolved": True}]


def test_the_mail_server_and_its_password_file_become_global_settings(tmp_path: Path) -> None:
    spec, _ = _edited(MINIMAL_SPEC, tmp_path, 'smtp: {smarthost: "smtp.example.com:587", ',
                      'smtp: {auth_username: am, auth_password_file: /run/secrets/smtp, '
                      'require_tls: false, smarthost: "smtp.example.com:587", ')
    text, data = _config_of(spec)
    config = tmp_path / "alertmanager.yml"
    config.write_text(text)
    assert _amtool("check-config", str(config)).returncode == 0
    assert data["global"] == {
        "resolve_timeout": "5m", "smtp_smarthost": "smtp.example.com:587",
        "smtp_from": "alertmanager@example.com", "smtp_auth_username": "am",
        "smtp_auth_password_file": "/run/secrets/smtp", "smtp_require_tls": False,
    }


# --- routing: every team's alerts reach that team ---------------------------------------------


def _routes_test(config: Path, *labels: str) -> str:
    result = _amtool("config", "routes", "test", f"--config.file={config}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


TEAMS = ["performance", "dev", "infrastructure", "cloud_ops"]


@pytest.mark.parametrize("team", TEAMS, ids=[f"{t} alerts reach the {t} receiver" for t in TEAMS])
def test_each_team_label_routes_to_its_own_receiver(team: str) -> None:
    got = _routes_test(COMMITTED, "alertname=RyotSomething", f"team={team}", "severity=critical")
    assert got == conventions.receiver_name(team)


def test_an_alert_without_a_team_goes_to_the_default_team() -> None:
    assert _routes_test(COMMITTED, "alertname=Watchdog") == "performance"


def test_the_spec_can_name_the_default_team(tmp_path: Path) -> None:
    spec, _ = _edited(DEFAULT_SPEC, tmp_path, "\nsupport:\n",
                      "\nnotifications: {default_team: cloud_ops}\nsupport:\n")
    text, _ = _config_of(spec)
    config = tmp_path / "alertmanager.yml"
    config.write_text(text)
    assert _routes_test(config, "alertname=Watchdog") == "cloud_ops"


def test_every_spec_team_has_a_route_and_repeat_interval(tmp_path: Path) -> None:
    spec, _ = _edited(DEFAULT_SPEC, tmp_path, "    escalation: Page the service's developer",
                      "    repeat_interval: 30m\n    escalation: Page the service's developer")
    _, data = _config_of(spec)
    routes = {r["receiver"]: r for r in data["route"]["routes"]}  # type: ignore[index]
    assert list(routes) == TEAMS
    assert routes["dev"]["repeat_interval"] == "30m"
    assert routes["dev"]["matchers"] == ['team="dev"']
    assert routes["performance"]["repeat_interval"] == "4h"


def test_inhibition_follows_severity_and_the_spec_tiers(tmp_path: Path) -> None:
    spec, _ = _edited(DEFAULT_SPEC, tmp_path, "{name: ticket-3d, severity: warning",
                      "{name: slow-burn, severity: warning")
    _, data = _config_of(spec)
    assert data["inhibit_rules"] == [
        {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
         "equal": ["alertname", "model"]},
        {"source_matchers": ['tier=~"page-1h|page-6h"'], "target_matchers": ['tier=~"ticket-1d|slow-burn"'],
         "equal": ["slo"]},
    ]


# --- mistakes in the spec fail with their line --------------------------------------------------

SMTP_LINE = '  smtp: {smarthost: "smtp.example.com:587", from: alertmanager@example.com}\n'
BAD = [
    pytest.param(DEFAULT_SPEC, "    team: dev\n    summary: More than 5%",
                 "    team: devs\n    summary: More than 5%", "devs",
                 "unknown team 'devs'; did you mean 'dev'?", id="an alert names a team that does not exist"),
    pytest.param(DEFAULT_SPEC, "\nsupport:\n", "\nnotifications: {default_team: ops}\nsupport:\n", "ops",
                 "unknown team 'ops'", id="the default team does not exist"),
    pytest.param(DEFAULT_SPEC, "\nsupport:\n",
                 "\nnotifications: {group_by: [alertname, modle]}\nsupport:\n", "modle",
                 "no alert carries label 'modle'", id="grouping by a label no alert has"),
    pytest.param(MINIMAL_SPEC, SMTP_LINE,
                 "", "llm-oncall@example.com", "e-mail needs a mail server",
                 id="e-mail without a mail server"),
]


@pytest.mark.parametrize(("base", "old", "new", "value", "message"), BAD)
def test_routing_mistakes_exit_2_with_their_line_and_write_nothing(
        base: Path, old: str, new: str, value: str, message: str, tmp_path: Path) -> None:
    spec, _ = _edited(base, tmp_path, old, new)
    out = tmp_path / "generated"

    result = runner.invoke(app, ["build", "--spec", str(spec), "--out", str(out)])

    assert result.exit_code == 2
    problems = [line for line in result.output.splitlines() if message in line]
    assert len(problems) == 1, result.output
    file, line, col, _ = problems[0].split(":", 3)
    assert Path(file).name == spec.name
    # FILE:LINE:COL points at the offending value in the edited file.
    assert spec.read_text().splitlines()[int(line) - 1][int(col) - 1:].startswith(value)
    assert not out.exists()
