"""Load a spec file: YAML (safe subset) with node positions, then pydantic validation.

Every problem is reported with the line and column of the key or value it concerns, all at
once, as `SpecError`. Nothing here writes anything.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ryotgen.errors import Problem, SpecError
from ryotgen.spec import PATTERN_HINTS, Spec

# Room for a large organisation's spec (100x the default is about 2.3 MB, see bench/) while
# keeping what is read into memory bounded.
MAX_BYTES = 8 * 1024 * 1024
# Alias expansion beyond this many nodes is a "billion laughs" bomb, not a monitoring spec.
MAX_NODES = 200_000

PathKey = tuple[str | int, ...]
_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass
class SourceMap:
    """Where each key and value of the spec stands in its file."""

    file: str
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def problem(self, path: PathKey, message: str, *, at_key: bool = False) -> Problem:
        """A problem at `path`, or at its nearest ancestor that has a position.

        List items have no key, so their value position stands in for one.
        """
        tables = (self.keys, self.values) if at_key else (self.values, self.keys)
        probe = path
        while probe:
            for table in tables:
                if probe in table:
                    line, col = table[probe]
                    return Problem(self.file, line, col, message)
            probe = probe[:-1]
        line, col = self.values.get((), (1, 1))
        return Problem(self.file, line, col, message)


def dotted(path: Iterable[str | int]) -> str:
    """('metrics', 2, 'help') -> 'metrics[2].help'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def load_spec(path: Path, display: str | None = None) -> tuple[Spec, SourceMap]:
    """Read, parse and validate the spec at `path`; raise SpecError with every problem."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([Problem(name, 1, 1, f"cannot read the spec: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        message = f"the spec is {len(raw)} bytes; the limit is {MAX_BYTES}"
        raise SpecError([Problem(name, 1, 1, message)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}); save it as UTF-8"
        raise SpecError([Problem(name, 1, 1, message)]) from None
    data, source = parse_yaml(text, name)
    return validate(data, source), source


# libyaml parses ~10x faster than pure-Python PyYAML, with the same nodes and positions.
_FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str, name: str) -> tuple[Any, SourceMap]:
    """YAML text -> plain data and its SourceMap (safe_load semantics, duplicate keys rejected)."""
    try:
        return _parse_yaml(text, name, _FAST_LOADER)
    except SpecError:
        if _FAST_LOADER is yaml.SafeLoader:
            raise
    # libyaml words its errors differently; PyYAML re-reads a bad file so problems read the same.
    return _parse_yaml(text, name, yaml.SafeLoader)


def _parse_yaml(text: str, name: str, loader_class: type[yaml.SafeLoader]) -> tuple[Any, SourceMap]:
    try:
        loader = loader_class(text)
    except yaml.YAMLError as exc:  # the reader rejects NUL and other non-printable characters
        raise SpecError([Problem(name, 1, 1, f"unreadable YAML: {exc}")]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise SpecError([Problem(name, 1, 1, "the spec is empty; start it with `version: 1`")])
        source = SourceMap(name)
        builder = _Builder(loader, source)
        data = builder.build(node, ())
        if builder.problems:
            raise SpecError(builder.problems)
        return data, source
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError([Problem(name, line, col, _yaml_message(exc))]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(name, 1, 1, f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or str(exc)
    if "'\\t'" in problem:
        return "a tab character; YAML indents with spaces only, replace the tab with spaces"
    if "could not determine a constructor" in problem:
        return f"unsupported YAML tag ({problem.split('tag', 1)[-1].strip()}); plain values only"
    context = f" {exc.context}" if exc.context else ""
    return f"YAML syntax error:{context} {problem}".replace("  ", " ")


class _Builder:
    """Turns a composed YAML node tree into data, recording positions as it goes."""

    def __init__(self, loader: yaml.SafeLoader, source: SourceMap) -> None:
        self.loader = loader
        self.source = source
        self.problems: list[Problem] = []
        self.visited = 0

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            mark = node.start_mark
            raise SpecError([Problem(self.source.file, mark.line + 1, mark.column + 1,
                                     f"more than {MAX_NODES} values after expanding aliases "
                                     "(an alias bomb?); write the values out")])
        self.source.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            mark = node.start_mark
            raise SpecError([Problem(self.source.file, mark.line + 1, mark.column + 1,
                                     f"unsupported YAML tag {node.tag}; plain values only")])
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(Problem(self.source.file, line, col, "keys must be plain strings"))
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(Problem(self.source.file, line, col,
                                             "merge keys (<<) are not supported; write the keys out"))
                continue
            # The key as written: YAML 1.1 would turn `on:` or `no:` into booleans.
            key = str(key_node.value)
            if key in out:
                first = self.source.keys[(*path, key)]
                self.problems.append(Problem(self.source.file, line, col,
                                             f"duplicate key {key!r} (first at line {first[0]}); "
                                             "remove one of them"))
                continue
            self.source.keys[(*path, key)] = (line, col)
            out[key] = self.build(value_node, (*path, key))
        return out


def validate(data: Any, source: SourceMap) -> Spec:
    """Plain data -> Spec, with pydantic errors mapped to file positions."""
    if not isinstance(data, dict):
        message = "the spec must be a mapping of sections, starting with `version: 1`"
        raise SpecError([source.problem((), message)])
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError([_problem(err, data, source) for err in exc.errors()]) from None


def _problem(err: Any, data: Any, source: SourceMap) -> Problem:
    """One pydantic error -> a Problem at the right node with a message a person can act on."""
    path = _data_path(tuple(err["loc"]), data)
    kind = err["type"]
    where = dotted(path)
    if kind == "extra_forbidden":
        key = str(path[-1])
        allowed = _allowed_keys(path[:-1], data)
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {', '.join(allowed)}"
        return source.problem(path, f"unknown key {key!r} in {dotted(path[:-1])}{hint}", at_key=True)
    if kind == "missing":
        missing = str(err["loc"][-1])
        parent = path[:-1] if path and path[-1] == missing else path
        return source.problem(parent, f"{dotted(parent)} is missing the required key {missing!r}",
                              at_key=True)
    got = err.get("input")
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern", "")
        message = PATTERN_HINTS.get(pattern, message)
    if kind == "string_type" and isinstance(got, bool):
        message += "; YAML reads yes/no/on/off/true/false as booleans, so quote the value"
    elif kind == "literal_error":
        message = f"expected {err['ctx']['expected']}"
    if isinstance(got, str | int | float | bool) and kind not in ("missing",):
        message += f" (got {got!r})"
    return source.problem(path, f"{where}: {message}")


def _data_path(loc: tuple[Any, ...], data: Any) -> PathKey:
    """Pydantic's loc names union members (e.g. 'ratio', 'str'); keep only real data steps."""
    path: list[str | int] = []
    node = data
    steps = list(loc)
    while steps:
        step = steps.pop(0)
        if _has(node, step):
            path.append(step)
            node = node[step]
        elif isinstance(node, dict) and steps == [] and isinstance(step, str):
            path.append(step)  # a missing or extra key: the error is about this key
        elif isinstance(node, dict) and node.get("kind") == step:
            continue  # discriminated union tag
        elif not isinstance(step, str | int) or steps:
            continue  # union member names such as 'str' or 'list[...]'
    return tuple(path)


def _has(node: Any, step: Any) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)


def _allowed_keys(path: PathKey, data: Any) -> list[str]:
    """The field names of the model that sits at `path` (by alias where it has one)."""
    annotation: Any = Spec
    node = data
    for step in path:
        annotation = _unwrap(annotation, node)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(str(step)) or _by_alias(annotation, str(step))
            if info is None:
                return []
            annotation = info.annotation
        else:
            origin = typing.get_origin(annotation)
            args = typing.get_args(annotation)
            if origin is list and args:
                annotation = args[0]
            elif origin is dict and len(args) == 2:
                annotation = args[1]
            else:
                return []
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            node = None
    model = _unwrap(annotation, node)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(info.alias or name for name, info in model.model_fields.items())
    return []


def _by_alias(model: type[BaseModel], alias: str) -> Any:
    for info in model.model_fields.values():
        if info.alias == alias:
            return info
    return None


def _unwrap(annotation: Any, node: Any) -> Any:
    """Strip Annotated/Optional; pick the union member whose `kind` matches the data."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            chosen = members[0] if len(members) == 1 else None
            kind = node.get("kind") if isinstance(node, dict) else None
            for member in members:
                field_info = getattr(member, "model_fields", {}).get("kind")
                if field_info is not None and kind in typing.get_args(field_info.annotation):
                    chosen = member
            if chosen is None:
                return annotation
            annotation = chosen
        else:
            return annotation
