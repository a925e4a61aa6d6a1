"""Two worker processes in prometheus_client multiprocess mode; a third scrapes the merged /metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.instrumentation.support import parse, value

# A worker: serves `ok` good and `oom` failing requests through the app, sets two gauges, says
# "ready" and stays alive (live gauges count only live processes) until its stdin closes.
WORKER = """
import asyncio, sys
import httpx
from tests.instrumentation.support import generated, make_app

ok, oom, depth, ratio = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rm = generated()
metrics = rm.default_metrics()
app = make_app(rm, metrics)

async def main():
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
        urls = ["/generate/llama-7b?tokens=2"] * ok + ["/generate/llama-7b?fail=oom"] * oom
        await asyncio.gather(*(client.post(url) for url in urls))

asyncio.run(main())
metrics.queue_depth("llama-7b").set(depth)
metrics.set_kv_cache("llama-7b", hit_ratio=ratio)
print("ready", flush=True)
sys.stdin.read()
"""

SCRAPER = """
import asyncio
import httpx
from fastapi import FastAPI
from tests.instrumentation.support import generated

app = FastAPI()
app.include_router(generated().metrics_router)

async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://scraper") as client:
        print((await client.get("/metrics")).text)

asyncio.run(main())
"""


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(ROOT)}


def test_two_workers_merge_into_exact_sums(tmp_path: Path) -> None:
    env = _env(tmp_path)
    workers: list[subprocess.Popen[str]] = []
    try:
        # Started one after the other, so the second worker's gauge write is the most recent.
        for args in (["120", "5", "3", "0.5"], ["80", "3", "4", "0.8"]):
            worker = subprocess.Popen([sys.executable, "-c", WORKER, *args], cwd=ROOT, env=env, text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            workers.append(worker)
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        scrape = subprocess.run([sys.executable, "-c", SCRAPER], cwd=ROOT, env=env, text=True,
                                capture_output=True, timeout=120)
    finally:
        for worker in workers:
            worker.communicate(input="", timeout=60)
    assert scrape.returncode == 0, scrape.stderr
    samples = parse(scrape.stdout)

    route = "/generate/{model}"
    assert value(samples, "ryot_inference_requests_total", status="success") == 200
    assert value(samples, "ryot_inference_requests_total", status="error") == 8
    assert value(samples, "ryot_inference_errors_total", error_type="oom") == 8
    assert value(samples, "ryot_tokens_generated_total") == 2 * 200 + 3 * 8  # failing ones: 3 tokens
    assert value(samples, "ryot_inference_latency_seconds_count") == 208
    assert value(samples, "ryot_inference_latency_seconds_bucket", le="+Inf") == 208
    assert value(samples, "ryot_http_requests_total", route=route, status_class="2xx") == 200
    assert value(samples, "ryot_http_requests_total", route=route, status_class="5xx") == 8
    assert value(samples, "ryot_http_request_duration_seconds_count", route=route) == 208
    # Gauges follow the spec's modes: livesum adds the live workers, mostrecent keeps the last write.
    assert value(samples, "ryot_active_inference_requests") == 0
    assert value(samples, "ryot_queue_depth", model="llama-7b") == 7
    assert value(samples, "ryot_kv_cache_hit_ratio", model="llama-7b") == 0.8
    assert all(worker.returncode == 0 for worker in workers)
