"""Fuzzing the loader: any input gives a valid model or a clean SpecError, nothing else."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ryotgen.errors import SpecError
from ryotgen.loader import parse_yaml, validate
from ryotgen.model import build_model
from tests.conftest import DEFAULT_SPEC, MINIMAL_SPEC

SPEC_LINES = MINIMAL_SPEC.read_text().splitlines(keepends=True)
DEFAULT_DATA = yaml.safe_load(DEFAULT_SPEC.read_text())


def _load(text: str) -> None:
    try:
        data, source = parse_yaml(text, "fuzz.yaml")
        build_model(validate(data, source), source, "fuzz.yaml")
    except SpecError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.line >= 1 and problem.col >= 1 and problem.message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("ab: -[]{}\n\t'\"&*!#|>%@`,?0.")), max_size=200))
def test_random_yaml_text(text: str) -> None:
    _load(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(SPEC_LINES) - 1),
                          st.sampled_from(["delete", "duplicate", "dedent", "indent", "garble", "swap"])),
                min_size=1, max_size=4),
       st.text(max_size=12))
def test_mutated_minimal_spec(edits: list[tuple[int, str]], junk: str) -> None:
    lines = list(SPEC_LINES)
    for index, action in edits:
        index %= len(lines)
        line = lines[index]
        if action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, line)
        elif action == "dedent":
            lines[index] = line[2:]
        elif action == "indent":
            lines[index] = "  " + line
        elif action == "garble":
            lines[index] = line[: len(line) // 2] + junk + "\n"
        else:
            lines[index], lines[-1 - index] = lines[-1 - index], line
        if not lines:
            break
    _load("".join(lines))


def _paths(data: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _paths(value, (*prefix, index))
    return out


PATHS = [p for p in _paths(DEFAULT_DATA) if p]
VALUES = [None, 0, -1, 1e300, "", "x", "{{ evil }}", 'a"}b', "\n", [], {}, {"kind": "expr"}, True]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), st.sampled_from(VALUES))
def test_default_spec_with_one_value_replaced(path: tuple[object, ...], value: object) -> None:
    data = yaml.safe_load(DEFAULT_SPEC.read_text())
    node = data
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    _load(yaml.safe_dump(data, sort_keys=False))


def test_the_default_spec_itself_loads() -> None:
    _load(Path(DEFAULT_SPEC).read_text())
