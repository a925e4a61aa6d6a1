"""Which Prometheus tier evaluates a rule, and how fleet aggregates split across shards.

Shards hold the raw series of the targets hashmod assigns them, so every instance is complete
on exactly one shard, and no shard sees the fleet. Hence, for each rule expression:

- raw series used per series (`up == 0`, a per-series rate) or aggregated `by (instance, ...)`
  are complete on their shard: the rule runs there, unchanged;
- `sum|count|max|min|avg by (G) (X)` over raw series, X per series, is split: shards record X
  aggregated by (instance, G) (a *partial*) and the global tier re-aggregates the partials by G
  (avg as sum / count). `histogram_quantile` over summed bucket rates splits this way too,
  because the partials keep `le`;
- `absent(raw)` becomes `absent(partial)` on the global tier, so a shard without targets
  cannot raise it and a missing metric raises it once;
- a rule over recorded series only runs on the global tier, which collects every
  `level:metric:operation` series from the shards.

Anything else over raw series (topk or quantile across instances, `without`, raw series mixed
with fleet aggregates) would be computed from partial data, so it is rejected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from ryotgen import conventions, promql
from ryotgen.promql import (
    Aggregation,
    BinaryExpr,
    Call,
    Expr,
    MatrixSelector,
    Paren,
    Subquery,
    Unary,
    VectorSelector,
)

Tier = Literal["shard", "global"]
# Aggregations whose fleet value follows from per-instance values; avg via sum and count.
REAGGREGATE = {"sum": "sum", "count": "sum", "max": "max", "min": "min"}
SPLITTABLE = frozenset({*REAGGREGATE, "avg"})
# Per-series functions over a range whose recorded names follow the rate naming.
RANGE_FUNCTIONS = frozenset({"rate", "irate", "increase", "delta", "idelta", "deriv"})
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase"})


class Unsplittable(ValueError):
    """An expression whose fleet-wide value cannot be computed from the shards' recordings."""


@dataclass(frozen=True)
class Partial:
    """A recording rule the shards evaluate so the global tier can re-aggregate."""

    record: str
    expr: str


@dataclass(frozen=True)
class Placement:
    """Where a rule runs, with the expression that tier evaluates."""

    tier: Tier
    expr: str
    partials: tuple[Partial, ...] = ()


def _children(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, MatrixSelector):
        return (node.vector,)
    if isinstance(node, Paren | Unary | Subquery):
        return (node.expr,)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Aggregation):
        return (node.expr,) if node.param is None else (node.param, node.expr)
    if isinstance(node, BinaryExpr):
        return (node.lhs, node.rhs)
    return ()


def _is_raw(node: Expr) -> bool:
    """Scraped series have no colon in their name; recording rules do."""
    return isinstance(node, VectorSelector) and ":" not in (node.name or "")


def _selectors(node: Expr) -> Iterator[VectorSelector]:
    for child in promql.walk(node):
        if isinstance(child, VectorSelector):
            yield child


def _splittable(node: Aggregation) -> bool:
    """op by (G) (X) with X per series over raw series only."""
    inner = list(promql.walk(node.expr))
    return (node.op in SPLITTABLE and not node.without and node.param is None
            and not any(isinstance(n, Aggregation) for n in inner)
            and any(_is_raw(n) for n in inner)
            and all(_is_raw(n) for n in inner if isinstance(n, VectorSelector)))


def _absent_of_raw(node: Expr) -> bool:
    return (isinstance(node, Call) and node.func == "absent" and len(node.args) == 1
            and _is_raw(node.args[0]))


@dataclass
class Splitter:
    """Places rules one by one, sharing partials between them and keeping their names unique."""

    partials: dict[str, str] = field(default_factory=dict)  # record -> expr, in first-use order
    taken: dict[str, str] = field(default_factory=dict)  # every record name -> its expr

    def claim(self, record: str, expr: str) -> None:
        """Reserve a rule's own record name so no partial takes it."""
        self.taken.setdefault(record, expr)

    def place(self, expr: str) -> Placement:
        tree = promql.parse(expr)
        splits: list[Expr] = []
        state = {"per_instance": False, "recorded": False}

        def visit(node: Expr, aggregated: bool) -> None:
            if isinstance(node, Aggregation) and _splittable(node):
                if conventions.INSTANCE_LABEL in node.grouping:
                    state["per_instance"] = True  # complete on its shard
                splits.append(node)
                return
            if _absent_of_raw(node):
                splits.append(node)
                return
            if isinstance(node, VectorSelector):
                if not _is_raw(node):
                    state["recorded"] = True
                elif aggregated:
                    raise Unsplittable(
                        f"{expr!r} aggregates raw series in a way the global tier cannot "
                        "recompute from shard recordings (only sum, count, max, min and avg "
                        "`by` labels over per-series expressions split); record it per instance")
                else:
                    state["per_instance"] = True
            for child in _children(node):
                visit(child, aggregated or isinstance(node, Aggregation))

        visit(tree, False)
        fleet = [s for s in splits if not (isinstance(s, Aggregation)
                                           and conventions.INSTANCE_LABEL in s.grouping)]
        if state["per_instance"] and not fleet and not state["recorded"]:
            return Placement("shard", expr)
        if state["per_instance"] and (fleet or state["recorded"]):
            raise Unsplittable(f"{expr!r} mixes per-instance raw series with fleet-wide values; "
                               "split it into a per-instance recording and a fleet-wide rule")
        text = expr
        used: list[Partial] = []
        for node in sorted(splits, key=lambda n: n.start, reverse=True):
            replacement, partials = self._split(expr, node)
            text = text[:node.start] + replacement + text[node.end:]
            used = partials + used
        return Placement("global", text, tuple(dict.fromkeys(used)))

    def _split(self, expr: str, node: Expr) -> tuple[str, list[Partial]]:
        """Global-tier text replacing `node`, and the partials it reads."""
        if isinstance(node, Call):  # absent(raw selector)
            sel = node.args[0]
            assert isinstance(sel, VectorSelector)
            equal = tuple(m for m in sel.matchers if m.op == "=" and m.name != "__name__")
            by = tuple(dict.fromkeys(m.name for m in equal))
            # Equality matchers become labels the global tier filters on; others filter here.
            exact = all(m.op == "=" for m in sel.matchers)
            text = sel.name if exact and sel.name else expr[sel.start:sel.end]
            partial = self._partial("count", by, promql.parse(text), text)
            filters = ", ".join(f"{m.name}={promql.quote(m.value)}" for m in equal)
            return f"absent({partial.record}{{{filters}}})" if filters else \
                f"absent({partial.record})", [partial]
        assert isinstance(node, Aggregation)
        inner = expr[node.expr.start:node.expr.end]
        by = node.grouping
        if node.op == "avg":
            total = self._partial("sum", by, node.expr, inner)
            count = self._partial("count", by, node.expr, inner)
            return f"({_aggregate('sum', by, total.record)} / {_aggregate('sum', by, count.record)})", \
                [total, count]
        partial = self._partial(node.op, by, node.expr, inner)
        return _aggregate(REAGGREGATE[node.op], by, partial.record), [partial]

    def _partial(self, op: str, by: tuple[str, ...], inner: Expr, inner_text: str) -> Partial:
        level = conventions.partial_level(by)
        body = f"{_aggregate(op, level, inner_text)}"
        metric, operation = _describe(op, inner, level)
        record = conventions.record_name(level, metric, operation)
        if self.taken.get(record, body) != body:
            record += "_" + hashlib.sha1(body.encode()).hexdigest()[:6]
        if record not in self.taken:  # else a rule of the same name and expr records it already
            self.partials[record] = body
        self.taken[record] = body
        return Partial(record, body)


def _aggregate(op: str, by: tuple[str, ...], operand: str) -> str:
    return f"{op} by ({', '.join(by)}) ({operand})" if by else f"{op}({operand})"


def _describe(op: str, inner: Expr, level: tuple[str, ...]) -> tuple[str, str]:
    """(metric, operation) naming a partial: `rate5m`, `error_rate5m`, `sum`, `count_rate1m`, ..."""
    node = inner
    while isinstance(node, Paren):
        node = node.expr
    function = ""
    if (isinstance(node, Call) and node.func in RANGE_FUNCTIONS and len(node.args) == 1
            and isinstance(node.args[0], MatrixSelector)):
        function = node.func + promql.format_duration(node.args[0].range_seconds)
        selector: VectorSelector = node.args[0].vector
    elif isinstance(node, VectorSelector):
        selector = node
    else:  # any other per-series expression: name it by its first series and a digest
        selector = next(_selectors(inner))
        function = "expr" + hashlib.sha1(repr(inner).encode()).hexdigest()[:6]
    metric = selector.name or "series"
    if isinstance(node, Call) and node.func in COUNTER_FUNCTIONS:
        metric = conventions.strip_counter_suffix(metric)
    # Values of labels the level keeps are in the series already; others qualify the name.
    equal = {m.name: m.value for m in selector.matchers
             if m.op == "=" and m.name != "__name__" and m.name not in level}
    qualifier = conventions.matcher_qualifier(dict(equal))
    if any(m.op != "=" for m in selector.matchers if m.name != "__name__"):
        qualifier += "sel" + hashlib.sha1(repr(selector.matchers).encode()).hexdigest()[:6] + "_"
    word = "" if op == "sum" and function else op
    return metric, qualifier + "_".join(part for part in (word, function) if part)


def split_groups(groups: list[dict[str, Any]], partials_group: str) -> tuple[
        list[dict[str, Any]], list[dict[str, Any]]]:
    """Rule groups (Prometheus rule-file shape) -> (shard groups, global groups).

    Every rule lands on exactly one tier; the shards' partials lead in `partials_group`.
    Groups that end up empty on a tier are left out of it.
    """
    splitter = Splitter()
    for group in groups:
        for rule in group["rules"]:
            if "record" in rule:
                splitter.claim(rule["record"], rule["expr"])
    shard: list[dict[str, Any]] = []
    fleet: list[dict[str, Any]] = []
    for group in groups:
        tiers: dict[Tier, list[dict[str, Any]]] = {"shard": [], "global": []}
        for rule in group["rules"]:
            placement = splitter.place(rule["expr"])
            tiers[placement.tier].append({**rule, "expr": placement.expr})
        if tiers["shard"]:
            shard.append({**group, "rules": tiers["shard"]})
        if tiers["global"]:
            fleet.append({**group, "rules": tiers["global"]})
    if splitter.partials:
        shard.insert(0, {"name": partials_group, "rules": [
            {"record": record, "expr": expr} for record, expr in splitter.partials.items()]})
    return shard, fleet


def check(expr: str) -> str | None:
    """Why `expr` cannot run in the two-tier layout, or None when it can."""
    try:
        Splitter().place(expr)
    except Unsplittable as err:
        return str(err)
    except promql.PromQLError:
        return None  # reported by the expression checks
    return None
