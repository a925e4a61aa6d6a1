"""python -m examples.demo: serve the demo on 127.0.0.1 with uvicorn."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

GENERATED_PYTHON = Path(__file__).resolve().parents[2] / "generated" / "python"


def _span(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    return float(low), float(high or low)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--profile", default="llama-7b-gpu", help="baseline profile name (shown only)")
    parser.add_argument("--ttft", type=_span, default=(0.02, 0.05), help="seconds: MIN,MAX")
    parser.add_argument("--latency", type=_span, default=(0.05, 0.2), help="seconds: MIN,MAX")
    parser.add_argument("--token-rate", type=_span, default=(150, 250), help="tokens/s: MIN,MAX")
    parser.add_argument("--speed", type=float, default=1.0, help="divide every delay by this")
    parser.add_argument("--slots", type=int, default=16, help="sequences decoded at once")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    try:
        import ryot_metrics  # noqa: F401  (the generated module, wherever the caller put it)
    except ModuleNotFoundError:
        sys.path.insert(0, str(GENERATED_PYTHON))

    import uvicorn

    from examples.demo.app import create_app
    from examples.demo.sim import Profile, Span

    profile = Profile(args.profile, Span(*args.ttft), Span(*args.latency), Span(*args.token_rate))
    app = create_app(profile, speed=args.speed, slots=args.slots, seed=args.seed)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
