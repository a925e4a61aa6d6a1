"""The ryotgen command line: build, check, validate, schema.

Exit codes: 0 ok, 1 drift or a failed check, 2 invalid spec or usage.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ryotgen.errors import SpecError

app = typer.Typer(
    name="ryotgen",
    help="Monitoring as code for LLM inference services.\n\n"
    "Describe metrics, SLOs, alerts, baselines, dashboards and teams once in specs/ryot.yaml; "
    "`ryotgen build` renders the instrumentation module, Prometheus config, rules and promtool "
    "tests, Alertmanager config and Grafana dashboards into generated/. Commit generated/ and "
    "run `ryotgen check` in CI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SpecOption = Annotated[
    Path,
    typer.Option("--spec", "-s", help="The spec file to read.", show_default=True,
                 dir_okay=False),
]
OutOption = Annotated[
    Path,
    typer.Option("--out", "-o", help="Folder the generated files go to.", show_default=True,
                 file_okay=False),
]
DEFAULT_SPEC = Path("specs/ryot.yaml")
DEFAULT_OUT = Path("generated")


def _fail_spec(error: SpecError) -> typer.Exit:
    for problem in error.problems:
        typer.echo(str(problem), err=True)
    count = len(error.problems)
    typer.echo(f"{count} problem{'s' if count != 1 else ''} in the spec; nothing was written.",
               err=True)
    return typer.Exit(2)


@app.command()
def build(spec: SpecOption = DEFAULT_SPEC, out: OutOption = DEFAULT_OUT) -> None:
    """Validate the spec and write every generated file into --out (all or nothing)."""
    from ryotgen import output, pipeline

    try:
        artifacts = pipeline.render(spec, out)
    except SpecError as error:
        raise _fail_spec(error) from None
    report = output.write(out, artifacts)
    typer.echo(f"{out}: {len(report.written)} written, {len(report.unchanged)} unchanged, "
               f"{len(report.removed)} removed")
    for rel in report.removed:
        typer.echo(f"  removed {rel} (no longer generated)")


@app.command()
def check(spec: SpecOption = DEFAULT_SPEC, out: OutOption = DEFAULT_OUT) -> None:
    """Render in memory and diff against --out; exit 1 with a diff per drifted file."""
    from ryotgen import output, pipeline

    try:
        artifacts = pipeline.render(spec, out)
    except SpecError as error:
        raise _fail_spec(error) from None
    diffs = output.drift(out, artifacts)
    if diffs:
        sys.stdout.write("".join(diffs))
        typer.echo(f"{len(diffs)} file(s) in {out} differ from {spec}; run `ryotgen build` "
                   "and commit the result.", err=True)
        raise typer.Exit(1)
    typer.echo(f"{out} is up to date with {spec} ({len(artifacts)} files).")


@app.command()
def validate(spec: SpecOption = DEFAULT_SPEC) -> None:
    """Check the spec only; print every problem as FILE:LINE:COL: message."""
    from ryotgen import pipeline

    try:
        model = pipeline.load_model(spec)
    except SpecError as error:
        raise _fail_spec(error) from None
    s = model.spec
    typer.echo(f"{spec}: ok ({len(s.metrics)} metrics, {len(s.indicators)} indicators, "
               f"{len(s.slos)} SLOs, {len(s.alerts)} alerts, {len(s.dashboards)} dashboards)")


@app.command()
def schema() -> None:
    """Print the spec's JSON Schema (for editors and yaml-language-server)."""
    from ryotgen.render.schema import spec_schema

    typer.echo(json.dumps(spec_schema(), indent=2, sort_keys=True))


@app.command()
def demo(
    spec: SpecOption = DEFAULT_SPEC,
    duration: Annotated[float, typer.Option(help="Seconds to run; 0 runs until Ctrl-C.")] = 0,
    faults: Annotated[bool, typer.Option("--faults", help="Inject errors and slow tokens after --warmup.")]
    = False,
    warmup: Annotated[float, typer.Option(help="Healthy seconds before faults start.")] = 15,
    rate: Annotated[float, typer.Option(
        help="Requests per second to each demo target; 0: what its baseline throughput needs.")] = 0,
    interval: Annotated[str, typer.Option(help="Scrape and rule evaluation interval.")] = "5s",
    max_for: Annotated[str, typer.Option(
        help="Cap every alert's `for` so alerts fire within a minute; 0 keeps the spec's.")] = "15s",
    speed: Annotated[float, typer.Option(help="Demo services divide every simulated delay by this.")] = 1,
) -> None:
    """Run the chain locally: demo services, Prometheus and Alertmanager on free 127.0.0.1 ports,
    steady load (optionally faults) and a live view; Ctrl-C or --duration stops everything."""
    from ryotgen import demo as demo_run
    from ryotgen import pipeline, stack

    missing = demo_run.missing_python_packages()
    if missing:
        typer.echo(f"the demo service needs {' and '.join(missing)}: pip install -e '.[test]'", err=True)
        raise typer.Exit(2)
    try:
        model = pipeline.load_model(spec)
        stack.find_binaries()
    except SpecError as error:
        raise _fail_spec(error) from None
    except stack.StackError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    options = demo_run.DemoOptions(
        duration=duration or None, faults=faults, warmup=warmup, rate=rate or None, interval=interval,
        max_for=None if max_for in ("", "0", "0s") else max_for, speed=speed)
    try:
        demo_run.run(model, str(spec), options)
    except stack.StackError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None


def main() -> None:
    # One short process: cyclic GC passes over the growing spec, model and artifacts cost more
    # than the few cycles they free (a 100x spec validates 2x faster); cycles are still
    # collected, just less often.
    gc.set_threshold(100_000, 50, 100)
    app()
