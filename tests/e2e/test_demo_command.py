"""`ryotgen demo` as a user runs it: a clear message without the binaries, and a short real run
that shows the live view and leaves no process or temporary folder behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import DEFAULT_SPEC, ROOT, require_binary

RYOTGEN = [sys.executable, "-m", "ryotgen"]


def _stack_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("ryotgen-stack-*")}


def test_without_prometheus_the_command_says_how_to_install_it(tmp_path: Path) -> None:
    # A PATH with python but neither prometheus nor Alertmanager on it.
    (tmp_path / "python").symlink_to(sys.executable)
    result = subprocess.run([*RYOTGEN, "demo", "--spec", str(DEFAULT_SPEC), "--duration", "1"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env={**os.environ, "PATH": str(tmp_path)})
    assert result.returncode == 2
    assert "prometheus and prometheus-alertmanager not found" in result.stderr
    assert "apt-get install prometheus prometheus-alertmanager" in result.stderr


def test_a_short_demo_shows_live_numbers_and_stops_everything_it_started() -> None:
    require_binary("prometheus")
    require_binary("prometheus-alertmanager")
    before = _stack_dirs()
    # 25 s leaves room for two scrapes after start-up on a loaded machine.
    result = subprocess.run([*RYOTGEN, "demo", "--duration", "25", "--interval", "1s", "--speed", "5"],
                            capture_output=True, text=True, timeout=90, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    frames = result.stdout.split("ryotgen demo  ")
    assert len(frames) >= 3
    last = frames[-1]
    assert re.search(r"Prometheus +http://127\.0\.0\.1:\d+/alerts", last)
    assert re.search(r"Alertmanager +http://127\.0\.0\.1:\d+", last)
    assert last.count("demo target") == 3
    assert re.search(r"request rate +\d+\.\d+ req/s", last), last
    assert re.search(r"load: [1-9]\d* ok", last)
    assert result.stdout.rstrip().endswith("stopped: every process ended, temporary files removed.")
    assert _stack_dirs() == before
    ports = re.findall(r"http://127\.0\.0\.1:(\d+)", last)
    assert ports and not [p for p in ports if _listening(int(p))]


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
