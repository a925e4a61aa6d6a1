"""The generated module inside a real FastAPI app, driven over HTTP through the ASGI stack."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import ModuleType
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from prometheus_client import CollectorRegistry

from ryotgen.pipeline import load_model
from tests.conftest import DEFAULT_SPEC
from tests.instrumentation.support import (
    FAILURES,
    Clock,
    Samples,
    generated,
    make_app,
    parse,
    series_of,
    value,
)

KNOWN_MODELS = ("bitnet-1.58b", "llama-7b", "llama-70b")


@pytest.fixture(scope="module")
def rm() -> ModuleType:
    return generated()


@pytest.fixture
def metrics(rm: ModuleType) -> Any:
    return rm.RyotMetrics(registry=CollectorRegistry())


async def _drive(app: Any, requests: list[tuple[str, str]]) -> tuple[list[int], Samples]:
    """Send every (method, url) concurrently, then scrape /metrics."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        responses = await asyncio.gather(*(client.request(m, url) for m, url in requests))
        scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    return [r.status_code for r in responses], parse(scrape.text)


def drive(app: Any, requests: list[tuple[str, str]]) -> tuple[list[int], Samples]:
    return asyncio.run(_drive(app, requests))


def test_500_concurrent_requests_are_counted_exactly(rm: ModuleType, metrics: Any) -> None:
    requests = [("POST", f"/generate/{KNOWN_MODELS[i % 3]}?tokens={i % 7 + 1}") for i in range(500)]
    statuses, samples = drive(make_app(rm, metrics), requests)

    assert statuses == [200] * 500
    route = "/generate/{model}"
    assert value(samples, "ryot_http_requests_total", route=route, status_class="2xx", method="POST") == 500
    assert value(samples, "ryot_http_request_duration_seconds_count", route=route) == 500
    assert value(samples, "ryot_inference_requests_total", status="success") == 500
    assert value(samples, "ryot_inference_requests_total", status="error") == 0
    per_model = Counter(KNOWN_MODELS[i % 3] for i in range(500))
    tokens = Counter()
    for i in range(500):
        tokens[KNOWN_MODELS[i % 3]] += i % 7 + 1
    for model in KNOWN_MODELS:
        assert value(samples, "ryot_inference_latency_seconds_count", model=model) == per_model[model]
        assert value(samples, "ryot_ttft_latency_seconds_count", model=model) == per_model[model]
        assert value(samples, "ryot_queue_wait_seconds_count", model=model) == per_model[model]
        assert value(samples, "ryot_batch_size_distribution_count", model=model) == per_model[model]
        assert value(samples, "ryot_batch_size_distribution_sum", model=model) == 2 * per_model[model]
        assert value(samples, "ryot_tokens_generated_total", model=model) == tokens[model]
        assert value(samples, "ryot_prompt_tokens_total", model=model) == 4 * per_model[model]
        # One inter-token gap per tokens() call after the first.
        assert value(samples, "ryot_inter_token_latency_seconds_count", model=model) == (
            tokens[model] - per_model[model])
        assert value(samples, "ryot_active_inference_requests", model=model) == 0
    # +Inf bucket equals the count: every observation landed in the histogram.
    assert value(samples, "ryot_inference_latency_seconds_bucket", le="+Inf") == 500


def test_exceptions_and_cancellations_are_each_counted_once(rm: ModuleType, metrics: Any) -> None:
    kinds = [*FAILURES, "timeout", "explicit", "cancel", "ok"]
    requests = []
    for i in range(140):
        kind = kinds[i % len(kinds)]
        if kind == "cancel":
            requests.append(("POST", "/cancel/llama-7b"))
        else:
            requests.append(("POST", "/generate/llama-7b" + ("" if kind == "ok" else f"?fail={kind}")))
    statuses, samples = drive(make_app(rm, metrics), requests)

    count = Counter(kinds[i % len(kinds)] for i in range(140))
    expected = Counter({"timeout": count["timeout"], "invalid_request": count["explicit"],
                        "other": count["cancel"]})
    for kind, (_, error_type) in FAILURES.items():
        expected[error_type] += count[kind]
    raised = sum(count[k] for k in [*FAILURES, "timeout"])
    assert Counter(statuses) == {500: raised, 422: count["explicit"], 200: count["ok"] + count["cancel"]}
    for error_type in ("oom", "timeout", "invalid_request", "cuda_error", "other"):
        assert value(samples, "ryot_inference_errors_total", error_type=error_type) == expected[error_type], (
            error_type)
    failed = sum(expected.values())
    assert value(samples, "ryot_inference_requests_total", status="error") == failed
    assert value(samples, "ryot_inference_requests_total", status="success") == count["ok"]
    assert value(samples, "ryot_inference_latency_seconds_count") == 140
    assert value(samples, "ryot_active_inference_requests") == 0
    assert value(samples, "ryot_http_requests_total", status_class="5xx") == raised
    assert value(samples, "ryot_http_requests_total", status_class="4xx") == count["explicit"]


@pytest.mark.parametrize(("raised", "error_type"), [
    pytest.param(MemoryError(), "oom", id="MemoryError is oom"),
    pytest.param(RuntimeError("CUDA out of memory"), "oom", id="CUDA out of memory is oom, not cuda_error"),
    pytest.param(TimeoutError(), "timeout", id="TimeoutError is timeout"),
    pytest.param(ConnectionError("upstream timeout"), "other", id="timeout in a message alone is not a timeout"),
    pytest.param(ValueError("timeout must be positive"), "invalid_request",
                 id="a ValueError mentioning timeout is an invalid request"),
    pytest.param(TypeError("messages must be a list"), "invalid_request", id="TypeError is invalid_request"),
    pytest.param(KeyError("prompt"), "invalid_request", id="KeyError is invalid_request"),
    pytest.param(RuntimeError("CUDA error: device-side assert"), "cuda_error", id="CUDA message is cuda_error"),
    pytest.param(type("CudaDriverError", (Exception,), {})(), "cuda_error", id="Cuda in the type is cuda_error"),
    pytest.param(RuntimeError("boom"), "other", id="anything else is the fallback"),
    pytest.param(asyncio.CancelledError(), "other", id="cancellation is the fallback"),
])
def test_exception_is_classified_counted_once_and_reraised_unchanged(
        rm: ModuleType, metrics: Any, raised: BaseException, error_type: str) -> None:
    with pytest.raises(type(raised)) as caught, rm.InferenceMetricsContext("llama-7b", metrics=metrics):
        raise raised
    assert caught.value is raised
    samples = parse(metrics.exposition()[0].decode())
    assert value(samples, "ryot_inference_errors_total") == 1
    assert value(samples, "ryot_inference_errors_total", error_type=error_type, model="llama-7b") == 1
    assert value(samples, "ryot_inference_requests_total", status="error") == 1
    assert value(samples, "ryot_active_inference_requests") == 0


def test_explicit_fail_wins_over_the_exception_and_counts_once(rm: ModuleType, metrics: Any) -> None:
    with pytest.raises(RuntimeError), rm.InferenceMetricsContext("llama-7b", metrics=metrics) as m:
        m.fail("cuda_error")
        raise RuntimeError("boom")
    with rm.InferenceMetricsContext("llama-7b", metrics=metrics) as m:
        m.fail("disk full")  # not an error type of the spec
    samples = parse(metrics.exposition()[0].decode())
    assert value(samples, "ryot_inference_errors_total", error_type="cuda_error") == 1
    assert value(samples, "ryot_inference_errors_total", error_type="other") == 1
    assert value(samples, "ryot_inference_errors_total") == 2


def test_unknown_models_land_in_other_and_series_stay_within_the_estimate(rm: ModuleType, metrics: Any) -> None:
    names = [*KNOWN_MODELS, *(f"user-model-{i}" for i in range(60)), 'a "quoted" name', "x" * 500]
    requests = [("POST", f"/generate/{quote(n, safe='')}?fail=oom") for n in names]
    requests += [("POST", f"/generate/{n}") for n in names[:10]]
    requests += [("GET", f"/no/such/page/{i}") for i in range(30)] + [("PUT", "/metrics")]
    for model in names:  # the helpers outside a request guard their labels too
        metrics.queue_depth(model).inc()
        metrics.set_kv_cache(model, hit_ratio=0.5, size_bytes=1024)
        metrics.cache_evicted(model)
        metrics.observe_model_load(model, "hot_swap", 1.0)
    _, samples = drive(make_app(rm, metrics), requests)

    models = {dict(labels).get("model") for _, labels in samples} - {None}
    assert models == {*KNOWN_MODELS, "other"}
    assert value(samples, "ryot_inference_requests_total", model="other") == len(names) - 3 + 7
    assert value(samples, "ryot_queue_depth", model="other") == len(names) - 3
    assert value(samples, "ryot_model_loading_time_seconds_count", load_type="other") == len(names)
    routes = {dict(labels).get("route") for _, labels in samples} - {None}
    assert routes == {"/generate/{model}", "/metrics", "other"}
    assert value(samples, "ryot_http_requests_total", route="other", status_class="4xx") == 30
    assert value(samples, "ryot_http_requests_total", method="other") == 1

    model = load_model(DEFAULT_SPEC)
    for name, info in model.metrics.items():
        assert series_of(samples, name) <= info.series_estimate, name


def test_route_label_stops_growing_at_the_spec_limit(rm: ModuleType, metrics: Any) -> None:
    limit = rm.LABELS["route"].limit
    label = rm.Label("route", (), "other", limit=limit)
    recorded = {label(f"/r{i}") for i in range(limit + 25)}
    assert len(recorded) == limit + 1
    assert "other" in recorded


def test_streaming_response_is_timed_to_its_last_chunk(rm: ModuleType, metrics: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(rm, metrics)
    app.state.clock = Clock()
    monkeypatch.setattr(rm, "perf_counter", app.state.clock)
    statuses, samples = drive(app, [("GET", "/stream")])

    assert statuses == [200]
    # Three chunks, 2 s apart in app time; the 100 s background task runs after the last one.
    assert value(samples, "ryot_http_request_duration_seconds_sum", route="/stream") == 6.0
    assert value(samples, "ryot_http_request_duration_seconds_count", route="/stream") == 1


def test_context_records_ttft_queue_wait_and_inter_token_latency_from_call_spacing(
        rm: ModuleType, metrics: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(rm, "perf_counter", clock)
    with rm.InferenceMetricsContext("llama-70b", metrics=metrics) as m:
        clock.now += 0.5
        m.started()
        m.started()  # once only
        clock.now += 0.25
        m.first_token()
        m.tokens(1)
        clock.now += 0.1
        m.tokens(1)
        clock.now += 1.0
        m.tokens(4)  # four tokens in 1 s: 0.25 s each
        m.first_token()  # once only
        clock.now += 0.15
    samples = parse(metrics.exposition()[0].decode())
    model = {"model": "llama-70b"}
    assert value(samples, "ryot_queue_wait_seconds_sum", **model) == 0.5
    assert value(samples, "ryot_ttft_latency_seconds_sum", **model) == 0.75
    assert value(samples, "ryot_ttft_latency_seconds_count", **model) == 1
    assert value(samples, "ryot_inter_token_latency_seconds_count", **model) == 2
    assert value(samples, "ryot_inter_token_latency_seconds_sum", **model) == pytest.approx(0.35)
    assert value(samples, "ryot_tokens_generated_total", **model) == 6
    assert value(samples, "ryot_inference_latency_seconds_sum", **model) == pytest.approx(2.0)


def test_tokens_alone_mark_the_first_token(rm: ModuleType, metrics: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(rm, "perf_counter", clock)
    with rm.InferenceMetricsContext("llama-7b", metrics=metrics) as m:
        clock.now += 0.5
        m.tokens(1)
        clock.now += 0.5
        m.tokens(0)  # nothing generated: nothing recorded
    samples = parse(metrics.exposition()[0].decode())
    assert value(samples, "ryot_ttft_latency_seconds_sum") == 0.5
    assert value(samples, "ryot_inter_token_latency_seconds_count") == 0
    assert value(samples, "ryot_tokens_generated_total") == 1


def test_model_load_timer_records_successful_loads_only(rm: ModuleType, metrics: Any) -> None:
    with metrics.model_load("llama-7b", "cold_start"):
        pass
    with pytest.raises(OSError), metrics.model_load("llama-7b", "warm_start"):
        raise OSError("weights missing")
    samples = parse(metrics.exposition()[0].decode())
    assert value(samples, "ryot_model_loading_time_seconds_count", load_type="cold_start") == 1
    assert value(samples, "ryot_model_loading_time_seconds_count", load_type="warm_start") == 0


@pytest.mark.parametrize(("accept", "content_type", "ends_with"), [
    pytest.param(None, "text/plain; version=0.0.4; charset=utf-8", "", id="no Accept: Prometheus text"),
    pytest.param("application/openmetrics-text; version=1.0.0", "application/openmetrics-text", "# EOF\n",
                 id="OpenMetrics when the scraper asks"),
    pytest.param("text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "text/plain", "", id="Prometheus' own Accept"),
])
def test_metrics_endpoint_negotiates_the_format(rm: ModuleType, metrics: Any, accept: str | None,
                                                content_type: str, ends_with: str) -> None:
    app = make_app(rm, metrics)

    async def scrape() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.post("/generate/llama-7b")
            return await client.get("/metrics", headers={"accept": accept} if accept else {})

    response = asyncio.run(scrape())
    assert response.headers["content-type"].startswith(content_type)
    assert response.text.endswith(ends_with)
    assert "ryot_inference_requests_total" in response.text
    assert "_created" not in response.text  # disabled: the spec's series estimate has no room for them
