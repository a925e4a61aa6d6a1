"""The demo service over real HTTP (uvicorn on 127.0.0.1), instrumented by the generated module:
exact counts in /metrics, injected faults answer and count as their error type, a capacity fault
makes the queue grow."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ryotgen import stack
from tests.conftest import GENERATED, ROOT

MODEL = "llama-7b"


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    port = stack.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "examples.demo", "--port", str(port), "--speed", "20", "--slots", "4",
         "--seed", "1"],
        cwd=ROOT, env={"PYTHONPATH": f"{GENERATED / 'python'}:{ROOT}", "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
                assert time.monotonic() < deadline, "demo did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(url: str, name: str, **labels: str) -> float:
    return _samples(url).get((name, tuple(sorted(labels.items()))), 0.0)


def _complete(url: str, max_tokens: int, *, stream: bool = True, model: str = MODEL) -> tuple[int, str]:
    request = urllib.request.Request(
        f"{url}/v1/completions", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"model": model, "prompt": "say hello", "max_tokens": max_tokens,
                         "stream": stream}).encode())
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _faults(url: str, method: str, body: object | None = None) -> int:
    request = urllib.request.Request(f"{url}/faults", method=method, headers={"Content-Type": "application/json"},
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_streamed_and_plain_completions_are_counted_exactly(demo: str) -> None:
    before = _samples(demo)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return _samples(demo).get(key, 0.0) - before.get(key, 0.0)

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda i: _complete(demo, 5 + i % 3, stream=i % 2 == 0), range(24)))

    assert {status for status, _ in replies} == {200}
    streamed = [body for (status, body), i in zip(replies, range(24), strict=True) if i % 2 == 0]
    assert all(body.count("data: {") == 5 + i % 3 for body, i in zip(streamed, range(0, 24, 2), strict=True))
    assert delta("ryot_inference_requests_total", model=MODEL, status="success") == 24
    assert delta("ryot_tokens_generated_total", model=MODEL) == sum(5 + i % 3 for i in range(24))
    assert delta("ryot_prompt_tokens_total", model=MODEL) == 24 * 2
    assert delta("ryot_ttft_latency_seconds_count", model=MODEL) == 24
    assert delta("ryot_batch_size_distribution_count", model=MODEL) == 24
    assert _value(demo, "ryot_active_inference_requests", model=MODEL) == 0
    assert _value(demo, "ryot_queue_depth", model=MODEL) == 0


FAULTS = [
    pytest.param("oom", 503, id="out of memory answers 503 and counts as oom"),
    pytest.param("timeout", 504, id="a timeout answers 504 and counts as timeout"),
    pytest.param("invalid_request", 400, id="an invalid request answers 400 and counts as invalid_request"),
    pytest.param("cuda_error", 500, id="a CUDA error answers 500 and counts as cuda_error"),
]


@pytest.mark.parametrize(("error_type", "status"), FAULTS)
def test_an_injected_error_answers_its_status_and_is_counted_as_its_type(
        demo: str, error_type: str, status: int) -> None:
    before = _value(demo, "ryot_inference_errors_total", model=MODEL, error_type=error_type)
    assert _faults(demo, "PUT", {"error_rates": {error_type: 1.0}}) == 200
    try:
        replies = [_complete(demo, 3) for _ in range(3)]
    finally:
        assert _faults(demo, "DELETE") == 200
    assert [code for code, _ in replies] == [status] * 3
    assert all(error_type in body for _, body in replies)
    assert _value(demo, "ryot_inference_errors_total", model=MODEL, error_type=error_type) == before + 3
    assert _complete(demo, 3)[0] == 200  # cleared
    assert _value(demo, "ryot_active_inference_requests", model=MODEL) == 0


def test_an_unknown_model_is_served_but_recorded_as_other(demo: str) -> None:
    before = _value(demo, "ryot_inference_requests_total", model="other", status="success")
    assert _complete(demo, 2, model="gpt-unknown-ä")[0] == 200
    assert _value(demo, "ryot_inference_requests_total", model="other", status="success") == before + 1


def test_a_capacity_fault_makes_the_queue_grow_and_it_drains_afterwards(demo: str) -> None:
    assert _faults(demo, "PUT", {"capacity": 0.25}) == 200  # 4 slots -> 1
    try:
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(_complete, demo, 400) for _ in range(8)]
            peak = 0.0
            while not all(f.done() for f in futures):
                peak = max(peak, _value(demo, "ryot_queue_depth", model=MODEL))
            assert [f.result()[0] for f in futures] == [200] * 8
    finally:
        _faults(demo, "DELETE")
    assert peak >= 3  # one runs, the others wait
    assert _value(demo, "ryot_queue_depth", model=MODEL) == 0
    assert _value(demo, "ryot_queue_wait_seconds_count", model=MODEL) > 0


@pytest.mark.parametrize("body", [
    pytest.param({"error_rates": {"oom": 0.8, "timeout": 0.5}}, id="error rates above 1 in total"),
    pytest.param({"latency_factor": 0.5}, id="a latency factor below 1"),
    pytest.param({"capacity": 0}, id="no capacity at all"),
])
def test_impossible_fault_settings_are_rejected(demo: str, body: dict[str, object]) -> None:
    assert _faults(demo, "PUT", body) == 422
