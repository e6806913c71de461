"""Suppression comments: ``# initlint: ignore[IL101]``, ``# noqa: IL101``, ``# initlint: ignore-file``.

A finding is silenced by a comment on any line of its span, or on the line
where its layer was built or assigned.
"""

from __future__ import annotations

import re
import tokenize
from dataclasses import dataclass, field

from . import rules as catalogue
from .shared.positions import readline

_IGNORE = re.compile(r"#\s*initlint:\s*ignore(?!-)(?:\[([^\]]*)\])?", re.IGNORECASE)
_NOQA = re.compile(r"#\s*noqa(?::\s*([A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_IGNORE_FILE = re.compile(r"^#\s*initlint:\s*ignore-file\s*$", re.IGNORECASE)
ALL = "*"


@dataclass
class FileComments:
    """The suppressions one file declares."""

    whole_file: bool = False
    lines: dict[int, set[str]] = field(default_factory=dict)  # line -> codes (or ALL)

    def silences(self, code: str, line: int) -> bool:
        if self.whole_file:
            return True
        codes = self.lines.get(line)
        if not codes:
            return False
        return ALL in codes or catalogue.matches(code, codes)


def _codes(listed: str | None) -> set[str]:
    if listed is None:
        return {ALL}
    return {c.strip().upper() for c in re.split(r"[\s,]+", listed) if c.strip()}


def _mentions_suppression(text: str) -> bool:
    """Whether the text may hold a suppression comment (a substring test: faster than any regex here)."""
    lowered = text.lower()
    return "noqa" in lowered or "initlint" in lowered


def parse_comments(text: str) -> FileComments:
    """Read the suppression comments of a source (tokenize: comments only, not strings)."""
    found = FileComments()
    if not _mentions_suppression(text):
        return found  # nearly every file: no need to tokenize it
    try:
        tokens = list(tokenize.generate_tokens(readline(text)))
    except (tokenize.TokenError, SyntaxError):
        return found
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        comment, line = token.string, token.start[0]
        if _IGNORE_FILE.match(comment):
            found.whole_file = True
            continue
        for pattern in (_IGNORE, _NOQA):
            match = pattern.search(comment)
            if match:
                found.lines.setdefault(line, set()).update(_codes(match.group(1)))
    return found
