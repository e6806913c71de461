"""Findings in LSP's terms: positions, diagnostics, and the quick fixes their data carries.

initlint counts 1-based lines and code-point columns (``shared.positions``);
LSP counts 0-based lines and columns in the encoding the client and server
agreed on (UTF-16 unless negotiated otherwise). Both end lines at ``\\r\\n``,
``\\r`` and ``\\n`` only, so lines are numbered by ``SourceText`` on the text
that was analysed.
"""

from __future__ import annotations

import os
from typing import Any

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from .. import rules as catalogue
from ..findings import ERROR, INFO, WARNING, Edit, Finding
from ..shared.positions import SourceText

SOURCE = "initlint"

_SEVERITIES = {
    ERROR: types.DiagnosticSeverity.Error,
    WARNING: types.DiagnosticSeverity.Warning,
    INFO: types.DiagnosticSeverity.Information,
}


class Lines:
    """One text's positions both ways: initlint's (line, code-point column) and LSP's ``Position``."""

    def __init__(self, text: str, codec: PositionCodec):
        self._source = SourceText(text)
        self._codec = codec

    def position(self, line: int, column: int) -> types.Position:
        """The LSP position of a 1-based line and code-point column."""
        prefix = self._source.line(line)[: max(column - 1, 0)]
        return types.Position(line=max(line - 1, 0), character=self._codec.client_num_units(prefix))

    def range(self, line: int, column: int, end_line: int, end_column: int) -> types.Range:
        return types.Range(start=self.position(line, column), end=self.position(end_line, end_column))

    def location(self, position: types.Position) -> tuple[int, int]:
        """The 1-based (line, code-point column) of an LSP position; a column inside a character is that
        character's, past the line's end the line's end."""
        text = self._source.line(position.line + 1)
        units = 0
        for index, char in enumerate(text):
            units += self._codec.client_num_units(char)
            if units > position.character:
                return position.line + 1, index + 1
        return position.line + 1, len(text) + 1


def contains(finding: Finding, line: int, column: int) -> bool:
    """Whether the finding's range holds the 1-based position (both ends included: a cursor just after
    the flagged call still points at it)."""
    return (finding.line, finding.column) <= (line, column) <= (finding.end_line, finding.end_column)


def diagnostic(finding: Finding, lines: Lines, version: int, path: str) -> types.Diagnostic:
    """The finding as an LSP diagnostic; its ``data`` holds what a quick fix needs (see ``quick_fix``)."""
    rule = catalogue.find(finding.code)
    return types.Diagnostic(
        range=lines.range(finding.line, finding.column, finding.end_line, finding.end_column),
        message=finding.message,
        severity=_SEVERITIES.get(finding.severity, types.DiagnosticSeverity.Warning),
        code=finding.code,
        code_description=types.CodeDescription(href=catalogue.rule_url(rule)) if rule is not None else None,
        source=SOURCE,
        data=_fix_data(finding, version, path),
    )


def _fix_data(finding: Finding, version: int, path: str) -> dict[str, Any] | None:
    """The fix of the document ``version`` it was computed on; a fix editing another file is not offered
    (the server knows that file's version no better than the disk does)."""
    fix = finding.fix
    here = os.path.normcase(os.path.abspath(path))
    if fix is None or any(os.path.normcase(os.path.abspath(e.path)) != here for e in fix.edits):
        return None
    edits = [[e.line, e.column, e.end_line, e.end_column, e.content] for e in fix.edits]
    return {"version": version, "message": fix.message, "applicability": fix.applicability, "edits": edits}


def _edits(items: Any) -> list[Edit] | None:
    """The edits of a diagnostic's data, as ``_fix_data`` wrote them; None for anything else."""
    if not isinstance(items, list):
        return None
    edits = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 5 and all(isinstance(n, int) for n in item[:4])):
            return None
        if not isinstance(item[4], str):
            return None
        edits.append(Edit("", item[0], item[1], item[2], item[3], item[4]))
    return edits


def quick_fix(diagnostic: types.Diagnostic, document: types.OptionalVersionedTextDocumentIdentifier,
              lines: Lines, versioned: bool) -> types.CodeAction | None:  # fmt: skip
    """The quick fix of one of our diagnostics, if it has one and the document is still the version
    it was computed on (``document.version``, whose text ``lines`` holds). ``versioned``: the client takes
    ``documentChanges``, so it too can refuse the edit should the buffer change before it applies it."""
    data = diagnostic.data
    if diagnostic.source != SOURCE or not isinstance(data, dict) or data.get("version") != document.version:
        return None
    edits = _edits(data.get("edits"))
    message, safe = data.get("message"), data.get("applicability") == "safe"
    if edits is None or not isinstance(message, str):  # not data we sent
        return None
    text_edits: list[types.TextEdit | types.AnnotatedTextEdit | types.SnippetTextEdit] = [
        types.TextEdit(range=lines.range(e.line, e.column, e.end_line, e.end_column), new_text=e.content) for e in edits
    ]
    if versioned:
        edit = types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=document, edits=text_edits)])
    else:
        edit = types.WorkspaceEdit(changes={document.uri: [e for e in text_edits if isinstance(e, types.TextEdit)]})
    return types.CodeAction(
        title=f"initlint: {message}" if safe else f"initlint: {message} (unsafe fix)",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        is_preferred=safe,
        edit=edit,
    )
