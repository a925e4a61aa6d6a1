"""A simulated LLM inference service instrumented with the generated ryot_metrics module.

The instrumentation follows the seed guide's deployment steps exactly:

    app.add_middleware(RyotMetricsMiddleware)
    app.include_router(metrics_router)
    with InferenceMetricsContext(model=...) as m: ...

Endpoints: POST /v1/completions (streamed tokens or JSON), GET/PUT/DELETE /faults (fault
injection at runtime), GET /healthz, GET /metrics.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from ryot_metrics import (  # the generated module (generated/python on the import path)
    InferenceMetricsContext,
    RyotMetricsMiddleware,
    classify,
    default_metrics,
    metrics_router,
)

from examples.demo.sim import ERROR_STATUS, Faults, Profile, Scheduler, make_error

VOCABULARY = ("the", "model", "streams", "tokens", "while", "prometheus", "scrapes", "metrics", "and",
              "alertmanager", "routes", "alerts", "to", "a", "team")


class CompletionRequest(BaseModel):
    model: str = Field(min_length=1, max_length=200)
    prompt: str = ""
    max_tokens: int | None = Field(default=None, ge=1, le=4096,
                                   description="Tokens to generate; default: typical of the profile.")
    stream: bool = True


class FaultSettings(BaseModel):
    error_rates: dict[str, float] = Field(default_factory=dict)
    latency_factor: float = Field(default=1.0, ge=1.0, le=1000.0)
    capacity: float = Field(default=1.0, gt=0.0, le=1.0)


class Simulator:
    """Per-model schedulers and the token loop of one simulated deployment."""

    def __init__(self, profile: Profile, *, speed: float, slots: int, max_batch: int,
                 seed: int | None) -> None:
        self.profile = profile
        self.speed = speed
        self.slots = slots
        self.max_batch = max_batch
        self.faults = Faults()
        self.rng = random.Random(seed)
        self.schedulers: dict[str, Scheduler] = {}

    def scheduler(self, model: str) -> Scheduler:
        found = self.schedulers.get(model)
        if found is None:
            depth = default_metrics().queue_depth(model)
            found = self.schedulers[model] = Scheduler(
                slots=self.slots, max_batch=self.max_batch, batch_window=0.002 / self.speed,
                faults=self.faults, on_queue=lambda delta: depth.inc(delta))
        return found

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self.faults.latency_factor / self.speed)

    async def generate(self, request: CompletionRequest) -> AsyncIterator[str]:
        """Yields tokens; failures (injected) happen before the first token."""
        tokens = request.max_tokens or self.profile.completion_tokens(self.rng)
        async with InferenceMetricsContext(model=request.model) as m:
            m.prompt_tokens(len(request.prompt.split()))
            error = self.faults.pick_error(self.rng)
            if error == "invalid_request":  # rejected before it queues
                raise make_error(error)
            scheduler = self.scheduler(request.model)
            batch = await scheduler.admit()
            try:
                m.started()
                m.batch_size(batch)
                self._kv_cache(request.model, scheduler.active)
                await self.sleep(self.profile.ttft.draw(self.rng))  # prefill
                if error is not None:
                    raise make_error(error)
                m.first_token()
                rate = self.profile.token_rate.draw(self.rng)
                for index in range(tokens):
                    if index:
                        # Decoding slows down a little as the batch fills.
                        await self.sleep((1 + 0.5 * scheduler.active / self.slots) / rate)
                    m.tokens(1)
                    yield VOCABULARY[index % len(VOCABULARY)]
            finally:
                scheduler.release()

    def _kv_cache(self, model: str, active: int) -> None:
        # Roughly 40 MB of KV cache per sequence; hit ratio drops as the batch fills.
        default_metrics().set_kv_cache(model, hit_ratio=max(0.5, 0.95 - 0.02 * active),
                                       size_bytes=40e6 * active)


def create_app(profile: Profile | None = None, *, speed: float = 1.0, slots: int = 16,
               max_batch: int = 8, seed: int | None = None) -> FastAPI:
    """The demo service. `speed` divides every simulated delay (tests run at 20x or more)."""
    sim = Simulator(profile or Profile(), speed=speed, slots=slots, max_batch=max_batch, seed=seed)
    app = FastAPI(title=f"ryot demo ({sim.profile.name})")
    app.add_middleware(RyotMetricsMiddleware)
    app.include_router(metrics_router)
    app.state.simulator = sim

    @app.post("/v1/completions", response_model=None)
    async def completions(request: CompletionRequest) -> StreamingResponse | dict[str, Any]:
        tokens = sim.generate(request)
        try:
            first = await anext(tokens)  # errors before the first token become HTTP errors
        except Exception as exc:
            error_type = classify(exc)  # the same classification the metrics recorded
            raise HTTPException(ERROR_STATUS.get(error_type, 500), f"{error_type}: {exc}") from exc
        if not request.stream:
            text = [first] + [token async for token in tokens]
            return {"model": request.model, "text": " ".join(text),
                    "usage": {"prompt_tokens": len(request.prompt.split()), "completion_tokens": len(text)}}

        async def events() -> AsyncIterator[str]:
            yield f"data: {json.dumps({'token': first})}\n\n"
            async for token in tokens:
                yield f"data: {json.dumps({'token': token})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/faults")
    async def get_faults() -> FaultSettings:
        f = sim.faults
        return FaultSettings(error_rates=f.error_rates, latency_factor=f.latency_factor, capacity=f.capacity)

    @app.put("/faults")
    async def put_faults(settings: FaultSettings) -> FaultSettings:
        if sum(settings.error_rates.values()) > 1 or any(r < 0 for r in settings.error_rates.values()):
            raise HTTPException(422, "error rates are probabilities that sum to at most 1")
        sim.faults.error_rates = dict(settings.error_rates)
        sim.faults.latency_factor = settings.latency_factor
        sim.faults.capacity = settings.capacity
        return settings

    @app.delete("/faults")
    async def clear_faults() -> FaultSettings:
        return await put_faults(FaultSettings())

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"profile": sim.profile.name,
                "queued": {m: s.queued for m, s in sim.schedulers.items()},
                "active": {m: s.active for m, s in sim.schedulers.items()}}

    return app
