"""Small Markdown builders that keep spec strings from breaking the document.

Spec text lands in paragraphs, list items, table cells, code spans and fenced blocks; each
helper escapes for exactly one of those places. Documents are lists of lines joined once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_WHITESPACE = re.compile(r"\s+")
# Characters that start inline markup (emphasis, links, code, raw HTML, entities). `_` is
# left alone: GitHub never treats intraword underscores as emphasis, and metric names are full of them.
_INLINE = re.compile(r"([\\`*\[\]<>|~])")
# What would turn the start of a line into a heading, quote, list item or rule.
_BLOCK_START = re.compile(r"^(#|>|[-+=]|\d+[.)])")


def comment(text: str) -> str:
    """An HTML comment; `--` may not appear inside one."""
    return f"<!-- {one_line(text).replace('--', '- -')} -->"


def one_line(text: str) -> str:
    """Collapse newlines and runs of whitespace, so prose cannot end a list item or table row."""
    return _WHITESPACE.sub(" ", text).strip()


def inline(text: str) -> str:
    """Plain text for a paragraph, list item or table cell: no markup, no line breaks."""
    flat = _INLINE.sub(r"\\\1", one_line(text)).replace("&", "&amp;")
    start = _BLOCK_START.match(flat)
    if start is None:
        return flat
    # A backslash escapes punctuation only: `1.` becomes `1\.`, `#` becomes `\#`.
    end = start.end()
    return f"{flat[:end - 1]}\\{flat[end - 1:]}"


def markup(text: str) -> str:
    """Markdown we wrote ourselves (docstrings, fixed prose): code spans stay, lines join."""
    return one_line(text).replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """A code span that survives any backticks inside it (CommonMark: a longer fence)."""
    flat = one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def cell(text: str) -> str:
    """Finish a table cell. GFM splits rows on every `|`, even inside code spans, and strips
    one backslash before each `|` first; so every `|` gets one (an escaped `\\|` stays escaped)."""
    return text.replace("|", "\\|")


def link(text: str, url: str) -> str:
    """[text](url), or [text](<url>) when the URL has characters that would end it."""
    if re.search(r"[\s<>]", url):
        raise ValueError(f"URL with spaces or angle brackets: {url!r}")
    return f"[{text}](<{url}>)" if re.search(r"[()]", url) else f"[{text}]({url})"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A GFM table; cells are already-built inline Markdown (from inline/code/link)."""
    lines = [_row(header), "| " + " | ".join("---" for _ in header) + " |"]
    lines += [_row(row) for row in rows]
    return lines


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell(c) or " " for c in cells) + " |"


def fence(body: str, language: str = "", indent: str = "") -> list[str]:
    """A fenced code block whose fence is longer than any backtick run in the body."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    lines = [f"{indent}{ticks}{language}"]
    lines += [f"{indent}{line}".rstrip() for line in body.strip("\n").splitlines()]
    lines.append(f"{indent}{ticks}")
    return lines


def heading(level: int, text: str) -> list[str]:
    return ["#" * level + " " + inline(text), ""]


def bullets(items: Iterable[str], *, numbered: bool = False, task: bool = False) -> list[str]:
    """List items from already-built inline Markdown."""
    lines = []
    for index, item in enumerate(items, start=1):
        marker = f"{index}." if numbered else "-"
        lines.append(f"{marker} {'[ ] ' if task else ''}{item}")
    return lines


def document(header: str, blocks: Iterable[Sequence[str]]) -> str:
    """The header comment, then blocks separated by one blank line, ending in one newline."""
    parts = [[comment(header)], *[list(block) for block in blocks if block]]
    text = "\n\n".join("\n".join(part).strip("\n") for part in parts)
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"
