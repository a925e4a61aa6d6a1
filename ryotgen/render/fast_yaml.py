"""PyYAML's emitter with its per-character Python loops done by regular expressions.

A build emits hundreds of kilobytes of YAML (rules, rule tests, Kubernetes resources), and
PyYAML spends most of that time looking at one character at a time in `analyze_scalar`,
`write_plain` and `write_literal`. These overrides compute the same thing, so the output is
byte-identical to PyYAML's (tests/unit/test_fast_yaml.py compares them). libyaml's emitter is
not an option: it quotes, folds and escapes differently, so output would depend on how PyYAML
was installed.
"""

from __future__ import annotations

import re

from yaml.emitter import Emitter, ScalarAnalysis

_WHITESPACE = "\0 \t\r\n\x85\u2028\u2029"
_BREAKS = "\n\x85\u2028\u2029"
_INTERIOR_FLOW = re.compile(r"[,?\[\]{}:]")
_INTERIOR_BLOCK = re.compile(r":(?:[\0 \t\r\n\x85\u2028\u2029]|\Z)")
_COMMENT = re.compile(r"[\0 \t\r\n\x85\u2028\u2029]#")
_BREAK = re.compile(r"[\n\x85\u2028\u2029]")
# What PyYAML cannot print even with allow_unicode, as one character class.
_SPECIAL = re.compile("[^\n\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010fffe]")
_BREAK_SPACE = re.compile(r"[\n\x85\u2028\u2029] ")
_SPACE_BREAK = re.compile(r" [\n\x85\u2028\u2029]")
_LINES = re.compile(r"\n+|[^\n]+")
_WORDS = re.compile(r" +|[^ ]+")


class FastEmitter(Emitter):
    """Mix in before `yaml.SafeDumper`; needs allow_unicode=True for the fast path."""

    def analyze_scalar(self, scalar: str) -> ScalarAnalysis:
        if not scalar or not self.allow_unicode:
            return super().analyze_scalar(scalar)
        first, last = scalar[0], scalar[-1]
        followed = len(scalar) == 1 or scalar[1] in _WHITESPACE
        block = flow = scalar.startswith(("---", "..."))
        if first in "#,[]{}&*!|>'\"%@`" or (first == "-" and followed):
            block = flow = True
        elif first in "?:":
            flow = True
            block = block or followed
        rest = scalar[1:]
        flow = flow or bool(_INTERIOR_FLOW.search(rest))
        block = block or bool(_INTERIOR_BLOCK.search(rest))
        if _COMMENT.search(scalar):
            block = flow = True
        line_breaks = bool(_BREAK.search(scalar))
        flow_plain = block_plain = single = block_style = True
        if first == " " or last == " " or first in _BREAKS or last in _BREAKS:
            flow_plain = block_plain = False
        if last == " ":
            block_style = False
        if _BREAK_SPACE.search(scalar):
            flow_plain = block_plain = single = False
        if _SPACE_BREAK.search(scalar) or _SPECIAL.search(scalar):
            flow_plain = block_plain = single = block_style = False
        if line_breaks:
            flow_plain = block_plain = False
        if flow:
            flow_plain = False
        if block:
            block_plain = False
        return ScalarAnalysis(scalar=scalar, empty=False, multiline=line_breaks,
                              allow_flow_plain=flow_plain, allow_block_plain=block_plain,
                              allow_single_quoted=single, allow_double_quoted=True,
                              allow_block=block_style)

    def write_plain(self, text: str, split: bool = True) -> None:
        if self.encoding or _BREAK.search(text):
            super().write_plain(text, split)
            return
        if self.root_context:
            self.open_ended = True
        if not text:
            return
        if not self.whitespace:
            self.column += 1
            self.stream.write(" ")
        self.whitespace = self.indention = False
        # Words and runs of spaces; a single space past the width becomes a line break.
        for match in _WORDS.finditer(text):
            run = match.group()
            if run == " " and split and self.column > self.best_width:
                self.write_indent()
                self.whitespace = self.indention = False
            else:
                self.column += len(run)
                self.stream.write(run)

    def write_literal(self, text: str) -> None:
        if self.encoding or any(br in text for br in "\x85\u2028\u2029"):
            super().write_literal(text)
            return
        hints = self.determine_block_hints(text)
        self.write_indicator("|" + hints, True)
        if hints[-1:] == "+":
            self.open_ended = True
        self.write_line_break()
        # Runs of line breaks and lines of text, written as PyYAML's loop writes them.
        for match in _LINES.finditer(text):
            run = match.group()
            if run[0] == "\n":
                for _ in run:
                    self.write_line_break()
            else:
                self.write_indent()
                self.stream.write(run)
        if text and text[-1] != "\n":
            self.write_line_break()
