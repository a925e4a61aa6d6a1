"""`--help`, `validate` and `schema` never import the renderers' heavy libraries.

They run in pre-commit hooks and editors, so they pay only for the spec. Each case runs the
real CLI in a fresh interpreter and reports which heavy modules it loaded before exiting.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_SPEC, MINIMAL_SPEC, ROOT

HEAVY = ("grafanalib", "jinja2", "prometheus_client")

# Runs the CLI in-process; at exit (after typer's SystemExit) prints the heavy modules loaded.
PROBE = f"""
import atexit, sys
heavy = {HEAVY!r}
atexit.register(lambda: print("LOADED", *sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy))))
sys.argv = ["ryotgen", *sys.argv[1:]]
from ryotgen.cli import main
main()
"""


def _loaded(*args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("LOADED"), result.stdout + result.stderr
    return set(last.split()[1:])


@pytest.mark.parametrize("args", [
    pytest.param(["--help"], id="--help"),
    pytest.param(["validate", "--spec", str(DEFAULT_SPEC)], id="validate the default spec"),
    pytest.param(["validate", "--spec", str(MINIMAL_SPEC)], id="validate the minimal spec"),
    pytest.param(["validate", "--spec", str(ROOT / "no-such-spec.yaml")], id="validate a missing spec"),
    pytest.param(["schema"], id="schema"),
])
def test_command_does_not_import_renderer_libraries(args: list[str]) -> None:
    assert _loaded(*args) == set()


def test_build_does_import_them(tmp_path: Path) -> None:
    # The control: the probe sees imports, so an empty set above means something.
    assert "jinja2" in _loaded("build", "--spec", str(DEFAULT_SPEC), "--out", str(tmp_path / "out"))
