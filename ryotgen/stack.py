"""The monitoring chain on 127.0.0.1: demo services, Prometheus and Alertmanager.

Shared by `ryotgen demo` and the end-to-end tests. The generated files are rendered in memory
and copied into a temporary folder, with only what a local run must change rewritten as data:
target and Alertmanager addresses (free ports), scrape and evaluation intervals, and receivers
(a local webhook). Everything started is stopped, and the folder removed, on `close()`.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import yaml

from ryotgen import conventions, output, promql
from ryotgen.model import Model
from ryotgen.render import render_all
from ryotgen.render.formats import to_yaml

HOST = "127.0.0.1"
INSTALL_HINT = "sudo apt-get install prometheus prometheus-alertmanager"
# Debian installs Alertmanager as prometheus-alertmanager; upstream tarballs as alertmanager.
ALERTMANAGER_NAMES = ("prometheus-alertmanager", "alertmanager")
REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_PACKAGE = REPO_ROOT / "examples" / "demo"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


class StackError(Exception):
    """Something the user must fix before the stack can run (message says what)."""


@dataclass(frozen=True)
class Binaries:
    prometheus: str
    alertmanager: str


def find_binaries() -> Binaries:
    """Paths of prometheus and Alertmanager, or a StackError with the install command."""
    prometheus = shutil.which("prometheus")
    alertmanager = next((p for p in map(shutil.which, ALERTMANAGER_NAMES) if p), None)
    missing = [name for name, path in (("prometheus", prometheus),
                                       ("prometheus-alertmanager", alertmanager)) if path is None]
    if missing or prometheus is None or alertmanager is None:
        raise StackError(f"{' and '.join(missing)} not found on PATH. Install them with:\n"
                         f"  {INSTALL_HINT}\n(Debian/Ubuntu; elsewhere use the release tarballs "
                         "from prometheus.io/download and put prometheus and alertmanager on PATH)")
    return Binaries(prometheus, alertmanager)


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Options:
    """What a local run changes in the generated configuration."""

    scrape_interval: str = "5s"
    evaluation_interval: str = "5s"
    speed: float = 1.0  # demo services divide every simulated delay by this
    max_for: str | None = None  # cap alerting rules' `for` (demo only; None keeps the spec's)
    group_wait: str | None = None  # override Alertmanager grouping (None keeps the spec's)
    group_interval: str | None = None


@dataclass(frozen=True)
class DemoTarget:
    """One demo service process standing in for one scrape target of the spec."""

    address: str  # as the spec has it
    labels: dict[str, str]
    port: int
    model: str  # the model the load driver sends it
    argv: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


# --- notifications ----------------------------------------------------------------------------


@dataclass
class WebhookSink:
    """A tiny webhook receiver on 127.0.0.1 that keeps every Alertmanager notification."""

    port: int = 0
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, payload)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> WebhookSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink._lock:
                    sink.received.append((self.path, json.loads(body or b"{}")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                del format, args

        self._server = ThreadingHTTPServer((HOST, self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def notifications(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self.received)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --- configuration rewritten for a local run -----------------------------------------------------


def local_files(model: Model, targets: list[DemoTarget], alertmanager_port: int,
                options: Options, webhook: str | None) -> dict[str, str]:
    """The generated files a local run needs, rewritten as data for its ports and intervals."""
    artifacts = render_all(model)
    missing = [p for p in (conventions.PROMETHEUS_CONFIG_PATH, conventions.ALERTMANAGER_CONFIG_PATH,
                           conventions.PYTHON_MODULE_PATH) if p not in artifacts]
    if missing:
        raise StackError(f"this build renders no {', '.join(missing)}")
    files = {path: text for path, text in artifacts.items()
             if path == conventions.PYTHON_MODULE_PATH
             or (path.startswith("prometheus/rules/") and path.endswith(".yml"))}
    if options.max_for:
        files = {path: _cap_for(text, options.max_for, model.header) if path.startswith("prometheus/")
                 else text for path, text in files.items()}
    prometheus = yaml.safe_load(artifacts[conventions.PROMETHEUS_CONFIG_PATH])
    files[conventions.PROMETHEUS_CONFIG_PATH] = to_yaml(
        _prometheus(prometheus, targets, alertmanager_port, options), model.header)
    alertmanager = yaml.safe_load(artifacts[conventions.ALERTMANAGER_CONFIG_PATH])
    files[conventions.ALERTMANAGER_CONFIG_PATH] = to_yaml(
        _alertmanager(alertmanager, options, webhook), model.header)
    return files


def _prometheus(config: dict[str, Any], targets: list[DemoTarget], alertmanager_port: int,
                options: Options) -> dict[str, Any]:
    scrape = options.scrape_interval
    spec_timeout = promql.parse_duration(config["global"].get("scrape_timeout", "10s"))
    timeout = promql.format_duration(min(promql.parse_duration(scrape), spec_timeout))
    config["global"].update(scrape_interval=scrape, scrape_timeout=timeout,
                            evaluation_interval=options.evaluation_interval)
    local = {t.address: f"{HOST}:{t.port}" for t in targets}
    for job in config.get("scrape_configs", []):
        job.update(scrape_interval=scrape, scrape_timeout=timeout)
        for static in job.get("static_configs", []):
            static["targets"] = [local.get(address, address) for address in static["targets"]]
    config["alerting"] = {"alertmanagers": [{"static_configs": [
        {"targets": [f"{HOST}:{alertmanager_port}"]}]}]}
    return config


def _alertmanager(config: dict[str, Any], options: Options, webhook: str | None) -> dict[str, Any]:
    route = config["route"]
    if options.group_wait:
        route["group_wait"] = options.group_wait
    if options.group_interval:
        route["group_interval"] = options.group_interval
    if webhook is not None:
        # Real receivers (mail, Slack, PagerDuty, team webhooks) must not get demo alerts.
        config["receivers"] = [
            {"name": r["name"], "webhook_configs": [{"url": f"{webhook}/{r['name']}", "send_resolved": True}]}
            for r in config["receivers"]
        ]
        config["global"] = {k: v for k, v in config.get("global", {}).items() if not k.startswith("smtp_")}
    return config


def _cap_for(text: str, cap: str, header: str) -> str:
    data = yaml.safe_load(text)
    limit = promql.parse_duration(cap)
    for group in data.get("groups", []):
        for rule in group.get("rules", []):
            if "for" in rule and promql.parse_duration(rule["for"]) > limit:
                rule["for"] = cap
    return to_yaml(data, header)


# --- processes ------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Child side of fork: get SIGTERM if the parent dies, so nothing outlives a killed run."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    handle: IO[bytes]

    def tail(self, lines: int = 15) -> str:
        self.handle.flush()
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class Stack:
    """Demo services + Prometheus + Alertmanager on free 127.0.0.1 ports; a context manager."""

    def __init__(self, model: Model, options: Options | None = None, *, webhook: str | None = None,
                 binaries: Binaries | None = None) -> None:
        self.model = model
        self.options = options or Options()
        self.webhook = webhook
        self.binaries = binaries or find_binaries()
        if not (DEMO_PACKAGE / "app.py").is_file():
            raise StackError(f"the demo service is not at {DEMO_PACKAGE}; run ryotgen demo from a "
                             "clone of the repository (pip install -e .)")
        self.workdir = Path(tempfile.mkdtemp(prefix="ryotgen-stack-"))
        self.processes: list[_Process] = []
        self.prometheus_port = free_port()
        self.alertmanager_port = free_port()
        self.targets = self._targets()

    @property
    def prometheus_url(self) -> str:
        return f"http://{HOST}:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{HOST}:{self.alertmanager_port}"

    def _targets(self) -> list[DemoTarget]:
        spec = self.model.spec
        model_label = spec.labels.get("model")
        models = list(model_label.values) if model_label and model_label.values else ["default"]
        baselines = spec.baselines
        profiles = {p.name: p for p in baselines.profiles} if baselines else {}
        out = []
        for index, target in enumerate(spec.service.targets):
            port = free_port()
            argv = [sys.executable, "-m", "examples.demo", "--port", str(port),
                    "--speed", str(self.options.speed), "--seed", str(index)]
            profile = profiles.get(target.labels.get(baselines.profile_label, "")) if baselines else None
            if profile is not None:
                argv += ["--profile", profile.name]
                for flag, span in (("--ttft", profile.ttft_seconds), ("--latency", profile.latency_seconds),
                                   ("--token-rate", profile.token_rate)):
                    low = span.min if span.min is not None else span.max
                    high = span.max if span.max is not None else span.min
                    argv += [flag, f"{low},{high}"]
            # Target i serves model i: with the default spec, each profile runs its own model.
            out.append(DemoTarget(target.address, dict(target.labels), port,
                                  models[index % len(models)], tuple(argv)))
        return out

    # lifecycle

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        files = local_files(self.model, self.targets, self.alertmanager_port, self.options, self.webhook)
        output.write(self.workdir, files)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(self.workdir / Path(conventions.PYTHON_MODULE_PATH).parent), str(REPO_ROOT)])}
        for target in self.targets:
            self._spawn(f"demo:{target.port}", list(target.argv), env=env, cwd=REPO_ROOT)
        self._spawn("alertmanager", [
            self.binaries.alertmanager,
            f"--config.file={self.workdir / conventions.ALERTMANAGER_CONFIG_PATH}",
            f"--storage.path={self.workdir / 'alertmanager-data'}",
            f"--web.listen-address={HOST}:{self.alertmanager_port}",
            "--cluster.listen-address=",  # no gossip port: a single local instance
            "--log.level=warn"])
        self._spawn("prometheus", [
            self.binaries.prometheus,
            f"--config.file={self.workdir / conventions.PROMETHEUS_CONFIG_PATH}",
            f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
            f"--web.listen-address={HOST}:{self.prometheus_port}",
            "--log.level=warn"])
        for target in self.targets:
            self._wait_ready(f"demo:{target.port}", f"{target.url}/healthz")
        self._wait_ready("alertmanager", f"{self.alertmanager_url}/-/ready")
        self._wait_ready("prometheus", f"{self.prometheus_url}/-/ready")

    def _spawn(self, name: str, argv: list[str], *, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> None:
        log = self.workdir / f"{name.replace(':', '-')}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
                                 env=env, cwd=cwd, start_new_session=True,  # Ctrl-C reaches only us
                                 preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        self.processes.append(_Process(name, popen, log, handle))

    def _wait_ready(self, name: str, url: str) -> None:
        process = next(p for p in self.processes if p.name == name)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise StackError(f"{name} exited with {process.popen.returncode}:\n{process.tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise StackError(f"{name} not ready after {READY_TIMEOUT:.0f}s:\n{process.tail()}")

    def close(self) -> None:
        """Stop every process (TERM, then KILL) and remove the temporary folder."""
        for process in reversed(self.processes):
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in reversed(self.processes):
            try:
                process.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
            process.handle.close()
        self.processes.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def wait_scraping(self, timeout: float = 30.0) -> None:
        """Wait until Prometheus scrapes every demo target (its discovery applies in ~5 s)."""
        job = promql.quote(self.model.spec.service.job)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.scalar(f"count(up{{job={job}}} == 1)") == len(self.targets):
                return
            time.sleep(0.25)
        raise StackError(f"Prometheus did not scrape all {len(self.targets)} targets in {timeout:.0f}s")

    def pids(self) -> list[int]:
        return [p.popen.pid for p in self.processes]

    # Prometheus and Alertmanager APIs

    def query(self, promql_expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector (empty on no data)."""
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql_expr})
        data = _get_json(url)
        result: list[dict[str, Any]] = data["data"]["result"]
        return result

    def scalar(self, promql_expr: str) -> float | None:
        """The value of a single-series query, None when it has no data."""
        result = self.query(promql_expr)
        return float(result[0]["value"][1]) if result else None

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus' active alerts (pending and firing)."""
        found: list[dict[str, Any]] = _get_json(f"{self.prometheus_url}/api/v1/alerts")["data"]["alerts"]
        return found

    def logs(self) -> Iterator[tuple[str, str]]:
        for process in self.processes:
            yield process.name, process.tail(40)


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def post_json(url: str, payload: object, method: str = "POST") -> Any:
    """A JSON request to a local service; the decoded reply."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None
