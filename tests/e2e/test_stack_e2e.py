"""End to end on real binaries: demo services -> Prometheus (generated rules) -> Alertmanager
(generated routes) -> a webhook receiver, all on 127.0.0.1 and stopped when the test ends.

The spec under test is the default spec with its durations shrunk (scrape and evaluation every
second, rate windows of seconds, `for` of seconds, burn-rate windows of seconds, Alertmanager
grouping waits of seconds): 5-minute `for` clauses and 1-hour burn windows cannot pass in a test
that must finish in well under 3 minutes. The rule logic, names, labels, routes and inhibition
are generated exactly as for the real spec; only the durations differ.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from ryotgen import pipeline, stack
from tests.conftest import DEFAULT_SPEC, require_binary

T = TypeVar("T")
TOKENS = 20  # per request, so the token totals are known exactly
WINDOWS = {"1m": "6s", "5m": "10s"}  # indicator rate windows
TIERS = {  # the workbook tiers, same burn rates and order of windows, in seconds
    "page-1h": ("20s", "5s", "2s"), "page-6h": ("30s", "8s", "3s"),
    "ticket-1d": ("40s", "8s", "4s"), "ticket-3d": ("50s", "8s", "5s"),
}
FAULTS = {"error_rates": {"oom": 0.3, "timeout": 0.2}}


def _fast_spec(tmp: Path) -> Path:
    data = yaml.safe_load(DEFAULT_SPEC.read_text())
    data["service"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    for indicator in data["indicators"]:
        if indicator.get("window") in WINDOWS or ("window" not in indicator and indicator["kind"] in
                                                  ("ratio", "rate", "quantile", "mean")):
            indicator["window"] = WINDOWS[indicator.get("window", "5m")]
    for alert in data["alerts"]:
        alert["for"] = "3s"
    for tier in data["slo_policy"]["tiers"]:
        tier["long_window"], tier["short_window"], tier["for"] = TIERS[tier["name"]]
    for team in data["teams"]:
        team["repeat_interval"] = "1h"  # a repeat inside the test would be a bug
    data["notifications"] = {"group_wait": "1s", "group_interval": "2s"}
    path = tmp / "ryot-fast.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _wait(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="module")
def sink() -> Iterator[stack.WebhookSink]:
    receiver = stack.WebhookSink().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def running(sink: stack.WebhookSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[stack.Stack]:
    binaries = stack.Binaries(require_binary("prometheus"), require_binary("prometheus-alertmanager"))
    model = pipeline.load_model(_fast_spec(tmp_path_factory.mktemp("spec")))
    options = stack.Options(scrape_interval="1s", evaluation_interval="1s", speed=10)
    local = stack.Stack(model, options, webhook=sink.url, binaries=binaries)
    pids: list[int] = []
    workdir = local.workdir
    try:
        local.start()
        pids = local.pids()
        local.wait_scraping()
        yield local
    finally:
        local.close()
        # Nothing outlives the test: every process gone, the temporary folder removed.
        assert not [pid for pid in pids if os.path.exists(f"/proc/{pid}")]
        assert not workdir.exists()


class Load:
    """Steady traffic to every demo target from a few threads until stopped."""

    def __init__(self, local: stack.Stack) -> None:
        self.local = local
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=len(local.targets))

    def __enter__(self) -> Load:
        for target in self.local.targets:
            self.pool.submit(self._drive, target)
        return self

    def _drive(self, target: stack.DemoTarget) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(OSError):  # injected failures answer 5xx
                stack.post_json(f"{target.url}/v1/completions",
                                {"model": target.model, "max_tokens": TOKENS, "stream": False})
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.pool.shutdown(wait=True)


def test_every_target_is_up_and_prometheus_holds_exactly_the_requests_and_tokens_sent(
        running: stack.Stack) -> None:
    sent = 10
    for target in running.targets:
        for _ in range(sent):
            reply = stack.post_json(f"{target.url}/v1/completions",
                                    {"model": target.model, "max_tokens": TOKENS, "stream": False})
            assert reply["usage"]["completion_tokens"] == TOKENS
    total = sent * len(running.targets)

    up = running.query('up{job="ryot-inference"}')
    assert sorted(r["metric"]["profile"] for r in up) == ["bitnet-1.58b-cpu", "llama-7b-gpu", "multi-gpu"]
    assert {r["value"][1] for r in up} == {"1"}
    requests = _wait(f"{total} requests in Prometheus",
                     lambda: running.scalar("sum(ryot_inference_requests_total)") == total, 15)
    assert requests
    assert running.scalar("sum(ryot_tokens_generated_total)") == total * TOKENS
    by_model = {r["metric"]["model"]: float(r["value"][1])
                for r in running.query("sum by (model) (ryot_inference_requests_total)")}
    # Every closed label combination is exported at 0 from start-up; only sent requests count.
    assert {m: v for m, v in by_model.items() if v} == {t.model: sent for t in running.targets}
    # The recording rules run on what was scraped.
    record = running.model.indicators["request_rate"].record
    assert record is not None
    _wait(f"the recording {record}", lambda: running.query(record), 15)


def _firing(local: stack.Stack, alertname: str, **labels: str) -> dict[str, Any] | None:
    for alert in local.alerts():
        if (alert["labels"]["alertname"] == alertname and alert["state"] == "firing"
                and all(alert["labels"].get(k) == v for k, v in labels.items())):
            return alert
    return None


def _groups(sink: stack.WebhookSink, team: str, alertname: str) -> list[dict[str, Any]]:
    """Notifications that reached `team`'s receiver for groups of `alertname`, in order."""
    return [payload for path, payload in sink.notifications()
            if path == f"/{team}" and payload["groupLabels"].get("alertname") == alertname]


def test_faults_fire_alerts_that_reach_the_owning_team_once_and_resolve(
        running: stack.Stack, sink: stack.WebhookSink) -> None:
    high, burn = "RyotHighErrorRate", "RyotAvailabilityErrorBudgetBurn"
    with Load(running):
        for target in running.targets:
            stack.post_json(f"{target.url}/faults", FAULTS, method="PUT")
        try:
            alert = _wait(f"{high} firing", lambda: _firing(running, high), 60)
            assert alert["labels"].items() >= {"severity": "critical", "team": "dev"}.items()
            page = _wait(f"{burn} page tier firing", lambda: _firing(running, burn, tier="page-1h"), 60)
            assert page["labels"].items() >= {"severity": "critical", "team": "dev", "slo": "availability"}.items()
            _wait("both notifications at the dev receiver",
                  lambda: _groups(sink, "dev", high) and _groups(sink, "dev", burn), 30)
            time.sleep(6)  # three group intervals: a duplicate would arrive by now
            high_notes, burn_notes = _groups(sink, "dev", high), _groups(sink, "dev", burn)
        finally:
            for target in running.targets:
                stack.post_json(f"{target.url}/faults", {}, method="DELETE")

        # Grouping: the error-rate alert was announced exactly once, with its labels.
        assert [n["status"] for n in high_notes] == ["firing"]
        (only,) = high_notes[0]["alerts"]
        assert only["labels"]["alertname"] == high and only["labels"]["team"] == "dev"
        assert only["labels"]["severity"] == "critical"
        assert high_notes[0]["receiver"] == "dev"
        # The burn group: every notification changed what is firing (no repeats), the page tier
        # is in it, and no ticket tier is announced while a page tier fires (inhibition).
        firing_sets = [frozenset(a["labels"]["tier"] for a in n["alerts"] if a["status"] == "firing")
                       for n in burn_notes]
        assert all(a != b for a, b in itertools.pairwise(firing_sets))
        assert any("page-1h" in tiers for tiers in firing_sets)
        assert not [t for t in firing_sets if t & {"page-1h", "page-6h"} and t & {"ticket-1d", "ticket-3d"}]
        assert {a["labels"]["slo"] for n in burn_notes for a in n["alerts"]} == {"availability"}

        # After the faults stop, each group's last word is "resolved".
        for name in (high, burn):
            _wait(f"{name} resolved at the dev receiver",
                  lambda name=name: _groups(sink, "dev", name)[-1]["status"] == "resolved", 60)
    resolved = _groups(sink, "dev", high)
    assert [n["status"] for n in resolved] == ["firing", "resolved"]
    assert not [path for path, payload in sink.notifications()
                if payload["groupLabels"].get("alertname") in (high, burn) and path != "/dev"]
