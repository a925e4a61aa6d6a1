"""The fast emitter writes exactly what PyYAML's own emitter writes, hostile strings included."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from ryotgen.render import formats


class _PyYAMLDumper(yaml.SafeDumper):
    """formats._Dumper without the fast emitter: the reference output."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_PyYAMLDumper.add_representer(str, formats._str_presenter)


def _reference(data: Any) -> str:
    body = yaml.dump(data, Dumper=_PyYAMLDumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    return f"# h\n{body}"


STRINGS = {
    "empty": "", "a space": " ", "a line break": "\n", "two line breaks": "\n\n",
    "a dash": "-", "a list marker": "- a", "document start": "---", "document end": "...",
    "a leading colon": ":a", "a key-like colon": "a: b", "a trailing colon": "a:",
    "a comment": "a #b", "a hash inside a word": "a#b", "flow indicators": "{a}, [b]",
    "quotes": "'single' \"double\"", "Go template braces": "{{ $labels.model }}",
    "YAML 1.1 booleans": "yes", "a null word": "null", "a float-like word": "1e3",
    "leading and trailing spaces": "  padded  ", "a trailing space before a break": "a \nb",
    "an indented continuation": "a\n  b", "trailing line breaks": "a\n\n",
    "multi-line PromQL": "sum by (le) (\n  rate(x_bucket[5m])\n)\n", "a tab": "a\tb",
    "control characters": "a\x07b\x00", "NEL and line separators": "a\x85b\u2028c\u2029",
    "a byte order mark": "\ufeffa", "non-BMP characters": "é€😀", "a lone surrogate": "a\ud800",
    "a long line": "word " * 40, "a long multi-line text": ("word " * 30 + "\n") * 5,
    "carriage returns": "a\r\nb",
    "long words with double spaces": ("lorem  ipsum dolor " * 12).strip(),
}


@pytest.mark.parametrize("value", STRINGS.values(), ids=STRINGS.keys())
def test_hostile_string_is_emitted_as_pyyaml_emits_it(value: str) -> None:
    for data in ({"key": value}, [value, {"nested": [value, 1]}], {value or "k": value}):
        assert formats.to_yaml(data, "h") == _reference(data)


def test_random_documents_are_emitted_as_pyyaml_emits_them() -> None:
    rnd = random.Random(9)
    pieces = [*"ab :#-?,[]{}&*!|>'\"%@`.\n\t\r\0\x85\u2028\u2029\ufeff\xa0é😀", "---", "...",
              ": ", " #", "\n ", " \n", "word " * 25]

    def text() -> str:
        return "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, rnd.choice([3, 12, 60]))))

    def node(depth: int) -> Any:
        roll = rnd.random()
        if depth > 2 or roll < 0.5:
            return rnd.choice([text(), text(), rnd.randint(-5, 10**6), rnd.random(), None, True])
        if roll < 0.75:
            return [node(depth + 1) for _ in range(rnd.randint(0, 4))]
        return {text() or "k": node(depth + 1) for _ in range(rnd.randint(0, 4))}

    for _ in range(1500):
        data = {"root": node(0)}
        assert formats.to_yaml(data, "h") == _reference(data), data
