"""Benchmark `ryotgen` against the import floor, side by side in one run. Not a test.

    python bench/build.py            # full run (about a minute)
    python bench/build.py --quick    # fewer repetitions

Every measurement is a fresh subprocess (what pre-commit and CI pay), timed wall-clock, with
its peak RSS from os.wait4. Cases run interleaved, repetition by repetition, after one untimed
warm-up each, so drift in machine load hits every case alike; medians are reported. See
bench/README.md for what each ratio means.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
FLOOR_IMPORTS = "import typer, pydantic, yaml, jinja2, grafanalib, prometheus_client"
# `import pydantic` and `import grafanalib` are lazy packages: the modules a build really loads
# (pydantic's model machinery, grafanalib.core's ~100 attrs classes) cost as much again.
USED_IMPORTS = ("import typer, yaml, jinja2, grafanalib.core, prometheus_client, pydantic.json_schema; "
                "from pydantic import BaseModel, TypeAdapter")
# Children may cache bytecode, as on any normal install: with PYTHONDONTWRITEBYTECODE set (some
# sandboxes set it) every run would recompile ryotgen's own modules but not the libraries' (their
# .pyc files came with pip install), which skews the comparison with the import floor.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
SIZES = (("default", 1), ("10x", 10), ("100x", 100))
COMMANDS = ("validate", "build", "check")


@dataclass
class Case:
    label: str
    argv: Callable[[int], list[str]]  # repetition -> command line
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    large: bool = False

    def median(self, cpu: bool = False) -> float:
        return statistics.median(self.cpu if cpu else self.times)

    def peak(self) -> float:
        return max(self.rss_mb)


def run(argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one child process; raises if it fails."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=CHILD_ENV, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            message = err.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{message}")
    # ru_maxrss is in KiB on Linux.
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def ryotgen_command() -> list[str]:
    script = Path(sys.executable).parent / "ryotgen"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ryotgen"]


def make_cases(work: Path, sizes: tuple[tuple[str, int], ...]) -> list[Case]:
    ryotgen = ryotgen_command()
    cases = [
        Case("python -c pass", lambda _: [sys.executable, "-c", "pass"]),
        Case("import floor", lambda _: [sys.executable, "-c", FLOOR_IMPORTS]),
        Case("floor, used mods", lambda _: [sys.executable, "-c", USED_IMPORTS]),
        Case("ryotgen --help", lambda _: [*ryotgen, "--help"]),
    ]
    for label, n in sizes:
        spec = ROOT / "specs" / "ryot.yaml"
        if n != 1:
            # Generated in a child: the parent stays small, and a forked child's peak RSS
            # starts from the parent's.
            spec = work / f"spec-{label}.yaml"
            run([sys.executable, str(ROOT / "bench" / "large_spec.py"), "--scale", str(n),
                 "--out", str(spec)])
        out = work / label

        def argv(command: str, spec: Path = spec, out: Path = out) -> Callable[[int], list[str]]:
            # Each repetition builds into a fresh folder (every file written), and `check`
            # compares with the folder its repetition built.
            if command == "validate":
                return lambda _: [*ryotgen, "validate", "--spec", str(spec)]
            return lambda rep: [*ryotgen, command, "--spec", str(spec), "--out", str(out / f"r{rep}")]

        cases += [Case(f"{command} {label}", argv(command), large=n != 1) for command in COMMANDS]
    return cases


def measure(cases: list[Case], reps: int, large_reps: int) -> None:
    for case in cases:  # warm-up: .pyc files, page cache, and the output folders `check` reads
        run(case.argv(0))
    for rep in range(max(reps, large_reps)):
        for case in cases:
            if rep < (large_reps if case.large else reps):
                elapsed, cpu, rss = run(case.argv(rep))
                case.times.append(elapsed)
                case.cpu.append(cpu)
                case.rss_mb.append(rss)
        print(f"  repetition {rep + 1} done", file=sys.stderr, flush=True)


def report(cases: list[Case]) -> int:
    by = {c.label: c for c in cases}
    print(f"{'case':<18} {'wall ms':>8} {'min ms':>7} {'max ms':>7} {'cpu ms':>7} {'peak MB':>8} "
          f"{'runs':>5}")
    for c in cases:
        print(f"{c.label:<18} {c.median() * 1000:>8.0f} {min(c.times) * 1000:>7.0f} "
              f"{max(c.times) * 1000:>7.0f} {c.median(cpu=True) * 1000:>7.0f} {c.peak():>8.1f} "
              f"{len(c.times):>5}")
    print()

    def ratio(a: str, b: str, cpu: bool) -> float:
        return by[a].median(cpu) / by[b].median(cpu)

    # (name, numerator, denominator, limit); each ratio on median wall time and on CPU time.
    ratios = [("build / import floor (default spec)", "build default", "import floor", 1.3),
              ("validate / build (default spec)", "validate default", "build default", 0.6)]
    ratios.append(("(info) build / floor of used modules", "build default", "floor, used mods", 0))
    if "build 100x" in by:
        ratios += [(f"{c}: time(100x) / time(10x)", f"{c} 100x", f"{c} 10x", 12) for c in COMMANDS]
    print(f"{'ratio':<38} {'wall':>6} {'cpu':>6}  {'target':<7} result (on wall time)")
    missed = 0
    for name, a, b, limit in ratios:
        wall, cpu = ratio(a, b, cpu=False), ratio(a, b, cpu=True)
        if not limit:  # context, no target
            print(f"{name:<38} {wall:>6.2f} {cpu:>6.2f}")
            continue
        missed += wall > limit
        print(f"{name:<38} {wall:>6.2f} {cpu:>6.2f}  <= {limit:<4} {'met' if wall <= limit else 'MISSED'}")
    if "build 100x" in by:
        # The default spec's time is mostly start-up, paid once at any size; without it the
        # ratio shows how the work itself grows (a raw ratio under 12 can hide quadratic work).
        for command in COMMANDS:
            fixed, ten, hundred = (by[f"{command} {size}"] for size in ("default", "10x", "100x"))
            net = [(hundred.median(cpu) - fixed.median(cpu)) / (ten.median(cpu) - fixed.median(cpu))
                   for cpu in (False, True)]
            print(f"{'(info) ' + command + ': same, net of default':<38} {net[0]:>6.2f} {net[1]:>6.2f}")
        peak = max(by[f"{c} 100x"].peak() for c in COMMANDS)
        missed += peak >= 300
        print(f"{'peak RSS of the 100x spec, MB':<38} {peak:>6.1f} {'':>6}  < 300   "
              f"{'met' if peak < 300 else 'MISSED'}")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions, 1 of the large specs")
    parser.add_argument("--reps", type=int, help="repetitions of the default-spec cases (default 9)")
    parser.add_argument("--large-reps", type=int, help="repetitions of the 10x/100x cases (default 5)")
    parser.add_argument("--no-large", action="store_true", help="skip the 10x and 100x specs")
    args = parser.parse_args(argv)
    reps = args.reps or (3 if args.quick else 9)
    large_reps = args.large_reps or (1 if args.quick else 5)
    sizes = SIZES[:1] if args.no_large else SIZES
    print(f"python {sys.version.split()[0]} ({sys.executable}), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; {reps} repetitions "
          f"({large_reps} for 10x/100x), medians")
    with tempfile.TemporaryDirectory(prefix="ryotgen-bench-") as tmp:
        cases = make_cases(Path(tmp), sizes)
        measure(cases, reps, large_reps)
    missed = report(cases)
    print(f"\n{'all targets met' if not missed else f'{missed} target(s) missed'}")
    return 0


def _ensure_project_python() -> None:
    """`python bench/build.py` with a python that lacks ryotgen re-runs under the project venv."""
    try:
        import ryotgen  # noqa: F401
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.executable) != VENV_PYTHON:
            os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])
        raise SystemExit("ryotgen is not importable; run with the project's .venv/bin/python") from None


if __name__ == "__main__":
    _ensure_project_python()
    sys.exit(main())
