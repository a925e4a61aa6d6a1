"""The only module that touches the output folder: atomic writes and drift checks."""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ryotgen.conventions import MARKER

# The marker sits in a file's first lines (YAML, Python, Markdown) or near the top of its JSON.
_MARKER_WINDOW = 4096


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def owned_files(out: Path) -> list[str]:
    """Relative paths of files under `out` that carry ryotgen's header."""
    if not out.is_dir():
        return []
    owned = []
    for path in sorted(out.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                head = handle.read(_MARKER_WINDOW)
            if MARKER.encode() in head:
                owned.append(path.relative_to(out).as_posix())
    return owned


def write(out: Path, artifacts: dict[str, str]) -> WriteReport:
    """Write every artifact, or none: stage each beside its target, then rename them all."""
    report = WriteReport()
    staged: list[tuple[Path, Path]] = []
    try:
        for rel, text in artifacts.items():
            target = out / rel
            if _read(target) == text:
                report.unchanged.append(rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            staged.append((Path(name), target))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.chmod(name, 0o644)
            report.written.append(rel)
    except BaseException:
        for staged_file, _ in staged:
            staged_file.unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)
    for rel in owned_files(out):
        if rel not in artifacts:
            (out / rel).unlink()
            report.removed.append(rel)
    return report


def drift(out: Path, artifacts: dict[str, str]) -> list[str]:
    """A unified diff per drifted, missing or extra file; empty when `out` matches."""
    diffs = []
    for rel, expected in artifacts.items():
        actual = _read(out / rel)
        if actual == expected:
            continue
        before = [] if actual is None else actual.splitlines(keepends=True)
        label = f"{rel} (missing)" if actual is None else rel
        diffs.append(_diff(before, expected.splitlines(keepends=True), label))
    for rel in owned_files(out):
        if rel not in artifacts:
            actual = _read(out / rel) or ""
            diffs.append(_diff(actual.splitlines(keepends=True), [], f"{rel} (extra: no longer generated)"))
    return diffs


def _diff(before: list[str], after: list[str], label: str) -> str:
    lines = difflib.unified_diff(before, after, fromfile=f"a/{label}", tofile=f"b/{label}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)
