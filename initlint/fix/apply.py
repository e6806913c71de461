"""Write fixes to disk without ever losing work.

A file is rewritten only if its bytes are exactly those that were analysed,
only if the result still parses, atomically (a temporary file in the same
directory, then a rename), keeping its permissions, encoding, byte-order mark
and line endings. Edits of one file are applied in one pass; an edit that
overlaps one already taken is skipped (its fix waits for the next run).
"""

from __future__ import annotations

import ast
import codecs
import difflib
import hashlib
import io
import os
import tempfile
import tokenize
from dataclasses import dataclass, field
from typing import Iterable

from ..findings import Finding


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileChange:
    """What fixing one file means: its text before and after, and which findings it fixes."""

    path: str  # absolute
    shown: str  # as the user named it
    before: str
    after: str
    fixed: list[Finding] = field(default_factory=list)
    skipped: list[tuple[Finding, str]] = field(default_factory=list)

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True), self.after.splitlines(keepends=True),
            fromfile=f"a/{self.shown}", tofile=f"b/{self.shown}",
        )  # fmt: skip
        return "".join(line if line.endswith(("\n", "\r")) else line + "\n" for line in lines)


class Unfixable(Exception):
    """The whole file cannot be fixed; the message says why (one line)."""


@dataclass(frozen=True)
class _Source:
    text: str
    encoding: str
    bom: bool


def decode(data: bytes) -> _Source:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8):] if bom else data
    return _Source(body.decode("utf-8" if encoding == "utf-8-sig" else encoding), encoding, bom)


def _encode(source: _Source, text: str) -> bytes:
    encoding = "utf-8" if source.encoding == "utf-8-sig" else source.encoding
    return (codecs.BOM_UTF8 if source.bom else b"") + text.encode(encoding)


def _offsets(text: str) -> list[int]:
    """Offset of the start of each line (1-based lines -> index line-1)."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _newline(text: str) -> str:
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def change_for(path: str, shown: str, analysed_digest: str | None, findings: Iterable[Finding]) -> FileChange:
    """The fixed text of a file. Raises Unfixable when the file must not be touched."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise Unfixable(f"cannot read: {error.strerror}") from error
    if analysed_digest is None or digest(data) != analysed_digest:
        raise Unfixable("the file changed since it was analysed: run initlint again")
    source = decode(data)
    text = source.text
    starts = _offsets(text)
    newline = _newline(text)
    change = FileChange(path, shown, text, text)
    taken: list[tuple[int, int]] = []
    planned: list[tuple[int, int, str]] = []
    for finding in findings:
        spans = []
        for edit in finding.fix.edits:
            start = starts[edit.line - 1] + edit.column - 1 if edit.line - 1 < len(starts) else len(text)
            end = starts[edit.end_line - 1] + edit.end_column - 1 if edit.end_line - 1 < len(starts) else len(text)
            spans.append((start, end, edit.content.replace("\r\n", "\n").replace("\n", newline)))
        new = [s for s in spans if (s[0], s[1], s[2]) not in planned]
        if any(_overlaps(s, taken) for s in new):
            change.skipped.append((finding, "overlaps another fix in this file: run --fix again"))
            continue
        planned.extend(new)
        taken.extend((s[0], s[1]) for s in new)
        change.fixed.append(finding)
    after = text
    # Back to front, so offsets stay valid; insertions at one point keep their planned order.
    for _, (start, end, content) in sorted(enumerate(planned), key=lambda p: (p[1][0], p[1][1], p[0]), reverse=True):
        after = after[:start] + content + after[end:]
    try:
        ast.parse(after)
    except (SyntaxError, ValueError) as error:
        raise Unfixable(f"the fixed file would not parse ({error}); nothing was written") from error
    change.after = after
    return change


def _overlaps(span: tuple[int, int, str], taken: list[tuple[int, int]]) -> bool:
    start, end, _ = span
    for other_start, other_end in taken:
        if start == end == other_start == other_end:
            continue  # two insertions at one point: both apply, in order
        if start < other_end and other_start < end or start == end and other_start < start < other_end:
            return True
    return False


def write(change: FileChange) -> None:
    """Replace the file atomically with the fixed text. Raises Unfixable, writing nothing."""
    path = change.path
    if not os.stat(path).st_mode & 0o222 or not os.access(path, os.W_OK):
        raise Unfixable("the file is read-only; nothing was written")  # by its mode bits, even for root
    with open(path, "rb") as handle:
        data = handle.read()
    source = decode(data)
    if source.text != change.before:
        raise Unfixable("the file changed while fixing; nothing was written")
    directory = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode
    fd, temporary = tempfile.mkstemp(prefix=".initlint-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_encode(source, change.after))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode & 0o7777)
        os.replace(temporary, path)
    except OSError as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise Unfixable(f"cannot write: {error.strerror}; nothing was written") from error


def prepare(findings: Iterable[Finding], digests: dict[str, str]) -> tuple[list[FileChange], list[tuple[str, str]]]:
    """The changes fixing these findings, file by file, and (file, reason) for files that must not be touched."""
    by_file: dict[str, list[Finding]] = {}
    shown: dict[str, str] = {}
    for finding in findings:
        if finding.fix is None or not finding.fix.edits:
            continue
        path = os.path.normcase(os.path.abspath(finding.fix.edits[0].path))
        by_file.setdefault(path, []).append(finding)
        shown[path] = finding.fix.edits[0].path
    changes, problems = [], []
    for path, items in by_file.items():
        try:
            change = change_for(path, shown[path], digests.get(path), items)
        except Unfixable as error:
            problems.append((shown[path], str(error)))
            continue
        if change.after != change.before:
            changes.append(change)
    return changes, problems
