"""Semantic checks of a PromQL expression against a catalog of known series.

``promql.parse`` proves an expression is valid PromQL; this module proves it means something
for *our* metrics: every selector names a known series and only its labels, counters go
through rate() and gauges do not, and histogram quantiles are computed from buckets that keep
their ``le`` label. Problems are returned as sentences, never raised.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from ryotgen.promql import (
    SCALAR,
    STRING,
    Aggregation,
    BinaryExpr,
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    Paren,
    PromQLError,
    StringLiteral,
    Subquery,
    Unary,
    VectorSelector,
    parse,
    type_of,
    walk,
)

__all__ = ["Series", "SeriesKind", "check", "result_labels"]

SeriesKind = Literal["counter", "gauge", "histogram_bucket", "histogram_sum", "histogram_count", "recorded"]


@dataclass(frozen=True)
class Series:
    """One series name the expression may select.

    ``labels`` is every label the series may carry (for ``_bucket`` series it includes
    ``le``). ``recorded`` series come from recording rules; their counter-ness is unknown, so
    the rate()/delta() rules give them the benefit of the doubt.
    """

    name: str
    kind: SeriesKind
    labels: frozenset[str]


_COUNTERISH: Final = frozenset({"counter", "histogram_bucket", "histogram_sum", "histogram_count"})
_COUNTER_FUNCS: Final = frozenset({"rate", "irate", "increase", "resets"})
_GAUGE_FUNCS: Final = frozenset({"delta", "idelta", "deriv", "predict_linear"})
# Aggregations whose output keeps every input label.
_LABEL_KEEPING_AGGS: Final = frozenset({"topk", "bottomk"})
_COMPARISONS: Final = frozenset({"==", "!=", "<=", "<", ">=", ">"})


def check(expr: str | Expr, catalog: Mapping[str, Series]) -> list[str]:
    """Human-readable problems with ``expr`` given ``catalog`` (name -> Series); [] if fine.

    A string that does not parse yields exactly one problem, carrying the error's offset.
    """
    if isinstance(expr, str):
        try:
            tree = parse(expr)
        except PromQLError as err:
            return [f"offset {err.offset}: parse error: {err.message}"]
    else:
        tree = expr
    return _Checker(catalog).run(tree)


def result_labels(expr: str | Expr, catalog: Mapping[str, Series]) -> frozenset[str] | None:
    """Labels the result of ``expr`` may carry given ``catalog``; None when that is unknown.

    Lets consumers add a recording rule to a catalog with the labels its series really keep.
    """
    return _Checker(catalog).labels_of(parse(expr) if isinstance(expr, str) else expr)


def _describe_agg(agg: Aggregation) -> str:
    if agg.without:
        return f"{agg.op} without ({', '.join(agg.grouping)})"
    if agg.grouping:
        return f"{agg.op} by ({', '.join(agg.grouping)})"
    return f"{agg.op}(...)"


def _unparen(expr: Expr) -> Expr:
    while isinstance(expr, Paren):
        expr = expr.expr
    return expr


class _Checker:
    def __init__(self, catalog: Mapping[str, Series]) -> None:
        self.catalog = catalog
        self.problems: list[str] = []

    def report(self, node: Expr, message: str) -> None:
        text = f"offset {node.start}: {message}"
        if text not in self.problems:
            self.problems.append(text)

    def run(self, tree: Expr) -> list[str]:
        for node in walk(tree):
            if isinstance(node, VectorSelector):
                self.check_selector(node)
            elif isinstance(node, Call):
                self.check_call(node)
            elif isinstance(node, Aggregation):
                self.check_aggregation(node)
            elif isinstance(node, BinaryExpr):
                self.check_matching(node)
        return self.problems

    # -- selectors --------------------------------------------------------------------------

    def resolve(self, vs: VectorSelector) -> list[Series] | None:
        """The catalog series a selector can select; None when that is unknown."""
        if vs.name is not None:
            series = self.catalog.get(vs.name)
            return None if series is None else [series]
        name_matchers = [m for m in vs.matchers if m.name == "__name__"]
        if not name_matchers:
            return None
        return [s for name, s in sorted(self.catalog.items()) if all(m.matches(name) for m in name_matchers)]

    def check_selector(self, vs: VectorSelector) -> None:
        series = self.resolve(vs)
        if vs.name is not None and series is None:
            close = difflib.get_close_matches(vs.name, list(self.catalog), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.report(vs, f"unknown series {vs.name!r}{hint}")
            return
        if series is None:
            self.report(vs, "selector has no metric name; select a catalog series by name")
            return
        if not series:
            self.report(vs, "no catalog series matches the __name__ matchers")
            return
        for matcher in vs.matchers:
            if matcher.name == "__name__":
                continue
            for s in series:
                if matcher.name not in s.labels:
                    have = ", ".join(sorted(s.labels)) or "none"
                    self.report(vs, f"series {s.name!r} has no label {matcher.name!r} (labels: {have})")

    def labels_of(self, expr: Expr) -> frozenset[str] | None:
        """Labels the result of ``expr`` may carry; None when unknown."""
        if isinstance(expr, NumberLiteral | StringLiteral):
            return frozenset()
        if isinstance(expr, VectorSelector):
            series = self.resolve(expr)
            if not series:
                return None
            return frozenset().union(*(s.labels for s in series))
        if isinstance(expr, MatrixSelector):
            return self.labels_of(expr.vector)
        if isinstance(expr, Paren | Unary | Subquery):
            return self.labels_of(expr.expr)
        if isinstance(expr, Call):
            return self.call_labels(expr)
        if isinstance(expr, Aggregation):
            return self.aggregation_labels(expr)
        if isinstance(expr, BinaryExpr):
            return self.binary_labels(expr)
        return None

    def call_labels(self, call: Call) -> frozenset[str] | None:
        func, args = call.func, call.args
        if func in ("time", "pi", "scalar", "vector") or not args:
            return frozenset()
        if func in ("absent", "absent_over_time"):
            # absent() returns the equality-matched labels of its selector, nothing else.
            inner = _unparen(args[0])
            if isinstance(inner, MatrixSelector):
                inner = inner.vector
            if isinstance(inner, VectorSelector):
                return frozenset(m.name for m in inner.matchers if m.op == "=" and m.name != "__name__")
            return frozenset()
        vector_args = [a for a in args if type_of(a) not in (SCALAR, STRING)]
        if not vector_args:
            return frozenset()
        labels = self.labels_of(vector_args[0])
        if labels is None:
            return None
        if func == "histogram_quantile":
            return labels - {"le"}
        if func in ("label_replace", "label_join") and isinstance(args[1], StringLiteral):
            return labels | {args[1].value}
        return labels

    def aggregation_labels(self, agg: Aggregation) -> frozenset[str] | None:
        inner = self.labels_of(agg.expr)
        extra: frozenset[str] = frozenset()
        if agg.op == "count_values" and isinstance(agg.param, StringLiteral):
            extra = frozenset({agg.param.value})
        if agg.op in _LABEL_KEEPING_AGGS:
            return inner
        if agg.without:
            return None if inner is None else (inner - set(agg.grouping)) | extra
        if inner is None:
            return frozenset(agg.grouping) | extra
        return (inner & set(agg.grouping)) | extra

    def binary_labels(self, expr: BinaryExpr) -> frozenset[str] | None:
        lhs, rhs = self.labels_of(expr.lhs), self.labels_of(expr.rhs)
        if expr.matching is None:  # at least one side is a scalar
            return rhs if type_of(expr.lhs) == SCALAR else lhs
        m = expr.matching
        if expr.op == "or":
            return None if lhs is None or rhs is None else lhs | rhs
        if expr.op in ("and", "unless"):
            return lhs
        if m.card == "many-to-one":
            return None if lhs is None else lhs | set(m.include)
        if m.card == "one-to-many":
            return None if rhs is None else rhs | set(m.include)
        if lhs is None or (expr.op in _COMPARISONS and not expr.return_bool):
            return lhs  # a filtering comparison returns the left side unchanged
        return lhs & set(m.labels) if m.on else lhs - set(m.labels)

    # -- functions --------------------------------------------------------------------------

    def range_sources(self, arg: Expr) -> Iterator[tuple[VectorSelector, Series]]:
        """The catalog series directly under a range-vector argument."""
        inner = _unparen(arg)
        if isinstance(inner, MatrixSelector):
            vs = inner.vector
        elif isinstance(inner, Subquery) and isinstance(_unparen(inner.expr), VectorSelector):
            vs = _unparen(inner.expr)  # type: ignore[assignment]
        else:
            return
        for s in self.resolve(vs) or []:
            yield vs, s

    def check_call(self, call: Call) -> None:
        if call.func in _COUNTER_FUNCS and call.args:
            for vs, s in self.range_sources(call.args[0]):
                if s.kind == "gauge":
                    self.report(
                        vs,
                        f"{call.func}() needs a counter, but {s.name!r} is a gauge; "
                        "use deriv() or delta() for gauges",
                    )
        elif call.func in _GAUGE_FUNCS and call.args:
            for vs, s in self.range_sources(call.args[0]):
                if s.kind in _COUNTERISH:
                    kind = s.kind.replace("_", " ")
                    self.report(
                        vs,
                        f"{call.func}() is for gauges, but {s.name!r} is a {kind} (a counter); "
                        "use rate() or increase()",
                    )
        elif call.func == "histogram_quantile" and len(call.args) == 2:
            self.check_histogram_quantile(call, call.args[1])
        elif call.func == "avg_over_time" and call.args:
            self.check_not_averaging_quantiles(call, call.args[0])

    def check_histogram_quantile(self, call: Call, arg: Expr) -> None:
        # The input must come from bucket series (or recorded series that kept le).
        sources = [
            (node, s)
            for node in walk(arg)
            if isinstance(node, VectorSelector)
            for s in self.resolve(node) or []
        ]
        is_bucket = [
            s.kind == "histogram_bucket" or (s.kind == "recorded" and "le" in s.labels) for _, s in sources
        ]
        if sources and not any(is_bucket):
            names = ", ".join(sorted({repr(s.name) for _, s in sources}))
            self.report(
                call,
                f"histogram_quantile() needs _bucket series with an le label, got {names}",
            )
        for node in walk(arg):
            if isinstance(node, Call) and node.func == "histogram_quantile":
                self.report(
                    node,
                    "histogram_quantile() over an already computed quantile; quantiles "
                    "cannot be aggregated again, aggregate the _bucket rates instead",
                )
        blamed = False
        for node in walk(arg):
            if not isinstance(node, Aggregation) or node.op in _LABEL_KEEPING_AGGS:
                continue
            inner = self.labels_of(node.expr)
            if inner is not None and "le" not in inner:
                continue
            keeps_le = ("le" not in node.grouping) if node.without else ("le" in node.grouping)
            if not keeps_le:
                blamed = True
                self.report(
                    node,
                    f"{_describe_agg(node)} drops the le label that histogram_quantile() "
                    f"needs; aggregate with {node.op} by (le, ...)",
                )
        labels = self.labels_of(arg)
        if not blamed and any(is_bucket) and labels is not None and "le" not in labels:
            self.report(call, "the input of histogram_quantile() has no le label")

    def check_not_averaging_quantiles(self, node: Expr, arg: Expr) -> None:
        for inner in walk(arg):
            if isinstance(inner, Call) and inner.func == "histogram_quantile":
                self.report(
                    node,
                    "averages a quantile computed by histogram_quantile(); averaged quantiles "
                    "are meaningless, aggregate the _bucket rates first and take one quantile",
                )
                return

    # -- aggregations and matching ----------------------------------------------------------

    def check_aggregation(self, agg: Aggregation) -> None:
        if agg.op == "avg":
            self.check_not_averaging_quantiles(agg, agg.expr)
        if agg.without or not agg.grouping:
            return
        inner = self.labels_of(agg.expr)
        if inner is None:
            return
        for label in agg.grouping:
            if label != "__name__" and label not in inner:
                have = ", ".join(sorted(inner)) or "none"
                self.report(
                    agg,
                    f"{_describe_agg(agg)}: no input series has label {label!r} (input labels: {have})",
                )

    def check_matching(self, expr: BinaryExpr) -> None:
        m = expr.matching
        if m is None or not m.on:
            return
        lhs, rhs = self.labels_of(expr.lhs), self.labels_of(expr.rhs)
        for label in m.labels:
            for side, labels in (("left", lhs), ("right", rhs)):
                if labels is not None and label not in labels:
                    self.report(
                        expr,
                        f"on({', '.join(m.labels)}): the {side} side has no label {label!r}",
                    )
