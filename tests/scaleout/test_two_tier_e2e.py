"""Two shard Prometheus servers and a global one, as generated, running on 127.0.0.1.

Two tiny exporters serve counters that grow at known rates. The shards split them by hashmod,
the global tier federates the recorded series; the fleet request rate at the global tier is
the sum of the instances' rates, and an error burst on one instance fires the error-rate alert
once, at the global tier only. Every process is stopped, and every wait has a deadline.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from ryotgen import conventions
from ryotgen.output import write
from ryotgen.pipeline import load_model, render
from tests.conftest import DEFAULT_SPEC, require_binary

SUCCESS_RATES = (5.0, 3.0)  # requests/s served by instance 0 and 1
ERROR_RATE = 4.0  # errors/s instance 1 adds once the fault is on
BACKFILL = 330.0  # seconds of history each series replays: more than the 5m rate windows
REPLAY_STEP = 30.0  # seconds of history per scrape while replaying
DEADLINE = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def hashmod(value: str, modulus: int) -> int:
    """Prometheus' hashmod relabel action: md5, low 8 bytes big-endian, modulo."""
    return int.from_bytes(hashlib.md5(value.encode()).digest()[8:], "big") % modulus


class Exporter:
    """Serves ryot_inference_requests_total growing linearly at known rates.

    Samples carry timestamps: the first scrapes replay the last five minutes in 30 s steps,
    so rate windows are full within seconds and a rate equals the counter's slope exactly.
    A fault replays the same way, as if it had begun five minutes ago.
    """

    def __init__(self, success_rate: float) -> None:
        self.rates = {"success": success_rate}
        self.clocks = {"success": time.time() - BACKFILL}
        self.origins = dict(self.clocks)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def fault(self, errors_per_second: float) -> None:
        with self.lock:
            self.rates["error"] = errors_per_second
            self.clocks["error"] = self.origins["error"] = time.time() - BACKFILL

    def exposition(self) -> str:
        lines = ["# TYPE ryot_inference_requests_total counter"]
        with self.lock:
            for status, rate in self.rates.items():
                at = min(time.time(), self.clocks[status] + REPLAY_STEP)
                self.clocks[status] = at
                value = rate * (at - self.origins[status])
                lines.append(f'ryot_inference_requests_total{{model="llama-7b",status="{status}"}} '
                             f"{value:.6f} {int(at * 1000)}")
        return "\n".join(lines) + "\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def exporters_on_distinct_shards() -> list[Exporter]:
    """Two exporters whose addresses hash to different shards, so each shard scrapes one."""
    for _ in range(50):
        pair = [Exporter(rate) for rate in SUCCESS_RATES]
        if {hashmod(e.address, 2) for e in pair} == {0, 1}:
            return sorted(pair, key=lambda e: hashmod(e.address, 2))
        for exporter in pair:
            exporter.server.server_close()
    pytest.fail("no two free ports hashing to different shards")


def e2e_spec(tmp_path: Path, targets: list[str], shards: list[str], global_address: str) -> Path:
    """The default spec on fast intervals and these addresses; alerts fire without waiting."""
    data = yaml.safe_load(DEFAULT_SPEC.read_text())
    service = data["service"]
    service.update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s",
                   alertmanagers=[f"127.0.0.1:{free_port()}"],
                   targets=[{"address": a, "labels": {"profile": "llama-7b-gpu"}} for a in targets])
    for alert in data["alerts"]:
        alert["for"] = "0s"
    data["scale_out"] = {"shards": shards,
                         "global": {"mode": "federation", "address": global_address, "interval": "1s"}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class Server:
    name: str
    address: str
    process: subprocess.Popen[bytes]

    def get(self, path: str, **params: str) -> Any:
        url = f"http://{self.address}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get("/api/v1/query", query=expr)["result"]
        return result


def wait_for(what: str, probe: Callable[[], Any]) -> Any:
    """Poll `probe` until it returns something truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + DEADLINE
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except (OSError, ValueError):
            last = None
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[list[Exporter], list[Server], Server, Any]]:
    binary = require_binary("prometheus")
    exporters = exporters_on_distinct_shards()
    shard_addresses = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    global_address = f"127.0.0.1:{free_port()}"
    spec = e2e_spec(tmp_path, [e.address for e in exporters], shard_addresses, global_address)
    out = tmp_path / "generated"
    write(out, render(spec, out))
    tiers = json.loads((out / conventions.TIERS_PATH).read_text())
    servers: list[Server] = []
    try:
        for exporter in exporters:
            exporter.thread.start()
        for tier in [*tiers["shards"], tiers["global"]]:
            data = tmp_path / "data" / tier["name"]
            log = (tmp_path / f"{tier['name']}.log").open("wb")
            process = subprocess.Popen([binary, *tier["flags"], f"--storage.tsdb.path={data}"],
                                       cwd=out / "prometheus", stdout=log, stderr=subprocess.STDOUT)
            servers.append(Server(tier["name"], tier["address"], process))
        for server in servers:
            wait_for(f"{server.name} to be ready", lambda s=server: s.process.poll() is None
                     and urllib.request.urlopen(f"http://{s.address}/-/ready", timeout=2).status == 200)
        yield exporters, servers[:-1], servers[-1], load_model(spec, out)
    finally:
        for server in servers:
            server.process.terminate()
        for server in servers:
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
        for exporter in exporters:
            exporter.server.shutdown()
            exporter.server.server_close()


def value(result: list[dict[str, Any]]) -> float:
    (sample,) = result
    return float(sample["value"][1])


def test_global_tier_sums_the_shards_and_alerts_once(
        fleet: tuple[list[Exporter], list[Server], Server, Any]) -> None:
    exporters, shards, global_, model = fleet

    # Each shard scrapes exactly the exporter hashmod assigns it.
    for exporter, shard in zip(exporters, shards, strict=True):
        targets = wait_for(f"{shard.name} to scrape", lambda s=shard: [
            t for t in s.get("/api/v1/targets")["activeTargets"] if t["health"] == "up"])
        assert [t["labels"]["instance"] for t in targets] == [exporter.address]
        assert targets[0]["labels"]["job"] == model.spec.service.job

    # The fleet request rate recorded globally equals the sum of the instances' rates.
    fleet_rate = model.indicators["request_rate"].record
    assert fleet_rate is not None
    expected = sum(SUCCESS_RATES)
    rate = wait_for("the global fleet rate to reach the sum of the instances", lambda: [
        v for v in [value(global_.query(fleet_rate))] if v == pytest.approx(expected, rel=0.02)])
    assert rate[0] == pytest.approx(expected, rel=0.02)
    print(f"fleet rate {rate[0]:.4f}/s, instances {SUCCESS_RATES}")
    # Recorded series only crossed the tier: no raw series reached the global Prometheus.
    assert global_.query("count(ryot_inference_requests_total)") == []

    # A fault on one instance fires the fleet error-rate alert, at the global tier only.
    alert = model.alert_name("high_error_rate")
    exporters[1].fault(ERROR_RATE)
    wait_for(f"{alert} to fire", lambda: global_.query(
        f'ALERTS{{alertname="{alert}", alertstate="firing"}}'))
    firing = [a for a in global_.get("/api/v1/alerts")["alerts"]
              if a["labels"]["alertname"] == alert and a["state"] == "firing"]
    assert len(firing) == 1
    assert float(firing[0]["value"]) > 0.05
    print(f"{alert} firing once at the global tier, value {firing[0]['value']}")
    for shard in shards:
        rules = [r["name"] for g in shard.get("/api/v1/rules")["groups"] for r in g["rules"]]
        assert alert not in rules
        assert shard.query(f'ALERTS{{alertname="{alert}"}}') == []
