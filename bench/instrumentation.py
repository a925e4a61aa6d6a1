"""Benchmark the generated instrumentation module, side by side in one run. Not a test.

    .venv/bin/pip install prometheus-fastapi-instrumentator   # the comparison; for this bench only
    .venv/bin/python bench/instrumentation.py [--quick]

1. Per-request accounting cost of `InferenceMetricsContext` (enter, first token, tokens, exit)
   against the same prometheus_client calls written by hand on cached children (the floor).
   Target: ratio <= 1.25.
2. Requests/s of a minimal FastAPI app with `RyotMetricsMiddleware` against the bare app
   (target >= 0.93) and against prometheus-fastapi-instrumentator's middleware (target >= 1.10).
   Requests are driven in-process through the ASGI interface (no sockets), so the figures are the
   app's CPU cost per request, which is what middleware adds to.

Cases are measured interleaved, repetition by repetition, after a warm-up, so machine load hits
them alike; medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "generated" / "python" / "ryot_metrics.py"
MODEL = "llama-7b"


def load_module() -> Any:
    spec = importlib.util.spec_from_file_location("ryot_metrics", MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ryot_metrics"] = module
    spec.loader.exec_module(module)
    return module


def interleaved(cases: dict[str, Callable[[], float]], repetitions: int) -> dict[str, float]:
    """Median of each case's result over `repetitions`, cases alternating; one warm-up each."""
    for case in cases.values():
        case()
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repetitions):
        for name, case in cases.items():
            results[name].append(case())
    return {name: statistics.median(values) for name, values in results.items()}


# --- 1. accounting cost per request -------------------------------------------------------------


def accounting_cases(rm: Any, requests: int, stream: int) -> dict[str, Callable[[], float]]:
    """Seconds per request; `stream` tokens() calls per request (1: one call with every token)."""
    ours = rm.RyotMetrics(registry=CollectorRegistry())
    floor = rm.RyotMetrics(registry=CollectorRegistry())
    context = rm.InferenceMetricsContext
    per_call = 64 // stream
    # The floor: the same prometheus_client calls, children looked up once, by hand.
    active = floor.ryot_active_inference_requests.labels(model=MODEL)
    latency = floor.ryot_inference_latency_seconds.labels(model=MODEL)
    ttft = floor.ryot_ttft_latency_seconds.labels(model=MODEL)
    itl = floor.ryot_inter_token_latency_seconds.labels(model=MODEL)
    tokens = floor.ryot_tokens_generated_total.labels(model=MODEL)
    success = floor.ryot_inference_requests_total.labels(model=MODEL, status="success")
    clock = time.perf_counter

    def by_hand() -> float:
        begin = clock()
        for _ in range(requests):
            active.inc()
            start = clock()
            ttft.observe(clock() - start)
            last = 0.0
            for _ in range(stream):
                now = clock()
                tokens.inc(per_call)
                if last:
                    itl.observe((now - last) / per_call)
                last = now
            active.dec()
            latency.observe(clock() - start)
            success.inc()
        return (clock() - begin) / requests

    def with_context() -> float:
        begin = clock()
        for _ in range(requests):
            with context(MODEL, metrics=ours) as m:
                m.first_token()
                for _ in range(stream):
                    m.tokens(per_call)
        return (clock() - begin) / requests

    return {"hand-written floor": by_hand, "InferenceMetricsContext": with_context}


# --- 2. requests per second ----------------------------------------------------------------------


def make_app(kind: str, rm: Any) -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/items/{item}")
    async def item(item: str) -> dict[str, str]:
        return {"item": item}

    if kind == "ryot":
        app.add_middleware(rm.RyotMetricsMiddleware, metrics=rm.RyotMetrics(registry=CollectorRegistry()))
    elif kind == "instrumentator":
        from prometheus_fastapi_instrumentator import Instrumentator

        Instrumentator(registry=CollectorRegistry()).instrument(app)
    return app


def throughput_case(app: Any, requests: int) -> Callable[[], float]:
    """Requests/s of sequential in-process GET requests through the full ASGI stack."""
    body = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return body

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200

    def scope(index: int) -> dict[str, Any]:
        path = f"/items/{index % 50}"
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                "root_path": "", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1),
                "server": ("127.0.0.1", 80)}

    loop = asyncio.new_event_loop()

    async def run() -> float:
        begin = time.perf_counter()
        for index in range(requests):
            await app(scope(index), receive, send)
        return requests / (time.perf_counter() - begin)

    return lambda: loop.run_until_complete(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and repetitions")
    args = parser.parse_args()
    repetitions = 5 if args.quick else 9
    scale = 1 if args.quick else 3
    rm = load_module()

    print(f"1. accounting cost per request (median of {repetitions})")
    for stream, what in ((1, "first token, one tokens(64) call"), (16, "first token, 16 tokens(4) calls")):
        cost = interleaved(accounting_cases(rm, 5000 * scale, stream), repetitions)
        floor, ours = cost["hand-written floor"], cost["InferenceMetricsContext"]
        print(f"   {what:36} floor {floor * 1e6:6.2f} us   context {ours * 1e6:6.2f} us   "
              f"ratio {ours / floor:.3f}  (target <= 1.25)")

    kinds = ["bare", "ryot"]
    try:
        import prometheus_fastapi_instrumentator  # noqa: F401

        kinds.append("instrumentator")
    except ImportError:
        print("   (prometheus-fastapi-instrumentator not installed; that comparison is skipped)")
    cases = {kind: throughput_case(make_app(kind, rm), 1000 * scale) for kind in kinds}
    rate = interleaved(cases, repetitions)
    print(f"2. requests/s, minimal FastAPI app in-process (median of {repetitions})")
    print("   " + "   ".join(f"{kind} {rate[kind]:8.0f}/s" for kind in kinds))
    print(f"   ryot / bare           {rate['ryot'] / rate['bare']:.3f}  (target >= 0.93)")
    if "instrumentator" in rate:
        print(f"   ryot / instrumentator {rate['ryot'] / rate['instrumentator']:.3f}  (target >= 1.10)")


if __name__ == "__main__":
    main()
