"""Shared pieces of the instrumentation tests: the generated module, a FastAPI app using it, scrapes."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from prometheus_client.parser import text_string_to_metric_families
from starlette.background import BackgroundTask

from tests.conftest import GENERATED

MODULE_PATH = GENERATED / "python" / "ryot_metrics.py"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def import_file(path: Path, name: str) -> ModuleType:
    """Import a generated module from a file under `name` (once per process)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def generated() -> ModuleType:
    return import_file(MODULE_PATH, "ryot_metrics")


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and label set."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (0 when there are none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def series_of(samples: Samples, family: str) -> int:
    """How many series a metric family exposes (histograms: buckets, _sum and _count)."""
    names = {family, family + "_bucket", family + "_sum", family + "_count"}
    return sum(1 for n, _ in samples if n in names)


class Clock:
    """A perf_counter stand-in the app advances, so durations are exact without timing."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


FAILURES = {
    # fail= query value: (what the endpoint does, the error_type it must be counted as)
    "oom": (lambda: MemoryError(), "oom"),
    "cuda-oom": (lambda: RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), "oom"),
    "invalid": (lambda: ValueError("prompt is longer than the context window"), "invalid_request"),
    "cuda": (lambda: RuntimeError("CUDA error: an illegal memory access was encountered"), "cuda_error"),
    "other": (lambda: RuntimeError("tokenizer crashed"), "other"),
}


def make_app(rm: ModuleType, metrics: Any) -> FastAPI:
    """A small inference server wired like the seed's deployment steps, on `metrics`."""
    app = FastAPI()
    app.add_middleware(rm.RyotMetricsMiddleware, metrics=metrics)
    app.include_router(metrics.router())

    @app.post("/generate/{model}")
    async def generate(model: str, tokens: int = 3, fail: str | None = None) -> Any:
        async with rm.InferenceMetricsContext(model=model, metrics=metrics, batch_size=2) as m:
            m.started()
            m.prompt_tokens(4)
            for _ in range(tokens):
                await asyncio.sleep(0)  # let the other requests interleave
                m.tokens(1)
            if fail == "timeout":
                async with asyncio.timeout(0):
                    await asyncio.sleep(3600)
            elif fail == "explicit":
                m.fail("invalid_request")
                return JSONResponse({"error": "bad prompt"}, status_code=422)
            elif fail is not None:
                raise FAILURES[fail][0]()
        return {"tokens": tokens}

    @app.post("/cancel/{model}")
    async def cancel(model: str) -> Any:
        """The generation task is cancelled while running (as when a client goes away)."""
        entered = asyncio.Event()

        async def work() -> None:
            async with rm.InferenceMetricsContext(model=model, metrics=metrics):
                entered.set()
                await asyncio.Event().wait()

        task = asyncio.create_task(work())
        await entered.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return {"cancelled": True}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> Any:
            for index in range(3):
                yield f"chunk {index}\n"
                app.state.clock.now += 2.0  # time passes between chunks

        def after_response() -> None:
            app.state.clock.now += 100.0  # background work must not count as request time

        return StreamingResponse(chunks(), background=BackgroundTask(after_response))

    return app
