"""load -> model -> render, composed once for every command."""

from __future__ import annotations

import os
from pathlib import Path

from ryotgen.loader import load_spec
from ryotgen.model import Model, build_model


def display_path(spec: Path, out: Path | None) -> str:
    """How headers name the spec: relative to the project (the output folder's parent).

    Independent of the working directory, so builds from anywhere are byte-identical.
    """
    base = out.resolve().parent if out is not None else Path.cwd()
    return Path(os.path.relpath(spec.resolve(), base)).as_posix()


def load_model(spec: Path, out: Path | None = None) -> Model:
    """Validate the spec fully; raises SpecError with every problem."""
    parsed, source = load_spec(spec)
    return build_model(parsed, source, display_path(spec, out))


def render(spec: Path, out: Path) -> dict[str, str]:
    """Every artifact for `spec`, in memory."""
    from ryotgen.render import render_all

    return render_all(load_model(spec, out))
