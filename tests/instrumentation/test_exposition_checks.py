"""GPU series from a stand-in NVML module, and the whole exposition through `promtool check metrics`."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from ryotgen.pipeline import load_model
from tests.conftest import DEFAULT_SPEC, require_binary
from tests.instrumentation.support import generated, parse, value

GIB = 1024**3


class NVMLError(Exception):
    """What pynvml raises."""


class FakeNvml(ModuleType):
    """Stands in for pynvml (nvidia-ml-py): the same functions, devices from a table, no GPU."""

    def __init__(self, devices: list[dict[str, Any]], init_error: bool = False) -> None:
        super().__init__("pynvml")
        self.devices = devices
        self.init_error = init_error
        self.init_calls = 0
        self.NVMLError = NVMLError

    def nvmlInit(self) -> None:
        self.init_calls += 1
        if self.init_error:
            raise NVMLError("NVML Shared Library Not Found")

    def nvmlDeviceGetCount(self) -> int:
        if any(d.get("count_fails") for d in self.devices):
            raise NVMLError("Unknown Error")
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> dict[str, Any]:
        return self.devices[index]

    def nvmlDeviceGetMemoryInfo(self, handle: dict[str, Any]) -> SimpleNamespace:
        if handle.get("lost"):
            raise NVMLError("GPU is lost")
        return SimpleNamespace(used=handle["used"], total=handle["total"], free=handle["total"] - handle["used"])

    def nvmlDeviceGetUtilizationRates(self, handle: dict[str, Any]) -> SimpleNamespace:
        return SimpleNamespace(gpu=handle["util"], memory=0)


@pytest.fixture(scope="module")
def rm() -> ModuleType:
    return generated()


def gpu_samples(rm: ModuleType, nvml: ModuleType | None, **kwargs: Any) -> dict[Any, float]:
    metrics = rm.RyotMetrics(registry=CollectorRegistry(), nvml=nvml, **kwargs)
    return {k: v for k, v in parse(metrics.exposition()[0].decode()).items() if k[0].startswith("ryot_gpu_")}


def test_nvml_memory_and_utilisation_map_to_their_series(rm: ModuleType) -> None:
    nvml = FakeNvml([{"used": 4 * GIB, "total": 16 * GIB, "util": 80},
                     {"used": 12 * GIB, "total": 16 * GIB, "util": 35}])
    samples = gpu_samples(rm, nvml, gpu_model="llama-7b")
    assert samples == {
        ("ryot_gpu_memory_percentage", frozenset({("model", "llama-7b"), ("gpu", "0")})): 25.0,
        ("ryot_gpu_memory_percentage", frozenset({("model", "llama-7b"), ("gpu", "1")})): 75.0,
        ("ryot_gpu_utilization_percent", frozenset({("gpu", "0")})): 80.0,
        ("ryot_gpu_utilization_percent", frozenset({("gpu", "1")})): 35.0,
    }


def test_nvml_model_label_is_guarded_and_gpus_beyond_the_label_set_share_other(rm: ModuleType) -> None:
    nvml = FakeNvml([{"used": GIB, "total": 2 * GIB, "util": 1}] * 10)
    samples = gpu_samples(rm, nvml, gpu_model="my-finetune")
    assert {dict(labels)["model"] for name, labels in samples if "memory" in name} == {"other"}
    assert {dict(labels)["gpu"] for _, labels in samples} == {*map(str, range(8)), "other"}


@pytest.mark.parametrize(("devices", "expected"), [
    pytest.param([{"used": GIB, "total": 4 * GIB, "util": 10}, {"lost": True, "util": 0}],
                 {("ryot_gpu_memory_percentage", "0"): 25.0, ("ryot_gpu_utilization_percent", "0"): 10.0},
                 id="a lost device drops only its own series"),
    pytest.param([{"used": 0, "total": 4 * GIB, "util": 10, "count_fails": True}], {},
                 id="a failing device count drops all GPU series"),
], )
def test_nvml_errors_do_not_break_the_scrape(rm: ModuleType, devices: list[dict[str, Any]],
                                             expected: dict[tuple[str, str], float]) -> None:
    samples = gpu_samples(rm, FakeNvml(devices))
    assert {(name, dict(labels)["gpu"]): v for (name, labels), v in samples.items()} == expected


def test_without_nvml_or_a_gpu_the_series_are_absent_and_init_is_not_retried(
        rm: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    no_gpu = FakeNvml([], init_error=True)
    metrics = rm.RyotMetrics(registry=CollectorRegistry(), nvml=no_gpu)
    for _ in range(3):
        assert "ryot_gpu" not in metrics.exposition()[0].decode()
    assert no_gpu.init_calls == 1

    monkeypatch.setitem(sys.modules, "pynvml", None)  # nvidia-ml-py not installed
    assert gpu_samples(rm, None) == {}


def test_pynvml_is_imported_lazily_at_the_first_scrape(rm: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = FakeNvml([{"used": GIB, "total": 2 * GIB, "util": 50}])
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    metrics = rm.RyotMetrics(registry=CollectorRegistry())
    assert nvml.init_calls == 0  # registering the collector does not touch NVML
    samples = parse(metrics.exposition()[0].decode())
    assert value(samples, "ryot_gpu_utilization_percent", gpu="0") == 50.0


def test_exposition_passes_promtool_except_names_the_spec_waives(rm: ModuleType) -> None:
    promtool = require_binary("promtool")
    metrics = rm.RyotMetrics(registry=CollectorRegistry(), gpu_model="llama-7b",
                             nvml=FakeNvml([{"used": GIB, "total": 2 * GIB, "util": 50}]))
    # Touch every metric so each family has samples.
    with rm.InferenceMetricsContext("llama-7b", metrics=metrics, batch_size=4) as m:
        m.started()
        m.prompt_tokens(3)
        m.tokens(2)
        m.tokens(2)
    with pytest.raises(MemoryError), rm.InferenceMetricsContext("llama-7b", metrics=metrics):
        raise MemoryError
    metrics.queue_depth("llama-7b").set(3)
    metrics.set_kv_cache("llama-7b", hit_ratio=0.9, size_bytes=2 * GIB)
    metrics.cache_evicted("llama-7b")
    metrics.observe_model_load("llama-7b", "cold_start", 12.0)
    metrics.record_http("POST", "/generate/{model}", 200, 0.2)
    text = metrics.exposition()[0].decode()
    model = load_model(DEFAULT_SPEC)
    assert {name for name in model.metrics if name not in text} == set()

    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                            timeout=60)
    flagged = {line.split()[0] for line in (result.stdout + result.stderr).splitlines() if line.strip()}
    waived = {name for name, info in model.metrics.items() if info.spec.waivers}
    assert flagged <= waived, result.stdout + result.stderr
