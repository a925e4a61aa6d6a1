"""formats.to_json writes exactly what json.dumps(indent=2, sort_keys=True, ensure_ascii=False) writes."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from ryotgen.render import formats

VALUES = {
    "an empty object": {}, "an empty list": [], "nested empties": {"a": [], "b": {}, "c": [{}]},
    "strings to escape": {"q": 'say "hi"\\', "ctl": "a\nb\tc\x00\x1f\x7f", "seps": "\u2028\u2029"},
    "unicode": {"é": "€😀", "lone surrogate": "a\ud800"},
    "numbers": [0, -1, 10**20, 1.5, -0.0, 1e16, 1.5e-7, 3.0],
    "booleans and null": [True, False, None],
    "a tuple": {"t": (1, "a", [2])},
    "keys sort by code point": {"b": 1, "B": 2, "a": 3, "_": 4, "é": 5},
    "non-string keys": {1: "a", 2: "b"},
    "not a number": {"nan": float("nan"), "inf": float("inf")},
}


def _reference(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("data", VALUES.values(), ids=VALUES.keys())
def test_value_is_written_as_json_dumps_writes_it(data: Any) -> None:
    assert formats.to_json(data) == _reference(data)


def test_random_documents_are_written_as_json_dumps_writes_them() -> None:
    rnd = random.Random(9)
    chars = [*'ab "\\/\n\t\x00\x1f\x7f\u2028é😀{}[],:']

    def node(depth: int) -> Any:
        roll = rnd.random()
        if depth > 3 or roll < 0.5:
            text = "".join(rnd.choice(chars) for _ in range(rnd.randint(0, 10)))
            return rnd.choice([text, rnd.randint(-10**6, 10**6), rnd.random() * 1e6, None, True])
        if roll < 0.75:
            return [node(depth + 1) for _ in range(rnd.randint(0, 4))]
        return {"".join(rnd.choice(chars) for _ in range(3)): node(depth + 1) for _ in range(4)}

    for _ in range(2000):
        data = node(0)
        assert formats.to_json(data) == _reference(data), data
