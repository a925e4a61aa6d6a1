"""The CI example for users' repositories: the script passes on a fresh build and fails on drift."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import DEFAULT_SPEC, ROOT, require_binary

EXAMPLE = ROOT / "examples" / "ci"
SCRIPT = EXAMPLE / "check-monitoring.sh"


def _run(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["sh", str(SCRIPT), "specs/ryot.yaml", "generated"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=300)


def _user_repo(tmp_path: Path) -> Path:
    """A user's repository: their spec and the generated/ they committed."""
    repo = tmp_path / "repo"
    (repo / "specs").mkdir(parents=True)
    shutil.copy(DEFAULT_SPEC, repo / "specs" / "ryot.yaml")
    ryotgen = Path(sys.executable).parent / "ryotgen"
    subprocess.run([str(ryotgen), "build"], cwd=repo, check=True, capture_output=True, timeout=120)
    return repo


def test_script_runs_every_check_on_a_fresh_build(tmp_path: Path) -> None:
    require_binary("promtool")
    require_binary("amtool")
    result = _run(_user_repo(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    for step in ("ryotgen check", "promtool check config", "promtool check rules", "promtool test rules",
                 "amtool check-config"):
        assert f"==> {step}" in result.stdout


def test_script_stops_at_a_hand_edit_before_the_tools_run(tmp_path: Path) -> None:
    repo = _user_repo(tmp_path)
    guide = repo / "generated" / "docs" / "operations-guide.md"
    guide.write_text(guide.read_text(encoding="utf-8") + "edited by hand\n", encoding="utf-8")
    result = _run(repo)
    assert result.returncode == 1
    assert "docs/operations-guide.md" in result.stdout
    assert "==> promtool" not in result.stdout


def test_workflow_runs_the_script_after_installing_the_tools() -> None:
    workflow = yaml.safe_load((EXAMPLE / "github-actions.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["check"]["steps"]
    commands = "\n".join(step.get("run", "") for step in steps)
    assert "prometheus prometheus-alertmanager" in commands
    assert commands.rstrip().endswith("sh ci/check-monitoring.sh specs/ryot.yaml generated")
    assert {"pull_request", "push"} <= set(workflow[True])  # YAML 1.1 reads the `on` key as True


def test_pre_commit_hook_runs_ryotgen_check_on_spec_and_generated_changes() -> None:
    import re

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "ryotgen-check"]
    assert hook["entry"] == "ryotgen check"
    assert hook["pass_filenames"] is False
    assert hook["language"] == "python"
    pattern = re.compile(hook["files"])
    assert pattern.search("specs/ryot.yaml") and pattern.search("generated/docs/operations-guide.md")
    assert not pattern.search("src/app.py")
