"""`ryotgen demo`: the whole chain running locally, with steady load, optional faults and a live
terminal view of what Prometheus computes and Alertmanager delivers."""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import sys
import threading
import time
import urllib.error
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TextIO

from ryotgen import stack
from ryotgen.model import Model

# What the view shows: (label, indicator name, format). Indicators missing from a spec show n/a.
PANELS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("request rate", "request_rate", lambda v: f"{v:8.2f} req/s"),
    ("P95 latency", "latency_p95", lambda v: f"{v * 1000:8.1f} ms"),
    ("P95 TTFT", "ttft_p95", lambda v: f"{v * 1000:8.1f} ms"),
    ("token rate", "token_rate", lambda v: f"{v:8.1f} tokens/s"),
    ("error ratio", "error_ratio", lambda v: f"{v * 100:8.2f} %"),
)
SHOWN_LABELS = ("team", "slo", "tier", "model", "profile")
DEFAULT_RATE = 4.0
THREADS_PER_TARGET = 4
FAULT_ERROR_RATE = 0.1  # per error type injected
FAULT_LATENCY = 3.0


@dataclass(frozen=True)
class DemoOptions:
    duration: float | None  # seconds; None runs until Ctrl-C
    faults: bool
    warmup: float  # healthy seconds before faults start
    rate: float | None  # requests per second per target; None: from the baselines
    interval: str  # scrape and rule evaluation interval
    max_for: str | None  # cap on alerting rules' `for`
    speed: float


def missing_python_packages() -> list[str]:
    return [name for name in ("fastapi", "uvicorn") if importlib.util.find_spec(name) is None]


@dataclass
class Load:
    """Steady requests to every demo target at its own rate, a few threads each; counts outcomes."""

    targets: list[stack.DemoTarget]
    rates: list[float]  # requests per second, per target
    sent: Counter[str] = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        for target, rate in zip(self.targets, self.rates, strict=True):
            for _ in range(THREADS_PER_TARGET):
                threading.Thread(target=self._drive, args=(target, rate / THREADS_PER_TARGET),
                                 daemon=True).start()

    def _drive(self, target: stack.DemoTarget, rate: float) -> None:
        period = 1.0 / rate
        next_at = time.monotonic()
        while not self.stop.is_set():
            try:
                stack.post_json(f"{target.url}/v1/completions", {"model": target.model, "stream": False})
                self.sent["ok"] += 1
            except urllib.error.HTTPError:
                self.sent["failed"] += 1
            except OSError:
                if self.stop.is_set():
                    return
                self.sent["unreachable"] += 1
            next_at = max(next_at + period, time.monotonic() - period)  # no catch-up bursts
            self.stop.wait(max(0.0, next_at - time.monotonic()))


def target_rates(model: Model, targets: list[stack.DemoTarget], rate: float | None) -> list[float]:
    """Requests/s per target: `rate`, or what makes its baseline token throughput (mid-range)
    with completions of the profile's typical length."""
    if rate is not None:
        return [rate] * len(targets)
    baselines = model.spec.baselines
    profiles = {p.name: p for p in baselines.profiles} if baselines else {}
    rates = []
    for target in targets:
        profile = profiles.get(target.labels.get(baselines.profile_label, "")) if baselines else None
        if profile is None or None in (profile.token_rate.min, profile.token_rate.max,
                                       profile.latency_seconds.min, profile.latency_seconds.max):
            rates.append(DEFAULT_RATE)
            continue
        tokens_per_s = ((profile.token_rate.min or 0) + (profile.token_rate.max or 0)) / 2
        latency = ((profile.latency_seconds.min or 0) + (profile.latency_seconds.max or 0)) / 2
        ttft = profile.ttft_seconds.max or 0
        tokens_per_request = max(1.0, (latency - ttft) * tokens_per_s)
        rates.append(round(tokens_per_s / tokens_per_request, 1))
    return rates


def fault_settings(model: Model) -> dict[str, Any]:
    """Errors of the spec's error types (at most two), slower tokens."""
    label = model.spec.labels.get("error_type")
    types = [t for t in ("oom", "timeout") if label and t in label.values] or ["oom"]
    return {"error_rates": {t: FAULT_ERROR_RATE for t in types}, "latency_factor": FAULT_LATENCY}


def run(model: Model, spec_name: str, options: DemoOptions, out: TextIO = sys.stdout) -> None:
    """Start everything, drive load, refresh the view; stop everything on Ctrl-C or timeout."""
    sink = stack.WebhookSink().start()
    local: stack.Stack | None = None
    load: Load | None = None
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        local = stack.Stack(model, stack.Options(
            scrape_interval=options.interval, evaluation_interval=options.interval, speed=options.speed,
            max_for=options.max_for, group_wait="5s", group_interval="15s"), webhook=sink.url)
        out.write(f"starting {len(local.targets)} demo service(s), Prometheus and Alertmanager ...\n")
        out.flush()
        local.start()
        out.write("waiting for Prometheus to scrape every target (its discovery takes ~5 s) ...\n")
        out.flush()
        local.wait_scraping()
        load = Load(local.targets, target_rates(model, local.targets, options.rate))
        load.start()
        _loop(local, load, sink, model, spec_name, options, out)
    except KeyboardInterrupt:
        out.write("\nstopping ...\n")
    finally:
        if load is not None:
            load.stop.set()
        if local is not None:
            local.close()
        sink.stop()
        signal.signal(signal.SIGTERM, previous)
    out.write("stopped: every process ended, temporary files removed.\n")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _loop(local: stack.Stack, load: Load, sink: stack.WebhookSink, model: Model, spec_name: str,
          options: DemoOptions, out: TextIO) -> None:
    start = time.monotonic()
    faults_on = False
    settings = fault_settings(model)
    while True:
        elapsed = time.monotonic() - start
        if options.duration is not None and elapsed >= options.duration:
            return
        if options.faults and not faults_on and elapsed >= options.warmup:
            for target in local.targets:
                stack.post_json(f"{target.url}/faults", settings, method="PUT")
            faults_on = True
        screen = view(local, load, sink, model, spec_name, options, elapsed, settings if faults_on else None)
        if out.isatty():
            out.write("\x1b[H\x1b[2J")  # home and clear: a refreshing screen, no curses needed
        out.write(screen + "\n")
        out.flush()
        time.sleep(2.0)


def view(local: stack.Stack, load: Load, sink: stack.WebhookSink, model: Model, spec_name: str,
         options: DemoOptions, elapsed: float, faults: dict[str, Any] | None) -> str:
    """One frame of the live view, as plain text."""
    total = f" / {_clock(options.duration)}" if options.duration is not None else ""
    if faults is None:
        state = f"faults start at {_clock(options.warmup)}" if options.faults else "healthy (no --faults)"
    else:
        errors = ", ".join(f"{t} {r:.0%}" for t, r in faults["error_rates"].items())
        state = f"FAULTS ON: {errors}, latency x{faults['latency_factor']:g}"
    lines = [
        f"ryotgen demo  {spec_name}  {_clock(elapsed)}{total}  {state}",
        "",
        f"  Prometheus    {local.prometheus_url}/alerts   (graphs: {local.prometheus_url}/graph)",
        f"  Alertmanager  {local.alertmanager_url}",
    ]
    lines += [f"  demo target   {t.url}/docs  {t.labels}  model={t.model}  {r:g} req/s"
              for t, r in zip(local.targets, load.rates, strict=True)]
    lines += [
        f"  timing: scrape and rule evaluation every {options.interval}"
        + (f"; alert `for` capped at {options.max_for} (demo only)" if options.max_for else ""),
        "  rates use the spec's windows (up to 5m): they read low, and low-rate alerts may fire,",
        "  until that much data exists",
        "",
    ]
    for label, name, fmt in PANELS:
        info = model.indicators.get(name)
        value = _scalar(local, info.query) if info is not None else None
        lines.append(f"  {label:<13}{fmt(value) if value is not None else '     n/a'}")
    lines += ["", f"  load: {load.sent['ok']} ok, {load.sent['failed']} failed", "",
              "  alerts in Prometheus:"]
    alerts = _alerts(local)
    lines += alerts or ["    none"]
    delivered = Counter(path.strip("/") for path, _ in sink.notifications())
    lines += ["", "  notifications delivered by Alertmanager (to a local webhook, per team route): "
              + (", ".join(f"{team} {n}" for team, n in sorted(delivered.items())) or "none yet"),
              "", "  Ctrl-C stops everything."]
    return "\n".join(lines)


def _scalar(local: stack.Stack, query: str) -> float | None:
    with contextlib.suppress(OSError, ValueError, KeyError, IndexError):
        return local.scalar(f"sum({query})")
    return None


def _alerts(local: stack.Stack) -> list[str]:
    try:
        alerts = local.alerts()
    except OSError:
        return ["    (Prometheus not answering)"]
    rows = []
    for alert in sorted(alerts, key=lambda a: (a["state"] != "firing", a["labels"]["alertname"])):
        labels = alert["labels"]
        extra = " ".join(f"{k}={labels[k]}" for k in SHOWN_LABELS if k in labels)
        state = "FIRING" if alert["state"] == "firing" else alert["state"]
        rows.append(f"    {state:<8} "
                    f"{labels['alertname']:<36} {labels.get('severity', ''):<9} {extra}")
    return rows


def _clock(seconds: float | None) -> str:
    whole = int(seconds or 0)
    return f"{whole // 60:02d}:{whole % 60:02d}"
