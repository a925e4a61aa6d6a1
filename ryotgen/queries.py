"""PromQL builders: indicator kinds -> expressions, in the corrected forms of DESIGN.md.

Pure string construction over validated inputs; label values are quoted with `promql.quote`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ryotgen import promql
from ryotgen.spec import Selector


def grouping(by: tuple[str, ...]) -> tuple[str, ...]:
    """Aggregations keep the listed labels, or `job` so several services never blend."""
    return by or ("job",)


def selector(metric: str, matchers: dict[str, str | list[str]], suffix: str = "",
             regex: Mapping[str, str] | None = None) -> str:
    """metric{label="v", other=~"a|b"} with values quoted safely.

    `regex` adds label=~"pattern" matchers with the pattern as given (dashboard variables
    such as "$model" that Grafana interpolates).
    """
    parts: list[tuple[str, str]] = []
    for label in sorted(matchers):
        value = matchers[label]
        if isinstance(value, list):
            alternation = "|".join(re.escape(v) for v in sorted(value))
            parts.append((label, f"{label}=~{promql.quote(alternation)}"))
        else:
            parts.append((label, f"{label}={promql.quote(value)}"))
    patterns = regex or {}
    parts += [(label, f"{label}=~{promql.quote(patterns[label])}") for label in sorted(patterns)]
    body = "{" + ", ".join(text for _, text in sorted(parts, key=lambda p: p[0])) + "}" if parts else ""
    return f"{metric}{suffix}{body}"


def of(sel: Selector, suffix: str = "", regex: Mapping[str, str] | None = None) -> str:
    return selector(sel.metric, dict(sel.matchers), suffix, regex)


def summed_rate(series: str, window: str, by: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(grouping(by))}) (rate({series}[{window}]))"


def guarded_ratio(numerator: str, denominator: str) -> str:
    """numerator / denominator, with no result (not NaN or +Inf) while the denominator is 0."""
    return f"{numerator} / ({denominator} > 0)"


def ratio(num: Selector, den: Selector, window: str, by: tuple[str, ...],
          regex: Mapping[str, str] | None = None) -> str:
    return guarded_ratio(summed_rate(of(num, regex=regex), window, by),
                         summed_rate(of(den, regex=regex), window, by))


def rate(counter: Selector, window: str, by: tuple[str, ...],
         regex: Mapping[str, str] | None = None) -> str:
    return summed_rate(of(counter, regex=regex), window, by)


def quantile(histogram: Selector, q: float, window: str, by: tuple[str, ...],
             regex: Mapping[str, str] | None = None) -> str:
    """Buckets are summed (keeping le) before the quantile; quantiles are never averaged."""
    keep = ", ".join(("le", *grouping(by)))
    buckets = of(histogram, "_bucket", regex)
    return f"histogram_quantile({promql.format_number(q)}, sum by ({keep}) (rate({buckets}[{window}])))"


def mean(histogram: Selector, window: str, by: tuple[str, ...],
         regex: Mapping[str, str] | None = None) -> str:
    return guarded_ratio(
        summed_rate(of(histogram, "_sum", regex), window, by),
        summed_rate(of(histogram, "_count", regex), window, by),
    )


def gauge(sel: Selector, aggregation: str, by: tuple[str, ...],
          regex: Mapping[str, str] | None = None) -> str:
    return f"{aggregation} by ({', '.join(grouping(by))}) ({of(sel, regex=regex)})"


def topk(k: int, query: str) -> str:
    return f"topk({k}, {query})"


def compare(query: str, op: str, threshold: float, *, as_bool: bool = False) -> str:
    """`query op threshold`; with as_bool, 1 while it holds and 0 otherwise (SLO status)."""
    keyword = " bool" if as_bool else ""
    return f"{query} {op}{keyword} {promql.format_number(threshold)}"


def labelled_constant(value: float, label: str, label_value: str) -> str:
    """One series of constant `value` carrying label=label_value (e.g. a baseline bound)."""
    return (f"label_replace(vector({promql.format_number(value)}), {promql.quote(label)}, "
            f"{promql.quote(label_value)}, \"\", \"\")")


def present_on(query: str, labels: tuple[str, ...], other: str) -> str:
    """`query`, kept only where `other` has series with the same `labels` values."""
    return f"{query} and on ({', '.join(labels)}) {other}"
