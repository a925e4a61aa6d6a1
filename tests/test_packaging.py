"""The wheel carries the templates: build it, install it in a fresh venv, build a project elsewhere.

Installing the dependencies into the fresh venv takes pip ~20 s (from its cache or PyPI); the
test runs everywhere, CI included, and every step is bounded by a timeout.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import DEFAULT_SPEC, ROOT

IGNORE = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
                                "generated")


def run(args: list[str | Path], cwd: Path, timeout: int) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


def test_wheel_installs_in_a_fresh_venv_and_builds_a_project_elsewhere(tmp_path: Path) -> None:
    # Build from a copy, so the build leaves nothing behind in the working tree.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=IGNORE)
    run([sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", source], tmp_path, 300)
    (wheel,) = (tmp_path / "dist").glob("ryotgen-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], tmp_path, 120)
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel],
        tmp_path, 600)

    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    shutil.copy(DEFAULT_SPEC, project / "specs" / "ryot.yaml")
    run([venv / "bin" / "ryotgen", "build"], project, 120)

    module = project / "generated" / "python" / "ryot_metrics.py"
    assert module.is_file()
    assert module.read_text() == (ROOT / "generated" / "python" / "ryot_metrics.py").read_text()
    # Standalone: it imports with only ryotgen's own dependencies (prometheus_client) installed.
    run([venv / "bin" / "python", "-c", "import ryot_metrics; ryot_metrics.default_metrics()"],
        module.parent, 60)
