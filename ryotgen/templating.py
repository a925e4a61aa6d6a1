"""The project's one Jinja environment, for Python source only (YAML and JSON are dumped as data).

Spec text reaches generated source only through the `pyrepr` filter: `repr()` yields a valid
Python literal for any string, so quotes, backslashes, triple quotes or `{{ }}` in help text
cannot change the program. Templates are read from the `ryotgen.templates` package, which is
the top-level `templates/` folder in a checkout and inside the installed wheel.
"""

from __future__ import annotations

from functools import cache

import jinja2


def pyrepr(value: object) -> str:
    """A Python literal for a str, int, float, bool, None or a tuple/list of them."""
    if isinstance(value, list):
        value = tuple(value)
    return repr(value)


WIDTH = 110  # the project's line length; generated source passes ruff with it


def _chunks(text: str, room: int) -> list[str]:
    """Split `text` so each piece's repr fits in `room` columns (escapes make repr longer)."""
    pieces: list[str] = []
    current = ""
    for char in text:
        if current and len(repr(current + char)) > room:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current]


def pystr(value: str, start: int, indent: int) -> str:
    """A str literal starting at column `start`; when too long, parenthesised implicit
    concatenation over lines indented by `indent` + 4."""
    literal = repr(value)
    if start + len(literal) + 2 <= WIDTH:
        return literal
    inner = " " * (indent + 4)
    lines = [inner + repr(piece) for piece in _chunks(value, WIDTH - len(inner) - 2)]
    return "(\n" + "\n".join(lines) + "\n" + " " * indent + ")"


def pytuple(value: list[object] | tuple[object, ...], start: int, indent: int) -> str:
    """A tuple literal starting at column `start`; when too long, one item per line."""
    literal = pyrepr(value)
    if start + len(literal) + 2 <= WIDTH:
        return literal
    inner = " " * (indent + 4)
    return "(\n" + "".join(f"{inner}{item!r},\n" for item in value) + " " * indent + ")"


def pycomment(value: object) -> str:
    """Text safe inside a `#` comment: one line."""
    return " ".join(str(value).splitlines())


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ryotgen.templates", "."),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Python source, not HTML; pyrepr does the escaping that matters.
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pyrepr"] = pyrepr
    env.filters["pycomment"] = pycomment
    env.filters["pystr"] = pystr
    env.filters["pytuple"] = pytuple
    return env


def render_template(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
