"""`json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)`, faster.

With an indent, Python 3.11's json module falls back from its C encoder to a pure-Python
generator chain; dashboards are the largest files a build writes. This recursive encoder
produces the same text (tests/unit/test_fast_json.py compares them) and leaves anything
unusual (non-string keys, NaN or infinities, unknown types) to json.dumps itself.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring
from typing import Any


class _Unusual(Exception):
    """Something json.dumps formats in its own way; let it."""


def dumps(data: Any) -> str:
    """Exactly json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)."""
    try:
        return _encode(data, "\n")
    except (_Unusual, RecursionError):
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def _encode(value: Any, newline: str) -> str:
    """`newline` is a line break plus the indent of the line `value` starts on."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Unusual
        return float.__repr__(value)
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        inner = newline + "  "
        return "[" + inner + ("," + inner).join([_encode(v, inner) for v in value]) + newline + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        if not all(isinstance(key, str) for key in value):
            raise _Unusual
        inner = newline + "  "
        items = [encode_basestring(k) + ": " + _encode(v, inner) for k, v in sorted(value.items())]
        return "{" + inner + ("," + inner).join(items) + newline + "}"
    raise _Unusual
