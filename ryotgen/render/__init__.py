"""Renderers: pure functions Model -> {relative path: file text}. No I/O, no clock."""

from __future__ import annotations

from collections.abc import Callable

from ryotgen.model import Model

Renderer = Callable[[Model], dict[str, str]]


def renderers() -> list[Renderer]:
    """Every renderer, imported here so heavy libraries load only when a build needs them."""
    from ryotgen.render import alertmanager, docs, grafana, kubernetes, prometheus, python, scaleout, schema

    return [schema.render, alertmanager.render, python.render, grafana.render, prometheus.render,
            docs.render, kubernetes.render, scaleout.render]


def render_all(model: Model) -> dict[str, str]:
    """All artifacts, in path order. Two renderers claiming one path is a bug, not a spec error."""
    artifacts: dict[str, str] = {}
    for render in renderers():
        for path, text in render(model).items():
            if path in artifacts:
                raise RuntimeError(f"two renderers produce {path}")
            artifacts[path] = text
    return dict(sorted(artifacts.items()))
