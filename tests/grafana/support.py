"""A real Prometheus for dashboard tests: synthetic history backfilled, generated rules loaded."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ryotgen import conventions
from ryotgen.model import Model

HISTORY_SECONDS = 10 * 60
STEP_SECONDS = 15
RULE_INTERVAL = "1s"  # the generated groups evaluate every second here, not every 15 s


def _label_values(model: Model, label: str) -> list[str]:
    """Two values of the first label (often `model`) are enough to see several series."""
    label_set = model.spec.labels[label]
    values = list(label_set.values) or [label_set.fallback or "other"]
    return values[:2]


def _series(model: Model) -> Iterator[tuple[str, dict[str, str], str, float]]:
    """(name, labels, kind, per-second increase or gauge value) for every synthetic series."""
    for target_index, target in enumerate(model.spec.service.targets):
        base = {"job": model.spec.service.job, "instance": target.address, **target.labels}
        yield "up", base, "gauge", 1.0
        for info in model.metrics.values():
            metric = info.spec
            value_lists = [_label_values(model, label) for label in metric.labels]
            for combo_index, combo in enumerate(itertools.product(*value_lists)):
                labels = {**base, **dict(zip(metric.labels, combo, strict=True))}
                scale = 1.0 + target_index + combo_index
                if metric.type == "gauge":
                    yield metric.name, labels, "gauge", 10.0 * scale
                elif metric.type == "counter":
                    yield metric.name, labels, "counter", scale
                else:
                    buckets = [*(metric.buckets or []), float("inf")]
                    for index, bound in enumerate(buckets):
                        # Cumulative: half of what is left falls in each bucket, +Inf holds all.
                        share = 1.0 if bound == float("inf") else 1 - 0.5 ** (index + 1)
                        yield (metric.name + "_bucket", {**labels, "le": conventions.le_value(bound)},
                               "counter", scale * share)
                    yield metric.name + "_count", labels, "counter", scale
                    yield metric.name + "_sum", labels, "counter", scale * 0.2


def openmetrics(model: Model, end: float) -> str:
    """Every series over the last HISTORY_SECONDS up to `end`, as an OpenMetrics document."""
    lines: list[str] = []
    start = int(end) - HISTORY_SECONDS
    for name, group in itertools.groupby(sorted(_series(model), key=lambda s: s[0]), key=lambda s: s[0]):
        lines.append(f"# TYPE {name} unknown")
        for _, labels, kind, amount in group:
            body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
            for t in range(start, int(end) + 1, STEP_SECONDS):
                value = amount * (t - start) if kind == "counter" else amount
                lines.append(f"{name}{{{body}}} {value} {t}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def fast_rules(text: str) -> str:
    """A generated rules file with its groups evaluating every RULE_INTERVAL."""
    data = yaml.safe_load(text)
    for group in data["groups"]:
        group["interval"] = RULE_INTERVAL
    return yaml.safe_dump(data, sort_keys=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Prometheus:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as response:
            return json.load(response)

    def query(self, expr: str) -> dict[str, Any]:
        """An instant query at now; the whole API answer, errors included."""
        try:
            return dict(self.get("/api/v1/query", query=expr))
        except urllib.error.HTTPError as error:  # 400/422 carry the error as JSON
            return dict(json.load(error))

    def wait_for_rules(self, deadline: float) -> None:
        """Until every rule group has been evaluated at least once."""
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                groups = self.get("/api/v1/rules")["data"]["groups"]
                # Never-evaluated groups report the zero time, 0001-01-01T00:00:00Z.
                if groups and all(not g["lastEvaluation"].startswith("0001") for g in groups):
                    return
            time.sleep(0.2)
        raise TimeoutError(f"rules not evaluated in time; log:\n{self.log.read_text()[-3000:]}")


@contextlib.contextmanager
def prometheus(binary: str, promtool: str, rules: dict[str, str], history: str,
               workdir: Path) -> Iterator[Prometheus]:
    """Prometheus on 127.0.0.1 with `history` backfilled and `rules` loaded; always stopped."""
    data = workdir / "data"
    data.mkdir()
    (workdir / "history.om").write_text(history)
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "-q",
                    str(workdir / "history.om"), str(data)], check=True, capture_output=True,
                   timeout=60)
    rule_dir = workdir / "rules"
    rule_dir.mkdir()
    for name, text in rules.items():
        (rule_dir / name).write_text(fast_rules(text))
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"evaluation_interval": RULE_INTERVAL},
                                      "rule_files": [str(rule_dir / "*.yml")]}))
    port = free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1d"],
            stdout=out, stderr=subprocess.STDOUT)
    server = Prometheus(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(server.url + "/-/ready", timeout=2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prometheus did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
