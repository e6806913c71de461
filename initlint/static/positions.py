"""Source spans of ``ast`` nodes, in the 1-based character columns ``facts.Span`` uses."""

from __future__ import annotations

import ast
import re

from ..shared.facts import Span

# The line breaks Python's tokenizer honours (str.splitlines also splits on \f, \v, \x1c...).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Positions:
    """Converts ast positions (UTF-8 byte columns) of one file to character spans."""

    def __init__(self, path: str, text: str):
        self.path = path
        self._lines = _LINE_BREAK.split(text)

    def _column(self, line: int, byte_offset: int) -> int:
        text = self._lines[line - 1] if 0 < line <= len(self._lines) else ""
        if text.isascii():
            return byte_offset + 1
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "replace")) + 1

    def span(self, node: ast.AST) -> Span:
        line = node.lineno  # type: ignore[attr-defined]
        end_line = getattr(node, "end_lineno", None) or line
        end_offset = getattr(node, "end_col_offset", None)
        end_column = self._column(end_line, end_offset) if end_offset is not None else self._column(line, 0)
        return Span(self.path, line, self._column(line, node.col_offset), end_line, end_column)  # type: ignore[attr-defined]
