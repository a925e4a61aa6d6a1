"""Shared test helpers: the repository layout and real binaries that may be missing locally."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT / "specs" / "ryot.yaml"
MINIMAL_SPEC = ROOT / "tests" / "specs" / "minimal.yaml"
GENERATED = ROOT / "generated"
IN_CI = os.environ.get("CI") == "true"


def require_binary(name: str) -> str:
    """Path of a real binary; skip without it on a developer machine, fail in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install prometheus prometheus-alertmanager)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path
