"""Jupyter notebooks as Python: the code cells read as one source, positions mapped back to cells, fixed
cells written back into the document.

Everything upstream of the report (screening, both analyses, suppression
comments, fix planning) works on one *notebook source*: the code cells one
after another, each keeping its lines, with IPython syntax Python cannot
parse (``%magic``, ``!shell``, ``x = !shell``, a ``%%cell`` magic's whole
cell) turned into blank lines, so that a line of the source is a line of a
cell. Markdown and raw cells are not part of it. The report then names
places as ``(cell, line in cell)``: cells are numbered from 1 among all
the notebook's cells, markdown included, as ruff numbers them (the cell's
position in the notebook, not its execution count).

Fixes are written back by splicing the JSON text of each edited cell's
``source`` value into the document: outputs, metadata, indentation, key
order and every other byte stay as they were, which re-dumping the
document would not guarantee.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .findings import Edit, Finding
from .shared.positions import lines_with_breaks

SUFFIX = ".ipynb"


def is_notebook(path: str) -> bool:
    return path.endswith(SUFFIX)


class NotebookError(ValueError):
    """A document initlint cannot read or write as a notebook; the message says why (one line)."""


@dataclass(frozen=True)
class CodeCell:
    """A code cell, as written and as Python reads it, and where it lies in the notebook source and the document."""

    number: int  # 1-based position among all cells (markdown included), as ruff numbers them
    text: str  # the cell's source as written
    python: str  # what Python reads: magics and shell escapes blanked, line for line
    first_line: int  # the notebook source's line holding the cell's first line
    line_count: int
    value: tuple[int, int]  # (start, end) offsets of the cell's "source" JSON value in the document


@dataclass(frozen=True)
class Notebook:
    document: str  # the JSON text, as read
    cells: tuple[CodeCell, ...]  # the code cells, in order

    @property
    def source(self) -> str:
        """The notebook source: every code cell's Python, each ending with a line break."""
        return "".join(_terminated(cell.python) for cell in self.cells)

    def in_cell(self, line: int) -> tuple[CodeCell, int] | None:
        """(cell, 1-based line within it) of a line of the notebook source; None outside every cell."""
        starts = [cell.first_line for cell in self.cells]
        index = bisect.bisect_right(starts, line) - 1
        if index < 0:
            return None
        cell = self.cells[index]
        within = line - cell.first_line + 1
        return (cell, within) if within <= cell.line_count else None

    def place(self, line: int) -> str:
        """A line of the notebook source as the report names it: ``cell 4:1`` (the line itself outside every cell)."""
        located = self.in_cell(line)
        return f"cell {located[0].number}:{located[1]}" if located is not None else str(line)

    def syntax_error(self) -> tuple[CodeCell, SyntaxError] | None:
        """The first code cell Python cannot parse on its own (Jupyter runs each alone), and why."""
        for cell in self.cells:
            try:
                ast.parse(cell.python)
            except SyntaxError as error:
                return cell, error
            except (ValueError, RecursionError, MemoryError) as error:  # null bytes, absurd nesting
                return cell, SyntaxError(str(error) or type(error).__name__)
        return None

    def with_cells(self, edited: Mapping[int, str]) -> str:
        """The document with the source of each cell numbered in ``edited`` replaced by its ``editable``
        text as edited, nothing else changed.

        Raises NotebookError when a cell would not parse or the result would not be the same notebook
        with those sources.
        """
        sources = {}
        for number, text in edited.items():
            cell = self._cell(number)
            if not cell.text.endswith(("\n", "\r")) and text.endswith("\n"):
                text = text[:-1]  # the line break ``editable`` added
            try:
                ast.parse(_python(text))
            except (SyntaxError, ValueError) as error:
                raise NotebookError(f"cell {number} would not parse once fixed ({error})") from None
            sources[cell] = text
        document = self.document
        for cell in sorted(sources, key=lambda c: -c.value[0]):  # back to front: offsets stay valid
            start, end = cell.value
            document = document[:start] + _source_value(self.document, cell, sources[cell]) + document[end:]
        _check_written(self.document, document, {cell.number - 1: text for cell, text in sources.items()})
        return document

    def _cell(self, number: int) -> CodeCell:
        found = next((cell for cell in self.cells if cell.number == number), None)
        if found is None:
            raise NotebookError(f"cell {number} is not a code cell")
        return found


def editable(cell: CodeCell) -> str:
    """A cell's text as fixes edit it: ending with a line break, so that an insertion after its last line
    lands inside it (``Notebook.with_cells`` takes the break off again)."""
    return _terminated(cell.text)


def parse_notebook(document: str) -> Notebook:
    """Read a notebook's JSON text (nbformat 4). Raises NotebookError when it is not one.

    A notebook whose kernel is not Python has no code cells to check.
    """
    try:
        content = json.loads(document)
    except ValueError as error:
        raise NotebookError(f"not valid JSON ({error})") from None
    if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
        version = content.get("nbformat") if isinstance(content, dict) else None
        if isinstance(version, int) and version < 4:
            raise NotebookError(
                f"nbformat {version} is not supported: convert it with `jupyter nbconvert --to notebook`"
            )
        raise NotebookError('not a notebook: no "cells" list')
    if not _python_kernel(content.get("metadata")):
        return Notebook(document, ())
    values = _source_values(document)
    cells = []
    line = 1
    for index, raw in enumerate(content["cells"]):
        if not isinstance(raw, dict):
            raise NotebookError(f"cell {index + 1} is not a JSON object")
        if raw.get("cell_type") != "code":
            continue
        text = _joined(raw.get("source", ""), index)
        value = values.get(index)
        if value is None:
            raise NotebookError(f'cell {index + 1} has no "source"')
        python = _python(text)
        count = len(lines_with_breaks(_terminated(python)))
        cells.append(CodeCell(index + 1, text, python, line, count, value))
        line += count
    return Notebook(document, tuple(cells))


def _python_kernel(metadata: Any) -> bool:
    if not isinstance(metadata, dict):
        return True
    for key in ("language_info", "kernelspec"):
        entry = metadata.get(key)
        language = entry.get("name" if key == "language_info" else "language") if isinstance(entry, dict) else None
        if isinstance(language, str) and language.lower() != "python":
            return False
    return True


def _joined(source: Any, index: int) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    raise NotebookError(f'cell {index + 1}: "source" is neither a string nor a list of strings')


def _terminated(text: str) -> str:
    return text if not text or text.endswith(("\n", "\r")) else text + "\n"


# -- IPython syntax, blanked -----------------------------------------------------------------------

# `files = !ls`, `out = %sx ls`, `a, b = !cmd`: an assignment whose value is a shell escape or a magic.
_MAGIC_ASSIGNMENT = re.compile(r"[\w.\[\]\s,()*]+=\s*[!%]")
_IPYTHON = ("%", "!", "?")


def _python(text: str) -> str:
    """The cell as Python reads it: a ``%%`` cell magic blanks the whole cell (its body is not Python),
    a line magic or shell escape its line; an indented one becomes ``pass`` so its block stays one.

    A cell Python parses as it is keeps every line: a line starting with ``%`` there continues an
    expression (``("%d"\n % n)``), it is no magic.
    """
    lines = lines_with_breaks(text)
    code = [line for line in lines if line.strip()]
    if code and code[0].lstrip().startswith("%%"):
        return "".join(_break_of(line) for line in lines)
    try:
        ast.parse(text)
        return text
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "".join(_python_line(line) for line in lines)


def _python_line(line: str) -> str:
    body = line.rstrip("\r\n")
    stripped = body.lstrip(" \t")
    if not stripped.startswith(_IPYTHON) and not _MAGIC_ASSIGNMENT.match(stripped):
        return line
    indent = body[: len(body) - len(stripped)]
    return (f"{indent}pass" if indent else "") + _break_of(line)


def _break_of(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


# -- positions in the report -----------------------------------------------------------------------


def finding_in_cells(finding: Finding, notebooks: Mapping[str, Notebook]) -> Finding:
    """The finding (and its fix's edits) placed in cells, for those in the notebooks given (by shown path)."""
    fix = finding.fix
    if fix is not None and any(edit.path in notebooks for edit in fix.edits):
        edits = tuple(_edit_in_cell(e, notebooks[e.path]) if e.path in notebooks else e for e in fix.edits)
        finding = replace(finding, fix=replace(fix, edits=edits))
    notebook = notebooks.get(finding.path)
    located = notebook.in_cell(finding.line) if notebook is not None else None
    if located is None:
        return finding
    cell, line = located
    offset = cell.first_line - 1
    return replace(finding, cell=cell.number, line=line, end_line=max(finding.end_line - offset, line))


def _edit_in_cell(edit: Edit, notebook: Notebook) -> Edit:
    """An edit in cell coordinates. An insertion at the start of a line belongs to the cell of the line
    before: it goes after a statement (a cell's last one too), never at the top of the next cell."""
    inserting = (edit.line, edit.column) == (edit.end_line, edit.end_column) and edit.column == 1
    anchor = edit.line - 1 if inserting and edit.line > 1 else edit.line
    located = notebook.in_cell(anchor)
    if located is None:
        return edit
    cell, _ = located
    offset = cell.first_line - 1
    return replace(edit, cell=cell.number, line=edit.line - offset, end_line=edit.end_line - offset)


def read_notebooks(paths: Iterable[str]) -> dict[str, Notebook]:
    """The notebooks among ``paths`` (as the report shows them), read again to place findings in cells;
    one that cannot be read is left out (its findings keep their lines: the file was reported as such)."""
    found = {}
    for path in dict.fromkeys(paths):
        if not is_notebook(path):
            continue
        try:
            with open(path, "rb") as handle:
                found[path] = parse_notebook(handle.read().decode("utf-8-sig"))  # nbformat: always UTF-8
        except (OSError, ValueError):  # NotebookError and UnicodeDecodeError are ValueErrors
            continue
    return found


# -- writing a cell's source back ------------------------------------------------------------------


def _source_value(document: str, cell: CodeCell, text: str) -> str:
    """The JSON text of a cell's new ``source``, in the style of the old one: a string stays a string; a
    list keeps its layout and, for each line that did not change, its element's text byte for byte."""
    start, end = cell.value
    ascii_only = document.isascii()  # nbformat writes UTF-8 as is; a document that escapes it stays ASCII
    if document[start] == '"':
        return json.dumps(text, ensure_ascii=ascii_only)
    spans = list(_elements(document, start))
    old = [json.loads(document[s:e]) for s, e in spans]
    new = _nbformat_lines(text)
    pieces = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces += [document[s:e] for s, e in spans[i1:i2]]
        else:
            pieces += [json.dumps(line, ensure_ascii=ascii_only) for line in new[j1:j2]]
    if not spans:
        return json.dumps(new, ensure_ascii=ascii_only)
    opening = document[start + 1 : spans[0][0]]
    closing = document[spans[-1][1] : end - 1]
    between = document[spans[0][1] : spans[1][0]] if len(spans) > 1 else ("," + opening if opening else ", ")
    return "[" + opening + between.join(pieces) + closing + "]"


def _nbformat_lines(text: str) -> list[str]:
    """A source as nbformat stores it: one string per line, each but the last ending with its ``\\n``."""
    return [line for line in re.split(r"(?<=\n)", text) if line]


def _check_written(before: str, after: str, sources: Mapping[int, str]) -> None:
    """Raise NotebookError unless ``after`` parses and differs from ``before`` only in those cells' sources."""
    try:
        old, new = json.loads(before), json.loads(after)
    except ValueError as error:
        raise NotebookError(f"the fixed notebook would not be valid JSON ({error})") from None
    for index, text in sources.items():
        if _joined(new["cells"][index].get("source"), index) != text:
            raise NotebookError(f"cell {index + 1}'s source would not read back as fixed")
        new["cells"][index]["source"] = old["cells"][index]["source"]
    if new != old:
        raise NotebookError("writing the fixed cells would change the notebook elsewhere")


# -- where each cell's "source" value lies in the JSON text ----------------------------------------

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _source_values(document: str) -> dict[int, tuple[int, int]]:
    """(start, end) offsets of each cell's "source" value, by cell index, in a valid JSON document."""
    found: dict[int, tuple[int, int]] = {}
    for key, start, _ in _members(document, _skip(document, 0)):
        if key == "cells" and document[start] == "[":
            found.clear()  # a repeated key: the last wins, as in json.loads
            for index, (cell, _) in enumerate(_elements(document, start)):
                if document[cell] == "{":
                    for name, value, value_end in _members(document, cell):
                        if name == "source":
                            found[index] = (value, value_end)
    return found


def _skip(text: str, at: int) -> int:
    match = _WHITESPACE.match(text, at)
    assert match is not None  # matches the empty string
    return match.end()


def _members(text: str, at: int) -> Iterator[tuple[str, int, int]]:
    """(key, value start, value end) of the JSON object starting at ``at``."""
    at = _skip(text, at + 1)
    while text[at] != "}":
        key, at = _DECODER.raw_decode(text, at)
        at = _skip(text, _skip(text, at) + 1)  # past the colon
        _, end = _DECODER.raw_decode(text, at)
        yield key, at, end
        at = _skip(text, end)
        if text[at] == ",":
            at = _skip(text, at + 1)


def _elements(text: str, at: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each element of the JSON array starting at ``at``."""
    at = _skip(text, at + 1)
    while text[at] != "]":
        _, end = _DECODER.raw_decode(text, at)
        yield at, end
        at = _skip(text, end)
        if text[at] == ",":
            at = _skip(text, at + 1)
