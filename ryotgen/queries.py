"""PromQL builders: indicator kinds -> expressions, in the corrected forms of DESIGN.md.

Pure string construction over validated inputs; label values are quoted with `promql.quote`.
"""

from __future__ import annotations

import re

from ryotgen import promql
from ryotgen.spec import Selector


def grouping(by: tuple[str, ...]) -> tuple[str, ...]:
    """Aggregations keep the listed labels, or `job` so several services never blend."""
    return by or ("job",)


def selector(metric: str, matchers: dict[str, str | list[str]], suffix: str = "") -> str:
    """metric{label="v", other=~"a|b"} with values quoted safely."""
    parts = []
    for label in sorted(matchers):
        value = matchers[label]
        if isinstance(value, list):
            alternation = "|".join(re.escape(v) for v in sorted(value))
            parts.append(f"{label}=~{promql.quote(alternation)}")
        else:
            parts.append(f"{label}={promql.quote(value)}")
    body = "{" + ", ".join(parts) + "}" if parts else ""
    return f"{metric}{suffix}{body}"


def of(sel: Selector, suffix: str = "") -> str:
    return selector(sel.metric, dict(sel.matchers), suffix)


def summed_rate(series: str, window: str, by: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(grouping(by))}) (rate({series}[{window}]))"


def guarded_ratio(numerator: str, denominator: str) -> str:
    """numerator / denominator, with no result (not NaN or +Inf) while the denominator is 0."""
    return f"{numerator} / ({denominator} > 0)"


def ratio(num: Selector, den: Selector, window: str, by: tuple[str, ...]) -> str:
    return guarded_ratio(summed_rate(of(num), window, by), summed_rate(of(den), window, by))


def rate(counter: Selector, window: str, by: tuple[str, ...]) -> str:
    return summed_rate(of(counter), window, by)


def quantile(histogram: Selector, q: float, window: str, by: tuple[str, ...]) -> str:
    """Buckets are summed (keeping le) before the quantile; quantiles are never averaged."""
    keep = ", ".join(("le", *grouping(by)))
    buckets = of(histogram, "_bucket")
    return f"histogram_quantile({promql.format_number(q)}, sum by ({keep}) (rate({buckets}[{window}])))"


def mean(histogram: Selector, window: str, by: tuple[str, ...]) -> str:
    return guarded_ratio(
        summed_rate(of(histogram, "_sum"), window, by),
        summed_rate(of(histogram, "_count"), window, by),
    )


def gauge(sel: Selector, aggregation: str, by: tuple[str, ...]) -> str:
    return f"{aggregation} by ({', '.join(grouping(by))}) ({of(sel)})"


def topk(k: int, query: str) -> str:
    return f"topk({k}, {query})"


def compare(query: str, op: str, threshold: float, *, as_bool: bool = False) -> str:
    """`query op threshold`; with as_bool, 1 while it holds and 0 otherwise (SLO status)."""
    keyword = " bool" if as_bool else ""
    return f"{query} {op}{keyword} {promql.format_number(threshold)}"
