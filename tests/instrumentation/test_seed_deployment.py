"""The seed guide's five Quick Deployment steps, with the imports taken from the generated module."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ryotgen.pipeline import load_model
from tests.conftest import DEFAULT_SPEC, GENERATED
from tests.instrumentation.support import MODULE_PATH, parse, value

# Steps 2, 3 and 5 as a user writes them; runs in a fresh process with the copied module only.
APP = """
import asyncio, sys
import ryot_metrics
assert "fastapi" not in sys.modules, "importing ryot_metrics must not import FastAPI"
assert "pynvml" not in sys.modules

from fastapi import FastAPI

# 2. Add to FastAPI app
from ryot_metrics import RyotMetricsMiddleware
app = FastAPI()
app.add_middleware(RyotMetricsMiddleware)

# 3. Export metrics endpoint
from ryot_metrics import metrics_router
app.include_router(metrics_router)

# 5. Import metrics in inference code
from ryot_metrics import InferenceMetricsContext

@app.post("/v1/completions/{model}")
async def complete(model: str):
    async with InferenceMetricsContext(model=model) as m:
        m.first_token()
        m.tokens(16)
    return {"ok": True}

import httpx

async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        for _ in range(5):
            assert (await client.post("/v1/completions/llama-7b")).status_code == 200
        print((await client.get(sys.argv[1])).text)

asyncio.run(main())
"""


def test_the_seed_deployment_steps_work_against_the_generated_module(tmp_path: Path) -> None:
    # 1. Copy the metrics module into the project.
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(MODULE_PATH, project / "ryot_metrics.py")
    (project / "app.py").write_text(APP)

    # 4. The generated scrape config points Prometheus at the path the router serves.
    model = load_model(DEFAULT_SPEC)
    config = yaml.safe_load((GENERATED / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == model.spec.service.job)
    path = job.get("metrics_path", "/metrics")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PROMETHEUS_MULTIPROC_DIR")}
    result = subprocess.run([sys.executable, "app.py", path], cwd=project, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    samples = parse(result.stdout)
    assert value(samples, "ryot_inference_requests_total", model="llama-7b", status="success") == 5
    assert value(samples, "ryot_tokens_generated_total", model="llama-7b") == 80
    assert value(samples, "ryot_http_requests_total", route="/v1/completions/{model}", status_class="2xx") == 5
