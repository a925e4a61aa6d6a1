"""The standalone instrumentation module `ryot_metrics.py`, rendered from templates/ryot_metrics.py.j2.

This module decides *what* the generated code contains (metric definitions, closed label sets,
which metric each instrumentation call feeds, the exception classification); the template
decides how it reads. Only names validated by the spec and constants from this file reach the
source raw; every spec string goes through `pyrepr`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ryotgen import conventions
from ryotgen.model import MetricInfo, Model
from ryotgen.templating import render_template

TEMPLATE = "ryot_metrics.py.j2"
# The collector reads these from NVML at scrape time instead of defining a settable Gauge.
NVML_ROLES = ("gpu_memory_percentage", "gpu_utilization_percent")
ERROR_TYPE_LABEL = "error_type"

# How an exception becomes an error type, first match wins: (error type, exception classes,
# lower-case words in the class name, lower-case words in the message). A rule is rendered only
# when the spec's error_type label lists its type; anything unmatched becomes the fallback.
# Timeouts are matched by type only: "timeout" in a ValueError's message is an invalid request.
ERROR_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    ("oom", ("MemoryError",), ("outofmemory",), ("out of memory",)),
    ("timeout", ("TimeoutError",), ("timeout",), ()),
    ("cancelled", ("asyncio.CancelledError",), (), ()),
    ("cuda_error", (), ("cuda",), ("cuda",)),
    ("invalid_request", ("ValueError", "TypeError", "KeyError"), (), ()),
)


@dataclass(frozen=True)
class MetricView:
    """One metric as the template writes it."""

    name: str
    cls: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] | None
    unit: str | None
    multiprocess_mode: str | None
    role: str | None
    initialise: bool  # export every label combination at 0 from start-up


@dataclass(frozen=True)
class LabelView:
    name: str
    values: tuple[str, ...]
    fallback: str | None
    limit: int | None


@dataclass(frozen=True)
class ErrorRule:
    error_type: str
    types: str  # a Python tuple expression of exception classes
    in_name: tuple[str, ...]
    in_message: tuple[str, ...]


def _metric(model: Model, info: MetricInfo) -> MetricView:
    spec = info.spec
    # prometheus_client appends a unit the name lacks; pass it only where the name already ends
    # with it, so names stay exactly as the spec has them.
    stem = spec.name.removesuffix("_total")
    unit = spec.unit if spec.unit and stem.endswith("_" + spec.unit) else None
    return MetricView(
        name=spec.name,
        cls=spec.type.capitalize(),
        help=spec.help,
        labels=tuple(spec.labels),
        buckets=tuple(float(b) for b in spec.buckets) if spec.buckets else None,
        unit=unit,
        multiprocess_mode=spec.multiprocess_mode if spec.type == "gauge" else None,
        role=conventions.instrumentation_role(model.prefix, spec.name),
        initialise=spec.type == "counter" and bool(spec.labels) and info.closed,
    )


def _error_rules(model: Model) -> list[ErrorRule]:
    label = model.spec.labels.get(ERROR_TYPE_LABEL)
    known = set(label.values) if label else set()
    return [
        ErrorRule(error_type, "(" + "".join(f"{t}, " for t in types) + ")", in_name, in_message)
        for error_type, types, in_name, in_message in ERROR_RULES
        if error_type in known
    ]


def _fallback(model: Model, label: str) -> str:
    found = model.spec.labels.get(label)
    return (found.fallback if found else None) or "other"


def context(model: Model) -> dict[str, object]:
    """Everything the template needs, computed from the model."""
    metrics = [_metric(model, info) for info in model.metrics.values()]
    gpu = {m.role: m for m in metrics if m.role in NVML_ROLES}
    return {
        "header": model.header,
        "title": model.spec.service.title,
        "metrics_path": model.spec.service.metrics_path,
        "metrics": [m for m in metrics if m.role not in NVML_ROLES],
        "gpu_memory": gpu.get("gpu_memory_percentage"),
        "gpu_util": gpu.get("gpu_utilization_percent"),
        "labels": [
            LabelView(name, tuple(s.values), s.fallback, s.max_values if not s.values else None)
            for name, s in model.spec.labels.items()
        ],
        "error_rules": _error_rules(model),
        "error_fallback": _fallback(model, ERROR_TYPE_LABEL),
        "unmatched_route": _fallback(model, "route"),
        "status_success": conventions.STATUS_SUCCESS,
        "status_error": conventions.STATUS_ERROR,
    }


def render(model: Model) -> dict[str, str]:
    return {conventions.PYTHON_MODULE_PATH: render_template(TEMPLATE, **context(model))}
