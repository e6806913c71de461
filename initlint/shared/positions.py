"""Source positions: lines split where Python's compiler splits them, columns in code points or UTF-8 bytes.

Every position initlint reports or edits is a 1-based line, as ``ast`` and
tracebacks count them, and a 1-based column in code points (SARIF's
``unicodeCodePoints``). The compiler ends a line only at ``\\r\\n``, ``\\r``
or ``\\n``; ``str.splitlines`` also splits at form feeds, vertical tabs,
``\\x1c``-``\\x1e``, ``\\x85``, U+2028 and U+2029, which are legal in
comments and strings, so it must never number a source's lines. ``ast`` and
``co_positions`` count columns as 0-based UTF-8 byte offsets into the line;
``char_column`` turns them into ours.
"""

from __future__ import annotations

import ast
import bisect
import functools
import io
import re
from collections.abc import Callable
from itertools import accumulate

from .facts import Span

LINE_BREAK = re.compile(r"\r\n|\r|\n")


_BYTE_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def line_at_byte(data: bytes, offset: int) -> int:
    """The 1-based line holding byte ``offset`` of undecoded source (a decode error's position)."""
    return len(_BYTE_LINE_BREAK.findall(data, 0, offset)) + 1


def lines_with_breaks(text: str) -> list[str]:
    """The lines of ``text``, each with its line break (the last may have none); joined, they are ``text``."""
    return io.StringIO(text, newline="").readlines()


def first_line_break(text: str) -> str:
    """The line break ``text`` uses (its first), or ``\\n`` when it has none: what lines added to it end with."""
    found = LINE_BREAK.search(text)
    return found.group() if found else "\n"


def readline(text: str) -> Callable[[], str]:
    """A ``readline`` for ``tokenize`` that numbers lines as the compiler does (``io.StringIO(text)`` splits
    only at ``\\n``, so a file with ``\\r`` line breaks would be one long line)."""
    return io.StringIO(text, newline="").readline


def char_column(line: str, utf8_offset: int) -> int:
    """1-based code-point column of a 0-based UTF-8 byte offset into ``line``; bytes past its end count one each."""
    if line.isascii():
        return utf8_offset + 1
    encoded = line.encode("utf-8")
    within = encoded[:utf8_offset]
    return len(within.decode("utf-8", "replace")) + max(utf8_offset - len(encoded), 0) + 1


class SourceText:
    """A source text, indexed by line as the compiler numbers them."""

    def __init__(self, text: str):
        self.text = text
        self._ascii = text.isascii()  # a column is then the byte offset: no line need be looked up

    @functools.cached_property
    def _starts(self) -> list[int]:  # indexed when first needed: spans of an ASCII file never need it
        if "\r" not in self.text:  # every break is one \n: each line starts one past the previous one's end
            starts = list(accumulate(map((1).__add__, map(len, self.text.split("\n"))), initial=0))
            starts.pop()
            return starts
        return [0, *(found.end() for found in LINE_BREAK.finditer(self.text))]

    @functools.cached_property
    def _ends(self) -> list[int]:
        if "\r" not in self.text:  # each line ends one before the next starts
            return [start - 1 for start in self._starts[1:]] + [len(self.text)]
        return [*(found.start() for found in LINE_BREAK.finditer(self.text)), len(self.text)]

    @property
    def line_count(self) -> int:
        """How many lines ``ast`` can name: one more than there are line breaks."""
        return len(self._starts)

    def line(self, number: int) -> str:
        """The text of 1-based line ``number`` without its line break; empty outside the text."""
        if not 0 < number <= len(self._starts):
            return ""
        return self.text[self._starts[number - 1] : self._ends[number - 1]]

    def offset(self, line: int, column: int) -> int:
        """Index into the text of a 1-based (line, code-point column); a line past the last is the text's end.

        A column past the line's end runs into its line break, as ``position`` gives it back."""
        if line > len(self._starts):
            return len(self.text)
        return min(max(self._starts[max(line, 1) - 1] + column - 1, 0), len(self.text))

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based (line, code-point column) of an index into the text (inverse of ``offset``)."""
        offset = min(max(offset, 0), len(self.text))
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

    def column(self, line: int, utf8_offset: int) -> int:
        """1-based code-point column of an ``ast`` position: a UTF-8 byte offset into 1-based ``line``."""
        if self._ascii:
            return utf8_offset + 1
        return char_column(self.line(line), utf8_offset)


class Positions(SourceText):
    """A file's text, and the spans of its ``ast`` nodes."""

    def __init__(self, path: str, text: str):
        super().__init__(text)
        self.path = path

    def span(self, node: ast.AST) -> Span:
        """Where ``node`` is, in code-point columns; a node without an end position ends where it starts."""
        # typeshed puts positions on each located node class (expr, stmt, arg...), not on ast.AST, which the
        # interpreters pass around: a node without them is a caller's bug, raising AttributeError as it should.
        line: int = node.lineno  # type: ignore[attr-defined]
        start = self.column(line, node.col_offset)  # type: ignore[attr-defined]
        end_line = getattr(node, "end_lineno", None)
        end_offset = getattr(node, "end_col_offset", None)
        if end_line is None or end_offset is None:
            return Span(self.path, line, start, line, start)
        return Span(self.path, line, start, end_line, self.column(end_line, end_offset))
