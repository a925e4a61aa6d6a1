"""A small PromQL lexer, recursive-descent parser and type checker.

It follows the Prometheus 2.4x grammar (``promql/parser/generated_parser.y``) closely enough
that ``parse`` accepts and rejects the same expressions as ``promtool check rules`` for the
subset real rules use; error messages reuse Prometheus' wording. Deliberate gaps: regular
expressions are validated with Python's ``re`` (an approximation of Go's RE2), there is no
UTF-8 quoted-metric-name syntax (Prometheus 3), and no experimental functions.

Public API: ``parse``, ``walk``, ``type_of``, ``parse_duration``, ``format_duration``,
``quote``, ``format_number``, the AST dataclasses, ``FUNCTIONS`` and ``PromQLError``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

__all__ = [
    "AGGREGATIONS",
    "FUNCTIONS",
    "MATRIX",
    "SCALAR",
    "STRING",
    "VECTOR",
    "Aggregation",
    "BinaryExpr",
    "Call",
    "Expr",
    "Function",
    "Matcher",
    "MatrixSelector",
    "NumberLiteral",
    "Paren",
    "PromQLError",
    "StringLiteral",
    "Subquery",
    "Unary",
    "ValueType",
    "VectorMatching",
    "VectorSelector",
    "format_duration",
    "format_number",
    "parse",
    "parse_duration",
    "quote",
    "type_of",
    "walk",
]

# --------------------------------------------------------------------------------------------
# Value types and the function table
# --------------------------------------------------------------------------------------------

# The strings are Prometheus' "documented" type names, so error messages read the same.
ValueType = Literal["scalar", "instant vector", "range vector", "string"]
SCALAR: Final = "scalar"
VECTOR: Final = "instant vector"
MATRIX: Final = "range vector"
STRING: Final = "string"


@dataclass(frozen=True)
class Function:
    """A PromQL function signature.

    ``variadic`` follows Prometheus: 0 means exactly ``len(arg_types)`` arguments; n > 0
    means the last argument type is optional and may repeat up to n times; -1 means the
    last argument type may repeat without limit (and is optional).
    """

    name: str
    arg_types: tuple[ValueType, ...]
    return_type: ValueType
    variadic: int = 0

    @property
    def min_args(self) -> int:
        return len(self.arg_types) - (1 if self.variadic else 0)

    @property
    def max_args(self) -> int | None:
        if self.variadic < 0:
            return None
        if self.variadic == 0:
            return len(self.arg_types)
        return len(self.arg_types) - 1 + self.variadic


def _functions() -> dict[str, Function]:
    table: dict[str, Function] = {}

    def add(name: str, args: tuple[ValueType, ...], ret: ValueType, variadic: int = 0) -> None:
        table[name] = Function(name, args, ret, variadic)

    vector_math = (
        "abs ceil floor exp ln log2 log10 sqrt sgn sort sort_desc timestamp "
        "acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg rad "
        "histogram_count histogram_sum"
    )
    for name in vector_math.split():
        add(name, (VECTOR,), VECTOR)
    for name in ["rate", "irate", "increase", "delta", "idelta", "deriv", "changes", "resets"]:
        add(name, (MATRIX,), VECTOR)
    over_time = "avg count last max min present stddev stdvar sum"
    for prefix in over_time.split():
        add(f"{prefix}_over_time", (MATRIX,), VECTOR)
    # Date functions default to time() when called without an argument.
    for name in [
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "days_in_month",
        "hour",
        "minute",
        "month",
        "year",
    ]:
        add(name, (VECTOR,), VECTOR, variadic=1)
    add("absent", (VECTOR,), VECTOR)
    add("absent_over_time", (MATRIX,), VECTOR)
    add("quantile_over_time", (SCALAR, MATRIX), VECTOR)
    add("predict_linear", (MATRIX, SCALAR), VECTOR)
    add("holt_winters", (MATRIX, SCALAR, SCALAR), VECTOR)
    add("histogram_quantile", (SCALAR, VECTOR), VECTOR)
    add("histogram_fraction", (SCALAR, SCALAR, VECTOR), VECTOR)
    add("clamp", (VECTOR, SCALAR, SCALAR), VECTOR)
    add("clamp_min", (VECTOR, SCALAR), VECTOR)
    add("clamp_max", (VECTOR, SCALAR), VECTOR)
    add("round", (VECTOR, SCALAR), VECTOR, variadic=1)
    add("label_replace", (VECTOR, STRING, STRING, STRING, STRING), VECTOR)
    add("label_join", (VECTOR, STRING, STRING, STRING), VECTOR, variadic=-1)
    add("scalar", (VECTOR,), SCALAR)
    add("vector", (SCALAR,), VECTOR)
    add("time", (), SCALAR)
    add("pi", (), SCALAR)
    return table


FUNCTIONS: Final[Mapping[str, Function]] = _functions()

# Aggregation operator -> type of its parameter (None: takes no parameter).
AGGREGATIONS: Final[Mapping[str, ValueType | None]] = {
    "sum": None,
    "avg": None,
    "min": None,
    "max": None,
    "count": None,
    "group": None,
    "stddev": None,
    "stdvar": None,
    "topk": SCALAR,
    "bottomk": SCALAR,
    "quantile": SCALAR,
    "count_values": STRING,
}

# --------------------------------------------------------------------------------------------
# AST
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    """Base of all expression nodes. ``start``/``end`` are character offsets (end exclusive).

    Positions do not take part in equality, so ``parse("a+b") == parse("a + b")``.
    """

    start: int = field(default=0, compare=False, kw_only=True, repr=False)
    end: int = field(default=0, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class NumberLiteral(Expr):
    value: float


@dataclass(frozen=True)
class StringLiteral(Expr):
    value: str


@dataclass(frozen=True)
class Matcher:
    name: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str

    def matches(self, value: str) -> bool:
        """Whether a label value satisfies this matcher (regexes are fully anchored)."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hit = re.fullmatch(_python_regex(self.value), value, re.DOTALL) is not None
        return hit if self.op == "=~" else not hit


AtModifier = float | Literal["start", "end"]


@dataclass(frozen=True)
class VectorSelector(Expr):
    """``name{matchers}``. ``name`` is the identifier before the braces, or failing that the
    value of a ``__name__="..."`` equality matcher; ``matchers`` are exactly as written."""

    name: str | None
    matchers: tuple[Matcher, ...] = ()
    offset: float | None = None  # seconds; negative offsets look ahead
    at: AtModifier | None = None  # unix seconds, or the start()/end() preprocessors


@dataclass(frozen=True)
class MatrixSelector(Expr):
    """``vector[range]``; offset and @ live on ``vector`` as in Prometheus."""

    vector: VectorSelector
    range_seconds: float


@dataclass(frozen=True)
class Subquery(Expr):
    expr: Expr
    range_seconds: float
    step_seconds: float | None = None  # None: the global evaluation interval
    offset: float | None = None
    at: AtModifier | None = None


@dataclass(frozen=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class Aggregation(Expr):
    """``op [by|without (grouping)] ([param,] expr)``; ``sum(x)`` has grouping () and
    without False, which is what ``sum by () (x)`` means too."""

    op: str
    expr: Expr
    param: Expr | None = None
    grouping: tuple[str, ...] = ()
    without: bool = False


Cardinality = Literal["one-to-one", "many-to-one", "one-to-many", "many-to-many"]


@dataclass(frozen=True)
class VectorMatching:
    """How the two sides of a vector/vector binary operation are matched.

    ``on`` False with ``labels`` means ``ignoring(labels)``; ``include`` are the
    ``group_left``/``group_right`` labels."""

    card: Cardinality = "one-to-one"
    labels: tuple[str, ...] = ()
    on: bool = False
    include: tuple[str, ...] = ()


@dataclass(frozen=True)
class BinaryExpr(Expr):
    """``lhs op rhs``; ``matching`` is None unless both sides are instant vectors."""

    op: str
    lhs: Expr
    rhs: Expr
    return_bool: bool = False
    matching: VectorMatching | None = None
    op_pos: int = field(default=0, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Paren(Expr):
    expr: Expr


@dataclass(frozen=True)
class Unary(Expr):
    op: Literal["-", "+"]
    expr: Expr


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class PromQLError(ValueError):
    """A syntax or type error. ``offset`` is the 0-based character offset of the problem;
    ``str()`` reads like Prometheus: ``1:13: parse error: unexpected <by>``."""

    def __init__(self, message: str, offset: int, text: str = "") -> None:
        self.message = message
        self.offset = offset
        before = text[:offset]
        self.line = before.count("\n") + 1
        self.column = offset - (before.rfind("\n") + 1) + 1
        super().__init__(f"{self.line}:{self.column}: parse error: {message}")


class _Error(Exception):
    """Internal: raised with an offset, turned into PromQLError with the source text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


# --------------------------------------------------------------------------------------------
# Durations, numbers, strings
# --------------------------------------------------------------------------------------------

_DURATION_UNITS: Final = (
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
)
_DURATION_RE: Final = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_MAX_MS: Final = 2**63 - 1  # Prometheus stores durations as int64 milliseconds


def parse_duration(text: str) -> float:
    """Parse a Prometheus duration (``5m``, ``1h30m``, ``2w``, ``100ms``) into seconds.

    Units must appear largest first, each at most once (Prometheus' model.ParseDuration).
    ``"0"`` is accepted and means zero; PromQL itself rejects zero ranges and offsets.
    """
    if text == "0":
        return 0.0
    m = _DURATION_RE.fullmatch(text)
    if not text or m is None:
        raise ValueError(f"not a valid duration string: {_go_quote(text)}")
    ms = 0
    for (_, mult), amount in zip(_DURATION_UNITS, m.groups(), strict=True):
        if amount is not None:
            ms += int(amount) * mult
    if ms > _MAX_MS:
        raise ValueError(f"duration out of range: {_go_quote(text)}")
    return ms / 1000


def format_duration(seconds: float) -> str:
    """Canonical Prometheus form of a duration: ``300 -> "5m"``, ``5400 -> "1h30m"``.

    Years and weeks are only used when they divide the duration exactly (``90d`` rather than
    ``12w6d``), as Prometheus' model.Duration.String() does. Sub-millisecond precision and
    negative durations raise ValueError.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"cannot format duration {seconds!r}")
    ms = round(seconds * 1000)
    if abs(ms - seconds * 1000) > 1e-6 * max(1.0, abs(seconds)):
        raise ValueError(f"duration {seconds!r} is not a whole number of milliseconds")
    if ms == 0:
        return "0s"
    parts = []
    for unit, mult in _DURATION_UNITS:
        if unit in ("y", "w") and ms % mult:
            continue
        amount, ms = divmod(ms, mult)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


def format_number(value: float | int | Decimal) -> str:
    """A PromQL number literal for ``value``, as short as possible and exact.

    Floats use ``repr`` semantics: the shortest decimal that round-trips to the same float.
    That means ``1 - 0.999`` (a float) really is ``0.0010000000000000009``; callers that
    compute thresholds should do the arithmetic in ``decimal.Decimal``, whose value is
    formatted exactly (``Decimal("1") - Decimal("0.999")`` -> ``"0.001"``). Trailing zeros are
    dropped, and positional notation is used unless the number is tiny or huge
    (``1e-09``-style exponents are valid PromQL). Infinities and NaN become ``+Inf``,
    ``-Inf`` and ``NaN``.
    """
    if isinstance(value, bool):
        raise TypeError("format_number() takes a number, not a bool")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        dec = Decimal(repr(value))
    elif isinstance(value, Decimal):
        if value.is_nan():
            return "NaN"
        if value.is_infinite():
            return "+Inf" if value > 0 else "-Inf"
        dec = value
    else:
        raise TypeError(f"format_number() takes a number, not {type(value).__name__}")
    if dec == 0:
        return "0"
    # Strip trailing zeros by hand: Decimal.normalize() would round to the context precision.
    sign, digits, exponent = dec.as_tuple()
    assert isinstance(exponent, int)
    while len(digits) > 1 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    dec = Decimal((sign, digits, exponent))
    if -7 <= dec.adjusted() < 21:
        return format(dec, "f")
    return format(dec, "e")


_QUOTE_ESCAPES: Final = {
    "\\": "\\\\",
    '"': '\\"',
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def quote(value: str) -> str:
    """A double-quoted PromQL string literal whose value is exactly ``value``.

    Escapes backslash, double quote and control characters; other non-printable characters
    become ``\\xNN``/``\\uNNNN``/``\\UNNNNNNNN`` (Go escapes, which PromQL accepts).
    """
    out = ['"']
    for ch in value:
        if ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _go_quote(text: str) -> str:
    """Roughly Go's %q, for error messages."""
    return quote(text)


def _go_rune(ch: str) -> str:
    """Go's %q for a rune, for lexer error messages."""
    return "'\\''" if ch == "'" else f"'{ch}'"


def _go_rune_u(ch: str) -> str:
    """Go's %#U for a rune."""
    return f"U+{ord(ch):04X} '{ch}'"


# --------------------------------------------------------------------------------------------
# Lexer
# --------------------------------------------------------------------------------------------

# Keyword token kinds are the lower-cased word; the lexer matches keywords case-insensitively.
_KEYWORDS: Final = frozenset(
    [
        *("and", "or", "unless", "atan2", "offset", "by", "without", "on", "ignoring"),
        *("group_left", "group_right", "bool", "start", "end"),
    ]
) | frozenset(AGGREGATIONS)
# Words that may still be a metric name at the start of an operand (grammar: metric_identifier).
_METRIC_KEYWORDS: Final = frozenset(AGGREGATIONS) | frozenset(
    ["by", "and", "or", "unless", "offset", "without", "start", "end"]
)
# Words that may be a label in by/without/on/ignoring lists (grammar: maybe_label).
_LABEL_KEYWORDS: Final = _KEYWORDS - {"without"}

_COMPARISONS: Final = frozenset({"==", "!=", "<=", "<", ">=", ">"})
_SET_OPS: Final = frozenset({"and", "or", "unless"})
_OPERATOR_KW: Final = frozenset({"and", "or", "unless", "atan2"})
_HEX: Final = "0123456789abcdefABCDEF"
_DEC: Final = "0123456789"


def _is_alpha(ch: str) -> bool:
    return ch == "_" or ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _is_alnum(ch: str) -> bool:
    return _is_alpha(ch) or ("0" <= ch <= "9")


@dataclass(frozen=True)
class _Token:
    # kind: "ident", "metric_ident", "number", "string", "duration", "eof", "error", an
    # operator/punctuation string such as "(" or "==", or a lower-cased keyword.
    kind: str
    text: str
    pos: int

    def describe(self) -> str:
        """How Prometheus names a token in 'unexpected ...' messages."""
        if self.kind == "eof":
            return "end of input"
        if self.kind == "ident":
            return f"identifier {_go_quote(self.text)}"
        if self.kind == "metric_ident":
            return f"metric identifier {_go_quote(self.text)}"
        if self.kind in ("number", "duration", "string"):
            shown = self.text if len(self.text) <= 10 else self.text[:10]
            suffix = "" if len(self.text) <= 10 else "..."
            return f"{self.kind} {_go_quote(shown)}{suffix}"
        if self.kind in _OPERATOR_KW or self.kind in ("+", "-", "*", "/", "%", "^"):
            return f"<op:{self.text}>"
        if self.kind in _COMPARISONS or self.kind in ("@",):
            return f"<op:{self.text}>"
        if self.kind in AGGREGATIONS:
            return f"<aggr:{self.text}>"
        if self.kind in _KEYWORDS:
            return f"<{self.text}>"
        return _go_quote(self.text)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.tokens: list[_Token] = []
        self.paren_depth = 0

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.text[j] if j < len(self.text) else ""

    def emit(self, kind: str, start: int) -> None:
        self.tokens.append(_Token(kind, self.text[start : self.i], start))

    def fail(self, message: str, pos: int) -> list[_Token]:
        self.tokens.append(_Token("error", message, pos))
        return self.tokens

    def run(self) -> list[_Token]:
        """Tokenize until the end or the first lexical error (which becomes an error token,
        so a syntax error earlier in the input is still reported first)."""
        bracket_open = False
        got_colon = False
        while True:
            ch = self.peek()
            start = self.i
            if ch == "":
                if self.paren_depth:
                    return self.fail("unclosed left parenthesis", start)
                if bracket_open:
                    return self.fail("unclosed left bracket", start)
                self.tokens.append(_Token("eof", "", start))
                return self.tokens
            if ch in " \t\n\r":
                self.i += 1
                continue
            if ch == "#":
                while self.peek() not in ("", "\n"):
                    self.i += 1
                continue
            if ch.isdigit() or (ch == "." and self.peek(1).isdigit()):
                err = self.number_or_duration(bracket_open)
                if err:
                    return self.fail(err, start)
                # A unitless number straight after "[" is a range missing its unit.
                if bracket_open and self.tokens[-1].kind == "number" and self.tokens[-2].kind == "[":
                    self.tokens.pop()
                    return self.fail("missing unit character in duration", start)
                continue
            if _is_alpha(ch) or (ch == ":" and not bracket_open):
                while _is_alnum(self.peek()) or self.peek() == ":":
                    self.i += 1
                word = self.text[start : self.i]
                lower = word.lower()
                if lower in _KEYWORDS:
                    self.emit(lower, start)
                elif lower in ("inf", "nan"):
                    self.emit("number", start)
                elif ":" in word:
                    self.emit("metric_ident", start)
                else:
                    self.emit("ident", start)
                continue
            if ch == ":":  # only inside brackets: the subquery separator
                if got_colon:
                    return self.fail(f"unexpected colon {_go_rune(ch)}", start)
                got_colon = True
                self.i += 1
                self.emit(":", start)
                continue
            if ch in "\"'`":
                problem = self.string(ch)
                if problem:
                    return self.fail(*problem)
                continue
            if ch == "{":
                self.i += 1
                self.emit("{", start)
                problem = self.inside_braces()
                if problem:
                    return self.fail(*problem)
                continue
            two = self.text[self.i : self.i + 2]
            if two in ("==", "!=", "<=", ">="):
                self.i += 2
                self.emit(two, start)
                continue
            if ch == "=":
                if self.peek(1) == "~":
                    return self.fail(f"unexpected character after '=': {_go_rune('~')}", start)
                self.i += 1
                self.emit("=", start)
                continue
            if ch == "!":
                return self.fail(f"unexpected character after '!': {_go_rune(self.peek(1) or ' ')}", start)
            if ch in "+-*/%^<>@,":
                self.i += 1
                self.emit(ch, start)
                continue
            if ch == "(":
                self.i += 1
                self.paren_depth += 1
                self.emit("(", start)
                continue
            if ch == ")":
                self.i += 1
                self.paren_depth -= 1
                if self.paren_depth < 0:
                    # Prometheus reports this one after the parenthesis.
                    return self.fail(f"unexpected right parenthesis {_go_rune(ch)}", self.i)
                self.emit(")", start)
                continue
            if ch == "[":
                if bracket_open:
                    return self.fail(f"unexpected left bracket {_go_rune(ch)}", start)
                self.i += 1
                self.emit("[", start)
                bracket_open, got_colon = True, False
                while self.peek() in (" ", "\t", "\n", "\r"):
                    self.i += 1
                if not (self.peek().isdigit() or self.peek() == "."):
                    return self.fail("missing unit character in duration", self.i)
                continue
            if ch == "]":
                if not bracket_open:
                    return self.fail(f"unexpected right bracket {_go_rune(ch)}", start)
                self.i += 1
                bracket_open = False
                self.emit("]", start)
                continue
            return self.fail(f"unexpected character: {_go_rune(ch)}", start)

    def number_or_duration(self, in_brackets: bool) -> str | None:
        """Prometheus' scanNumber + acceptRemainingDuration, to split the same way."""
        start = self.i
        digits = _DEC
        if self.peek() == "0" and self.peek(1) in ("x", "X"):
            self.i += 2
            digits = _HEX
        while self.peek() and self.peek() in digits:
            self.i += 1
        if self.peek() == ".":
            self.i += 1
            while self.peek() and self.peek() in digits:
                self.i += 1
        if self.peek() in ("e", "E") and self.peek():
            self.i += 1
            if self.peek() in ("+", "-") and self.peek():
                self.i += 1
            while self.peek() and self.peek() in _DEC:
                self.i += 1
        if not _is_alnum(self.peek()):
            self.emit("number", start)
            return None
        # Something alphanumeric follows: it must be a duration like 5m or 1h30m.
        what = "duration" if in_brackets else "number or duration"
        if self.peek() not in "smhdwy" or not self.peek():
            return f"bad {what} syntax: {_go_quote(self.text[start : self.i])}"
        self.i += 1
        if self.peek() == "s":
            self.i += 1
        while self.peek() and self.peek() in _DEC:
            while self.peek() and self.peek() in _DEC:
                self.i += 1
            if not self.peek() or self.peek() not in "smhdw":
                return f"bad {what} syntax: {_go_quote(self.text[start : self.i])}"
            self.i += 1
            if self.peek() == "s":
                self.i += 1
        if _is_alnum(self.peek()):
            return f"bad {what} syntax: {_go_quote(self.text[start : self.i + 1])}"
        self.emit("duration", start)
        return None

    def string(self, quote_char: str) -> tuple[str, int] | None:
        start = self.i
        self.i += 1
        if quote_char == "`":
            end = self.text.find("`", self.i)
            if end < 0:
                return "unterminated raw string", start
            self.i = end + 1
            self.emit("string", start)
            return None
        while True:
            ch = self.peek()
            if ch in ("", "\n"):
                return "unterminated quoted string", start
            self.i += 1
            if ch == quote_char:
                self.emit("string", start)
                return None
            if ch == "\\":
                err = self.escape(quote_char)
                if err:
                    return err, start

    def escape(self, quote_char: str) -> str | None:
        ch = self.peek()
        self.i += 1
        if ch in ("a", "b", "f", "n", "r", "t", "v", "\\") or ch == quote_char:
            return None
        if ch == "":
            return "escape sequence not terminated"
        if ch in "01234567":
            n, base, limit = 3, 8, 255
            self.i -= 1
        elif ch == "x":
            n, base, limit = 2, 16, 255
        elif ch == "u":
            n, base, limit = 4, 16, 0x10FFFF
        elif ch == "U":
            n, base, limit = 8, 16, 0x10FFFF
        else:
            return f"unknown escape sequence {_go_rune_u(ch)}"
        value = 0
        for _ in range(n):
            d = self.peek()
            if d == "":
                return "escape sequence not terminated"
            try:
                digit = int(d, 16)
            except ValueError:
                digit = base
            if digit >= base:
                return f"illegal character {_go_rune_u(d)} in escape sequence"
            value = value * base + digit
            self.i += 1
        if value > limit or 0xD800 <= value < 0xE000:
            return "escape sequence is an invalid Unicode code point"
        return None

    def inside_braces(self) -> tuple[str, int] | None:
        """Lex a label matcher list; identifiers here are never keywords."""
        while True:
            ch = self.peek()
            start = self.i
            if ch == "":
                return "unexpected end of input inside braces", start
            if ch in " \t\n\r":
                self.i += 1
            elif _is_alpha(ch):
                while _is_alnum(self.peek()):
                    self.i += 1
                self.emit("ident", start)
            elif ch == ",":
                self.i += 1
                self.emit(",", start)
            elif ch in "\"'`":
                err = self.string(ch)
                if err:
                    return err
            elif ch == "=":
                self.i += 2 if self.peek(1) == "~" else 1
                self.emit(self.text[start : self.i], start)
            elif ch == "!":
                nxt = self.peek(1)
                if nxt not in ("=", "~") or not nxt:
                    return (
                        f"unexpected character after '!' inside braces: {_go_rune(nxt or ' ')}",
                        start,
                    )
                self.i += 2
                self.emit(self.text[start : self.i], start)
            elif ch == "{":
                return f"unexpected left brace {_go_rune(ch)}", start
            elif ch == "}":
                self.i += 1
                self.emit("}", start)
                return None
            else:
                return f"unexpected character inside braces: {_go_rune(ch)}", start


def _unquote(token: str) -> str:
    """Value of a lexed string token (escapes already validated by the lexer)."""
    quote_char, body = token[0], token[1:-1]
    if quote_char == "`":
        return body
    # Go's \x and octal escapes produce bytes, so build bytes and decode once at the end.
    out = bytearray()
    i = 0
    simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out += ch.encode("utf-8", "surrogatepass")
            i += 1
            continue
        e = body[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e == quote_char:
            out += e.encode()
            i += 2
        elif e == "x":
            out.append(int(body[i + 2 : i + 4], 16))
            i += 4
        elif e in "01234567":
            out.append(int(body[i + 1 : i + 4], 8))
            i += 4
        else:
            n = 4 if e == "u" else 8
            out += chr(int(body[i + 2 : i + 2 + n], 16)).encode("utf-8")
            i += 2 + n
    return out.decode("utf-8", "replace")


def _number_value(text: str) -> float:
    """Prometheus parses a number with strconv.ParseInt(s, 0, 64) first (so 0x1f is hex and
    010 is octal), then with ParseFloat."""
    lower = text.lower()
    if lower == "inf":
        return math.inf
    if lower == "nan":
        return math.nan
    as_int: int | None = None
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        as_int = int(text[2:], 16)
    elif re.fullmatch(r"0[0-7]+", text):
        as_int = int(text, 8)
    elif re.fullmatch(r"[0-9]+", text):
        as_int = int(text, 10)
    if as_int is not None and as_int <= _MAX_MS:
        return float(as_int)
    if not re.fullmatch(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", text):
        raise _Error(
            f"error parsing number: strconv.ParseFloat: parsing {_go_quote(text)}: invalid syntax",
            0,
        )
    return float(text)


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------

# Binary operator precedence, lowest first; all left-associative ("^" is handled separately
# because it is right-associative and binds tighter than unary minus).
_PRECEDENCE: Final[tuple[frozenset[str], ...]] = (
    frozenset({"or"}),
    frozenset({"and", "unless"}),
    _COMPARISONS,
    frozenset({"+", "-"}),
    frozenset({"*", "/", "%", "atan2"}),
)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _Lexer(text).run()
        self.k = 0

    # -- token helpers ----------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token:
        j = min(self.k + ahead, len(self.tokens) - 1)
        tok = self.tokens[j]
        if tok.kind == "error":
            raise _Error(tok.text, tok.pos)
        return tok

    def advance(self) -> _Token:
        tok = self.peek()
        self.k += 1
        return tok

    def unexpected(self, context: str = "", expected: str = "") -> _Error:
        tok = self.peek()
        message = f"unexpected {tok.describe()}"
        if context:
            message += f" in {context}"
        if expected:
            message += f", expected {expected}"
        return _Error(message, tok.pos)

    def expect(self, kind: str, context: str = "", expected: str = "") -> _Token:
        if self.peek().kind != kind:
            raise self.unexpected(context, expected)
        return self.advance()

    def last_end(self) -> int:
        tok = self.tokens[self.k - 1]
        return tok.pos + len(tok.text)

    # -- grammar ----------------------------------------------------------------------------

    def parse(self) -> Expr:
        if self.peek().kind == "eof":
            raise _Error("no expression found in input", 0)
        expr = self.expr()
        if self.peek().kind != "eof":
            raise self.unexpected()
        return expr

    def expr(self, level: int = 0) -> Expr:
        if level == len(_PRECEDENCE):
            return self.unary()
        lhs = self.expr(level + 1)
        while self.peek().kind in _PRECEDENCE[level]:
            lhs = self.binary_rest(lhs, lambda: self.expr(level + 1))
        return lhs

    def binary_rest(self, lhs: Expr, operand: Callable[[], Expr]) -> BinaryExpr:
        op_tok = self.advance()
        op = op_tok.kind
        return_bool = False
        if self.peek().kind == "bool":
            self.advance()
            return_bool = True
        matching = VectorMatching()
        if self.peek().kind in ("on", "ignoring"):
            on = self.advance().kind == "on"
            labels = self.grouping_labels()
            matching = VectorMatching("one-to-one", labels, on)
            if self.peek().kind in ("group_left", "group_right"):
                card: Cardinality = "many-to-one" if self.advance().kind == "group_left" else "one-to-many"
                include = self.grouping_labels() if self.peek().kind == "(" else ()
                matching = VectorMatching(card, labels, on, include)
        rhs = operand()
        return BinaryExpr(
            op,
            lhs,
            rhs,
            return_bool,
            matching,
            start=lhs.start,
            end=rhs.end,
            op_pos=op_tok.pos,
        )

    def unary(self) -> Expr:
        if self.peek().kind in ("+", "-"):
            tok = self.advance()
            operand = self.unary()
            if isinstance(operand, NumberLiteral):
                # Prometheus folds the sign into the literal: -1 is a NumberLiteral.
                value = -operand.value if tok.kind == "-" else operand.value
                return NumberLiteral(value, start=tok.pos, end=operand.end)
            op: Literal["-", "+"] = "-" if tok.kind == "-" else "+"
            return Unary(op, operand, start=tok.pos, end=operand.end)
        return self.power()

    def power(self) -> Expr:
        base = self.postfix(self.primary())
        if self.peek().kind == "^":
            return self.binary_rest(base, self.unary)  # right-associative
        return base

    def primary(self) -> Expr:
        tok = self.peek()
        kind = tok.kind
        if kind == "number":
            self.advance()
            try:
                value = _number_value(tok.text)
            except _Error as err:
                raise _Error(err.message, tok.pos) from None
            return NumberLiteral(value, start=tok.pos, end=self.last_end())
        if kind == "string":
            self.advance()
            return StringLiteral(_unquote(tok.text), start=tok.pos, end=self.last_end())
        if kind == "(":
            self.advance()
            inner = self.expr()
            self.expect(")")
            return Paren(inner, start=tok.pos, end=self.last_end())
        if kind == "{":
            return self.vector_selector(None, tok.pos)
        if kind == "ident":
            self.advance()
            if self.peek().kind == "(":
                return self.call(tok)
            return self.vector_selector(tok.text, tok.pos)
        if kind in AGGREGATIONS and self.peek(1).kind in ("(", "by", "without"):
            return self.aggregation()
        if kind == "metric_ident" or kind in _METRIC_KEYWORDS:
            self.advance()
            return self.vector_selector(tok.text, tok.pos)
        raise self.unexpected()

    def call(self, name_tok: _Token) -> Expr:
        if name_tok.text not in FUNCTIONS:
            raise _Error(f"unknown function with name {_go_quote(name_tok.text)}", name_tok.pos)
        args = self.call_body()
        return Call(name_tok.text, args, start=name_tok.pos, end=self.last_end())

    def call_body(self, context: str = "") -> tuple[Expr, ...]:
        self.expect("(")
        args: list[Expr] = []
        if self.peek().kind == ")":
            self.advance()
            return ()
        while True:
            args.append(self.expr())
            if self.peek().kind == ",":
                comma = self.advance()
                if self.peek().kind == ")":
                    raise _Error("trailing commas not allowed in function call args", comma.pos)
                continue
            self.expect(")", context)
            return tuple(args)

    def aggregation(self) -> Expr:
        op_tok = self.advance()
        op = op_tok.kind
        grouping: tuple[str, ...] = ()
        without = False
        modifier_first = self.peek().kind in ("by", "without")
        if modifier_first:
            without = self.advance().kind == "without"
            grouping = self.grouping_labels()
        if self.peek().kind != "(":
            raise self.unexpected("aggregation")
        args = self.call_body("aggregation")
        end = self.last_end()
        if not modifier_first and self.peek().kind in ("by", "without"):
            without = self.advance().kind == "without"
            grouping = self.grouping_labels()
            end = self.last_end()
        if not args:
            raise _Error("no arguments for aggregate expression provided", op_tok.pos)
        wanted = 1 if AGGREGATIONS[op] is None else 2
        if len(args) != wanted:
            raise _Error(
                "wrong number of arguments for aggregate expression provided, "
                f"expected {wanted}, got {len(args)}",
                op_tok.pos,
            )
        param = args[0] if wanted == 2 else None
        return Aggregation(op, args[-1], param, grouping, without, start=op_tok.pos, end=end)

    def grouping_labels(self) -> tuple[str, ...]:
        self.expect("(", "grouping opts", '"("')
        labels: list[str] = []
        while True:
            tok = self.peek()
            if tok.kind == ")":
                self.advance()
                return tuple(labels)
            if tok.kind == "ident" or tok.kind in _LABEL_KEYWORDS:
                labels.append(self.advance().text)
            else:
                raise self.unexpected("grouping opts", "label")
            if self.peek().kind == ",":
                self.advance()
            elif self.peek().kind != ")":
                raise self.unexpected("grouping opts", '"," or ")"')

    def vector_selector(self, name: str | None, start: int) -> Expr:
        matchers: list[Matcher] = []
        if self.peek().kind == "{":
            self.advance()
            while self.peek().kind != "}":
                label = self.expect("ident", "label matching", 'identifier or "}"')
                op_tok = self.peek()
                if op_tok.kind not in ("=", "!=", "=~", "!~"):
                    raise self.unexpected("label matching", "label matching operator")
                self.advance()
                value_tok = self.expect("string", "label matching", "string")
                value = _unquote(value_tok.text)
                op: Literal["=", "!=", "=~", "!~"] = op_tok.kind  # type: ignore[assignment]
                if op in ("=~", "!~"):
                    _check_regex(value, label.pos)
                matchers.append(Matcher(label.text, op, value))
                if self.peek().kind == ",":
                    self.advance()
                elif self.peek().kind != "}":
                    raise self.unexpected("label matching", '"," or "}"')
            self.advance()
        end = self.last_end()
        names = [m for m in matchers if m.name == "__name__"]
        if name is not None and names:
            raise _Error(
                f"metric name must not be set twice: {_go_quote(name)} or {_go_quote(names[0].value)}",
                start,
            )
        if name is None:
            if not any(not m.matches("") for m in matchers):
                raise _Error("vector selector must contain at least one non-empty matcher", start)
            equal = [m for m in names if m.op == "="]
            if len(equal) == 1:
                name = equal[0].value
        return VectorSelector(name, tuple(matchers), start=start, end=end)

    def duration(self, context: str, expected: str) -> float:
        tok = self.peek()
        if tok.kind != "duration":
            raise self.unexpected(context, expected)
        self.advance()
        try:
            seconds = parse_duration(tok.text)
        except ValueError as err:
            raise _Error(str(err), tok.pos) from None
        if seconds == 0:
            raise _Error("duration must be greater than 0", tok.pos)
        return seconds

    def postfix(self, expr: Expr) -> Expr:
        """Range/subquery brackets, offset and @ bind tighter than any operator."""
        while True:
            kind = self.peek().kind
            if kind == "[":
                expr = self.brackets(expr)
            elif kind == "offset":
                expr = self.offset(expr)
            elif kind == "@":
                expr = self.at(expr)
            else:
                return expr

    def brackets(self, expr: Expr) -> Expr:
        open_tok = self.advance()
        rng = self.duration("subquery selector", "duration")
        if self.peek().kind == "]":
            self.advance()
            if not isinstance(expr, VectorSelector):
                raise _Error("ranges only allowed for vector selectors", open_tok.pos)
            if expr.offset is not None:
                raise _Error("no offset modifiers allowed before range", open_tok.pos)
            if expr.at is not None:
                raise _Error("no @ modifiers allowed before range", open_tok.pos)
            return MatrixSelector(expr, rng, start=expr.start, end=self.last_end())
        if self.peek().kind != ":":
            raise self.unexpected("subquery or range", '":" or "]"')
        self.advance()
        step: float | None = None
        if self.peek().kind != "]":
            step = self.duration("subquery selector", 'duration or "]"')
            if self.peek().kind != "]":
                raise self.unexpected("subquery selector", '"]"')
        self.advance()
        return Subquery(expr, rng, step, start=expr.start, end=self.last_end())

    def offset(self, expr: Expr) -> Expr:
        self.advance()
        sign = 1.0
        if self.peek().kind == "-":
            self.advance()
            sign = -1.0
        seconds = sign * self.duration("offset", "duration")
        target = expr.vector if isinstance(expr, MatrixSelector) else expr
        if not isinstance(target, VectorSelector | Subquery):
            raise _Error(
                "offset modifier must be preceded by an instant vector selector or range "
                "vector selector or a subquery",
                expr.start,
            )
        if target.offset is not None:
            raise _Error("offset may not be set multiple times", expr.start)
        return self.modify(expr, offset=seconds)

    def at(self, expr: Expr) -> Expr:
        self.advance()
        value: AtModifier
        if self.peek().kind in ("start", "end"):
            which = self.advance().kind
            self.expect("(", "@", '"("')
            self.expect(")", "@", '")"')
            value = "start" if which == "start" else "end"
        else:
            sign = 1.0
            if self.peek().kind in ("+", "-"):
                sign = -1.0 if self.advance().kind == "-" else 1.0
            tok = self.peek()
            if tok.kind != "number":
                raise self.unexpected("@", "timestamp")
            self.advance()
            value = sign * _number_value(tok.text)
            if not math.isfinite(value) or abs(value * 1000) > _MAX_MS:
                raise _Error(f"timestamp out of bounds for @ modifier: {format_number(value)}", expr.start)
        target = expr.vector if isinstance(expr, MatrixSelector) else expr
        if not isinstance(target, VectorSelector | Subquery):
            raise _Error(
                "@ modifier must be preceded by an instant vector selector or range vector "
                "selector or a subquery",
                expr.start,
            )
        if target.at is not None:
            raise _Error("@ <timestamp> may not be set multiple times", expr.start)
        return self.modify(expr, at=value)

    def modify(self, expr: Expr, offset: float | None = None, at: AtModifier | None = None) -> Expr:
        end = self.last_end()
        if isinstance(expr, MatrixSelector):
            vector = self.modify(expr.vector, offset, at)
            assert isinstance(vector, VectorSelector)
            return MatrixSelector(vector, expr.range_seconds, start=expr.start, end=end)
        assert isinstance(expr, VectorSelector | Subquery)
        return dataclasses.replace(
            expr,
            offset=expr.offset if offset is None else offset,
            at=expr.at if at is None else at,
            end=end,
        )


_UNSUPPORTED_RE: Final = re.compile(r"\(\?<?[=!]|\(\?P=|\\[1-9]")
# RE2 escapes Python's re lacks: Unicode classes (approximated by \w) and \z.
_RE2_ONLY_RE: Final = re.compile(r"\\[pP](?:\{[^}]*\}|[A-Za-z])|\\z")


def _python_regex(pattern: str) -> str:
    """Approximate a Go RE2 pattern with Python's re, fully anchored as Prometheus does."""
    body = _RE2_ONLY_RE.sub(lambda m: "\\Z" if m.group() == "\\z" else "\\w", pattern)
    return f"(?:{body})"


def _check_regex(pattern: str, pos: int) -> None:
    """Reject regexes Prometheus (Go RE2) would reject; Python's re is an approximation."""
    bad = _UNSUPPORTED_RE.search(pattern)
    if bad:
        raise _Error(f"error parsing regexp: invalid or unsupported Perl syntax: `{bad.group()}`", pos)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning for RE2's [[:alpha:]] classes
            re.compile(_python_regex(pattern))
    except re.error as err:
        raise _Error(f"error parsing regexp: {err}", pos) from None


# --------------------------------------------------------------------------------------------
# Type checking (Prometheus' checkAST)
# --------------------------------------------------------------------------------------------


def type_of(expr: Expr) -> ValueType:
    """The value type an expression evaluates to (assumes it type-checks)."""
    if isinstance(expr, NumberLiteral):
        return SCALAR
    if isinstance(expr, StringLiteral):
        return STRING
    if isinstance(expr, VectorSelector | Aggregation):
        return VECTOR
    if isinstance(expr, MatrixSelector | Subquery):
        return MATRIX
    if isinstance(expr, Call):
        return FUNCTIONS[expr.func].return_type
    if isinstance(expr, Paren | Unary):
        return type_of(expr.expr)
    if isinstance(expr, BinaryExpr):
        both_scalar = type_of(expr.lhs) == SCALAR and type_of(expr.rhs) == SCALAR
        return SCALAR if both_scalar else VECTOR
    raise TypeError(f"not a PromQL expression: {expr!r}")


def _expect_type(expr: Expr, want: ValueType, context: str) -> None:
    got = _check(expr)
    if got != want:
        raise _Error(f"expected type {want} in {context}, got {got}", expr.start)


def _check(expr: Expr) -> ValueType:
    if isinstance(expr, Paren):
        _check(expr.expr)
    elif isinstance(expr, Unary):
        inner = _check(expr.expr)
        if inner not in (SCALAR, VECTOR):
            raise _Error(
                "unary expression only allowed on expressions of type scalar or instant "
                f'vector, got "{inner}"',
                expr.start,
            )
    elif isinstance(expr, Subquery):
        inner = _check(expr.expr)
        if inner != VECTOR:
            legacy = {SCALAR: "scalar", MATRIX: "matrix", STRING: "string"}[inner]
            raise _Error(f"subquery is only allowed on instant vector, got {legacy} instead", expr.start)
    elif isinstance(expr, Call):
        _check_call(expr)
    elif isinstance(expr, Aggregation):
        _expect_type(expr.expr, VECTOR, "aggregation expression")
        want = AGGREGATIONS[expr.op]
        if expr.param is not None and want is not None:
            _expect_type(expr.param, want, "aggregation parameter")
    elif isinstance(expr, BinaryExpr):
        _check_binary(expr)
    return type_of(expr)


def _check_call(call: Call) -> None:
    fn = FUNCTIONS[call.func]
    n = len(call.args)
    if fn.variadic == 0 and n != len(fn.arg_types):
        raise _Error(
            f"expected {len(fn.arg_types)} argument(s) in call to {_go_quote(fn.name)}, got {n}",
            call.start,
        )
    if n < fn.min_args:
        raise _Error(
            f"expected at least {fn.min_args} argument(s) in call to {_go_quote(fn.name)}, got {n}",
            call.start,
        )
    if fn.max_args is not None and n > fn.max_args:
        raise _Error(
            f"expected at most {fn.max_args} argument(s) in call to {_go_quote(fn.name)}, got {n}",
            call.start,
        )
    for i, arg in enumerate(call.args):
        want = fn.arg_types[min(i, len(fn.arg_types) - 1)]
        _expect_type(arg, want, f"call to function {_go_quote(fn.name)}")


def _check_binary(expr: BinaryExpr) -> None:
    lt, rt = _check(expr.lhs), _check(expr.rhs)
    op = expr.op
    m = expr.matching or VectorMatching()
    if expr.return_bool and op not in _COMPARISONS:
        raise _Error("bool modifier can only be used on comparison operators", expr.op_pos)
    if op in _COMPARISONS and not expr.return_bool and lt == SCALAR and rt == SCALAR:
        raise _Error("comparisons between scalars must use BOOL modifier", expr.op_pos)
    if m.on:
        for label in m.labels:
            if label in m.include:
                raise _Error(
                    f"label {_go_quote(label)} must not occur in ON and GROUP clause at once",
                    expr.op_pos,
                )
    if lt not in (SCALAR, VECTOR):
        raise _Error("binary expression must contain only scalar and instant vector types", expr.lhs.start)
    if rt not in (SCALAR, VECTOR):
        raise _Error("binary expression must contain only scalar and instant vector types", expr.rhs.start)
    if lt != VECTOR or rt != VECTOR:
        if m.labels:
            raise _Error("vector matching only allowed between instant vectors", expr.start)
    elif op in _SET_OPS and m.card in ("many-to-one", "one-to-many"):
        raise _Error(f"no grouping allowed for {_go_quote(op)} operation", expr.start)
    if op in _SET_OPS and SCALAR in (lt, rt):
        raise _Error(f"set operator {_go_quote(op)} not allowed in binary scalar expression", expr.start)


def _normalize(expr: Expr) -> Expr:
    """Drop vector matching where a side is scalar and mark set operations many-to-many,
    as Prometheus does after type checking."""
    if isinstance(expr, BinaryExpr):
        lhs, rhs = _normalize(expr.lhs), _normalize(expr.rhs)
        matching = expr.matching
        if type_of(lhs) != VECTOR or type_of(rhs) != VECTOR:
            matching = None
        elif matching is not None and expr.op in _SET_OPS:
            matching = VectorMatching("many-to-many", matching.labels, matching.on, ())
        return BinaryExpr(
            expr.op,
            lhs,
            rhs,
            expr.return_bool,
            matching,
            start=expr.start,
            end=expr.end,
            op_pos=expr.op_pos,
        )
    if isinstance(expr, Paren):
        return Paren(_normalize(expr.expr), start=expr.start, end=expr.end)
    if isinstance(expr, Unary):
        return Unary(expr.op, _normalize(expr.expr), start=expr.start, end=expr.end)
    if isinstance(expr, Subquery):
        return dataclasses.replace(expr, expr=_normalize(expr.expr))
    if isinstance(expr, Call):
        return Call(expr.func, tuple(_normalize(a) for a in expr.args), start=expr.start, end=expr.end)
    if isinstance(expr, Aggregation):
        param = None if expr.param is None else _normalize(expr.param)
        return Aggregation(
            expr.op,
            _normalize(expr.expr),
            param,
            expr.grouping,
            expr.without,
            start=expr.start,
            end=expr.end,
        )
    return expr


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def parse(text: str) -> Expr:
    """Parse and type-check a PromQL expression; raises PromQLError."""
    return _parse(text)


# Trees are immutable and renderers, checkers and sharding parse the same rule expressions
# again and again (a build parses each about four times), so each text is parsed once.
@functools.cache
def _parse(text: str) -> Expr:
    try:
        expr = _Parser(text).parse()
        _check(expr)
    except _Error as err:
        raise PromQLError(err.message, err.offset, text) from None
    return _normalize(expr)


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of the tree, parents before children, arguments in source order."""
    yield expr
    children: tuple[Expr, ...]
    if isinstance(expr, MatrixSelector):
        children = (expr.vector,)
    elif isinstance(expr, Paren | Unary | Subquery):
        children = (expr.expr,)
    elif isinstance(expr, Call):
        children = expr.args
    elif isinstance(expr, Aggregation):
        children = (expr.expr,) if expr.param is None else (expr.param, expr.expr)
    elif isinstance(expr, BinaryExpr):
        children = (expr.lhs, expr.rhs)
    else:
        children = ()
    for child in children:
        yield from walk(child)
