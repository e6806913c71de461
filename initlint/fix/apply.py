"""Write fixes to disk without ever losing work.

A file is rewritten only if its bytes are exactly those that were analysed,
only if the result still parses, atomically (a temporary file in the same
directory, then a rename), keeping its permissions, encoding, byte-order mark
and line endings. A symbolic link is written through (the real file changes,
the link stays) and a file with several hard links keeps them. Only files
inside the paths the user named are written. Edits of one file are applied in
one pass; an edit that overlaps one already taken is skipped (its fix waits
for the next run).
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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..findings import Finding
from ..notebook import NotebookError, editable, is_notebook, parse_notebook
from ..shared.positions import SourceText, first_line_break, lines_with_breaks


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileChange:
    """What fixing one file means: its text before and after, and which findings it fixes."""

    path: str  # absolute
    shown: str  # as the user named it
    target: str  # the file written: ``path`` with symbolic links resolved
    before: str
    after: str
    fixed: list[Finding] = field(default_factory=list)
    skipped: list[tuple[Finding, str]] = field(default_factory=list)

    def diff(self) -> str:
        name = self.shown if self.target == os.path.abspath(self.path) else _relative(self.target)
        lines = difflib.unified_diff(
            lines_with_breaks(self.before),
            lines_with_breaks(self.after),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
        return "".join(line if line.endswith(("\n", "\r")) else line + "\n" for line in lines)


def _relative(path: str) -> str:
    """A symbolic link's real file, as a diff names it: the file the patch must change."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


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
    body = data[len(codecs.BOM_UTF8) :] if bom else data
    return _Source(body.decode("utf-8" if encoding == "utf-8-sig" else encoding), encoding, bom)


def _encode(source: _Source, text: str) -> bytes:
    encoding = "utf-8" if source.encoding == "utf-8-sig" else source.encoding
    return (codecs.BOM_UTF8 if source.bom else b"") + text.encode(encoding)


def change_for(path: str, shown: str, analysed_digest: str | None, findings: Iterable[Finding]) -> FileChange:
    """The fixed text of a file. Raises Unfixable when the file must not be touched."""
    target = os.path.realpath(path)
    try:
        with open(target, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise Unfixable(f"cannot read: {error.strerror}") from error
    if analysed_digest is None or digest(data) != analysed_digest:
        raise Unfixable("the file changed since it was analysed: run initlint again")
    return fixed_text(path, shown, target, decode(data).text, findings)


def fixed_text(path: str, shown: str, target: str, text: str, findings: Iterable[Finding]) -> FileChange:
    """``text`` (the file at ``path``, or an editor's buffer for it) with the findings' fixes applied.
    Raises Unfixable when the result would not parse."""
    change = FileChange(path, shown, target, text, text)
    if is_notebook(path):
        change.after = _fixed_notebook(change, findings)
        return change
    after = _edited(text, _planned(change, findings, {None: text}).get(None, []))
    try:
        ast.parse(after)
    except (SyntaxError, ValueError) as error:
        raise Unfixable(f"the fixed file would not parse ({error}); nothing was written") from error
    change.after = after
    return change


_Span = tuple[int, int, str]  # (start, end, content): replace text[start:end] with content


def _planned(
    change: FileChange, findings: Iterable[Finding], texts: Mapping[int | None, str]
) -> dict[int | None, list[_Span]]:
    """The edits to make, by the text they apply to (a notebook's cell, else the file's text: None),
    as offsets into it. A finding whose edits overlap one already taken waits for the next run."""
    positions = {part: SourceText(text) for part, text in texts.items()}
    taken: dict[int | None, list[tuple[int, int]]] = {}
    planned: dict[int | None, list[_Span]] = {}
    for finding in findings:
        if finding.fix is None:  # nothing to apply (``prepare`` passes only findings with a fix)
            continue
        if any(edit.cell not in positions for edit in finding.fix.edits):
            change.skipped.append((finding, "its edits are outside the notebook's code cells"))
            continue
        spans = []
        for edit in finding.fix.edits:
            where = positions[edit.cell]
            start = where.offset(edit.line, edit.column)
            end = where.offset(edit.end_line, edit.end_column)
            newline = first_line_break(where.text)
            spans.append((edit.cell, (start, end, edit.content.replace("\r\n", "\n").replace("\n", newline))))
        new = [(part, span) for part, span in spans if span not in planned.get(part, [])]
        if any(_overlaps(span, taken.get(part, [])) for part, span in new):
            change.skipped.append((finding, "overlaps another fix in this file: run --fix again"))
            continue
        for part, span in new:
            planned.setdefault(part, []).append(span)
            taken.setdefault(part, []).append((span[0], span[1]))
        change.fixed.append(finding)
    return planned


def _edited(text: str, spans: list[_Span]) -> str:
    """Back to front, so offsets stay valid; insertions at one point keep their planned order."""
    for _, (start, end, content) in sorted(enumerate(spans), key=lambda p: (p[1][0], p[1][1], p[0]), reverse=True):
        text = text[:start] + content + text[end:]
    return text


def _fixed_notebook(change: FileChange, findings: Iterable[Finding]) -> str:
    """The notebook's JSON text with its fixed cells spliced in, every other byte as it was. Its fixes'
    edits are in cell lines: each applies to its cell's source."""
    try:
        notebook = parse_notebook(change.before)
    except NotebookError as error:
        raise Unfixable(f"cannot read the notebook: {error}") from error
    cells: dict[int | None, str] = {cell.number: editable(cell) for cell in notebook.cells}
    planned = _planned(change, findings, cells)
    fixed = {number: _edited(cells[number], spans) for number, spans in planned.items() if number is not None}
    try:
        return notebook.with_cells(fixed)
    except NotebookError as error:
        raise Unfixable(f"{error}; nothing was written") from error


def _overlaps(span: tuple[int, int, str], taken: list[tuple[int, int]]) -> bool:
    start, end, _ = span
    for other_start, other_end in taken:
        if start == end == other_start == other_end:
            continue  # two insertions at one point: both apply, in order
        if start < other_end and other_start < end or start == end and other_start < start < other_end:
            return True
    return False


def write(change: FileChange) -> None:
    """Put the fixed text in the real file, keeping its hard links. Raises Unfixable, writing nothing."""
    path = change.target
    try:
        status = os.stat(path)
        with open(path, "rb") as handle:
            old = handle.read()
    except OSError as error:
        raise Unfixable(f"cannot read: {error.strerror}; nothing was written") from error
    if not status.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise Unfixable("the file is read-only; nothing was written")  # by its mode bits, even for root
    source = decode(old)
    if source.text != change.before:
        raise Unfixable("the file changed while fixing; nothing was written")
    new = _encode(source, change.after)
    if status.st_nlink > 1:
        _overwrite(path, old, new)
    else:
        _replace(path, new, status.st_mode)


def _replace(path: str, data: bytes, mode: int) -> None:
    """Atomic: a reader sees the old file or the new one, never a mix."""
    temporary = _synced_copy(path, data)
    try:
        os.chmod(temporary, mode & 0o7777)
        os.replace(temporary, path)
    except BaseException as error:  # an interrupt too: no temporary file is left behind
        os.unlink(temporary)
        if isinstance(error, OSError):
            raise Unfixable(f"cannot write: {error.strerror}; nothing was written") from error
        raise


def _overwrite(path: str, old: bytes, new: bytes) -> None:
    """Write into the file's own inode, for a file with several hard links.

    A rename would give this name a new inode and split it from its other
    links, so the bytes go into the existing one (which also keeps its owner,
    mode, ACLs and extended attributes). That write is not atomic, so the
    complete new text is first saved and synced beside the file: if the
    overwrite fails, the old bytes are put back (they fit: the file had them);
    if even that fails, the saved copy is kept and named in the error.
    """
    saved = _synced_copy(path, new)
    try:
        _write_in_place(path, new)
    except OSError as error:
        try:
            _write_in_place(path, old)
        except OSError:
            raise Unfixable(f"cannot write: {error.strerror}; the fixed text is in {saved}") from error
        os.unlink(saved)
        raise Unfixable(f"cannot write: {error.strerror}; nothing was written") from error
    os.unlink(saved)


def _synced_copy(path: str, data: bytes) -> str:
    """A new temporary file beside ``path`` holding ``data``, flushed to disk."""
    try:
        fd, temporary = tempfile.mkstemp(prefix=".initlint-", suffix=".tmp", dir=os.path.dirname(path))
    except OSError as error:
        raise Unfixable(f"cannot write: {error.strerror}; nothing was written") from error
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as error:  # an interrupt too: no temporary file is left behind
        os.unlink(temporary)
        if isinstance(error, OSError):
            raise Unfixable(f"cannot write: {error.strerror}; nothing was written") from error
        raise
    return temporary


def _write_in_place(path: str, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.write(data)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())


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
    return _once_per_file(changes), problems


def _once_per_file(changes: list[FileChange]) -> list[FileChange]:
    """One change per file on disk. Two names of one file (links) were analysed alike and get
    the same edits; writing the second would find the file changed by the first and refuse."""
    kept, seen = [], set()
    for change in changes:
        try:
            status = os.stat(change.target)
        except OSError:
            kept.append(change)  # writing it will say what is wrong
            continue
        if (status.st_dev, status.st_ino) not in seen:
            seen.add((status.st_dev, status.st_ino))
            kept.append(change)
    return kept


def confine(changes: list[FileChange], roots: Iterable[str]) -> tuple[list[FileChange], list[tuple[str, str]]]:
    """The changes whose real file lies inside ``roots`` (the paths named on the command line:
    a file itself, or anything under a directory, links resolved), and (file, reason) for the others."""
    real_roots = [os.path.normcase(os.path.realpath(root)) for root in roots]
    inside, outside = [], []
    for change in changes:
        target = os.path.normcase(change.target)
        if any(target == root or target.startswith(os.path.join(root, "")) for root in real_roots):
            inside.append(change)
        else:
            where = "it is" if change.target == os.path.abspath(change.path) else f"it links to {change.target},"
            outside.append((change.shown, f"{where} outside the paths given on the command line"))
    return inside, outside
