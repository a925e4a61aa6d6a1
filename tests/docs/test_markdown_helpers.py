"""The Markdown escaping helpers, one place each spec string can land."""

from __future__ import annotations

import pytest

from ryotgen.render import markdown as md


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("plain words", "plain words", id="plain text is unchanged"),
    pytest.param("a\nb\n\n  c", "a b c", id="newlines cannot end a list item or row"),
    pytest.param("0.1% of requests", "0\\.1% of requests", id="a leading number is not a list marker"),
    pytest.param("# not a heading", "\\# not a heading", id="a leading hash is not a heading"),
    pytest.param("<b>x</b> & y", "\\<b\\>x\\</b\\> &amp; y", id="no raw HTML or entities"),
    pytest.param("[x](javascript:1)", "\\[x\\](javascript:1)", id="no links"),
    pytest.param("a | b `c`", "a \\| b \\`c\\`", id="pipes and backticks are literal"),
    pytest.param("snake_case_name", "snake_case_name", id="intraword underscores stay readable"),
])
def test_inline(text: str, expected: str) -> None:
    assert md.inline(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("up", "`up`", id="plain code"),
    pytest.param("a`b", "``a`b``", id="a backtick inside needs a longer fence"),
    pytest.param("`x`", "`` `x` ``", id="backticks at the ends are padded"),
])
def test_code(text: str, expected: str) -> None:
    assert md.code(text) == expected


def test_cells_escape_every_pipe_even_in_code() -> None:
    assert md.table(["h"], [[md.code('a{b=~"x|y"}')]])[-1] == '| `a{b=~"x\\|y"}` |'


def test_fence_outgrows_backtick_runs_in_the_body() -> None:
    assert md.fence("a ``` b", "promql") == ["````promql", "a ``` b", "````"]
