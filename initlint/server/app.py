"""The language server: which LSP message runs which analysis, and whether its results still apply.

A buffer is checked from its source (static mode) when it is opened and on
every change, in the event loop: it takes milliseconds. A save starts the full
check of the file on disk (its models built in worker processes) in one
background thread; its findings replace the static ones only if the document
is still the version that was saved and its text the bytes that were checked.
The next change goes back to static findings. Whatever fails in an analysis is
logged (``window/logMessage``) and leaves the file without diagnostics; the
server goes on.

Notebooks are not handled: ``notebookDocument/*`` would map each cell to a
buffer of the notebook's code (as the notebook support lays cells out) and its
findings back to cells.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument

from .. import __version__
from ..config import ConfigError
from .analysis import Analysis, SavedFindings, analyse_buffer, analyse_saved, is_analysed_text
from .convert import Lines, contains, diagnostic, quick_fix
from .hover import hover_markdown
from .settings import options_for


class InitlintServer(LanguageServer):
    """pygls' server, with what initlint found in each open document."""

    def __init__(self) -> None:
        super().__init__("initlint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.analyses: dict[str, Analysis] = {}  # uri -> the findings published for it
        self.saves: dict[str, int] = {}  # uri -> how many saves it had: a full check of an older one is stale
        # One long-lived thread runs the full checks, one at a time (they use every core). Long-lived because
        # the workers' supervisor is told to die with the thread that forked it (PR_SET_PDEATHSIG).
        self.full_checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="initlint-full-check")

    def document(self, uri: str) -> TextDocument | None:
        """The open document at ``uri``; None once it is closed (pygls would read the file from disk)."""
        found: TextDocument | None = self.workspace.text_documents.get(unquote(uri))
        return found

    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def publish(self, document: TextDocument, analysis: Analysis) -> None:
        self.analyses[document.uri] = analysis
        lines = Lines(analysis.text, document.position_codec)
        found = [diagnostic(f, lines, analysis.version, document.path) for f in analysis.findings]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=document.uri, diagnostics=found, version=analysis.version)
        )

    def fail(self, document: TextDocument, what: str, error: Exception) -> None:
        """An analysis that raised: say so in the log, and show no findings rather than stale ones."""
        self.log(f"initlint: {what} of {document.path} failed: {error}", types.MessageType.Error)
        self.publish(document, Analysis(document.version or 0, document.source, (), full=False))


def _python_file(server: InitlintServer, uri: str) -> TextDocument | None:
    """The open document at ``uri`` if it is a file initlint can check (not an untitled buffer)."""
    document = server.document(uri)
    if document is None or not uri.startswith("file:"):
        return None
    return document


def check_buffer(server: InitlintServer, uri: str) -> None:
    """Static findings of the buffer as it is now."""
    document = _python_file(server, uri)
    if document is None:
        return
    text, version = document.source, document.version or 0
    try:
        findings = analyse_buffer(document.path, text, options_for(document.path))
    except ConfigError as error:
        server.fail(document, "the configuration", error)
        return
    except Exception as error:  # an initlint bug: this file has no findings, the server goes on
        server.fail(document, "the check", error)
        return
    server.publish(document, Analysis(version, text, findings, full=False))


async def check_saved(server: InitlintServer, uri: str) -> None:
    """Full findings of the saved file, published if the buffer is still what was saved."""
    document = _python_file(server, uri)
    if document is None:
        return
    text, version, path = document.source, document.version or 0, document.path
    save = server.saves[uri] = server.saves.get(uri, 0) + 1

    def latest() -> bool:  # pygls updates the document in place: compare with what was saved
        current = server.document(uri)
        return server.saves.get(uri) == save and current is not None and (current.version or 0) == version

    def run() -> SavedFindings | None:
        return analyse_saved(path, options_for(path)) if latest() else None  # a newer save is queued

    started = time.monotonic()
    try:
        saved = await asyncio.get_running_loop().run_in_executor(server.full_checks, run)
    except Exception as error:
        if latest():
            server.fail(document, "the full check", error)
        return
    if saved is None or not latest():
        server.log(f"initlint: full check of {path} dropped: the buffer changed since it was saved")
        return
    if not is_analysed_text(saved, text):
        server.log(f"initlint: {path} on disk is not the buffer: its source-only findings stay")
        return
    server.log(f"initlint: full check of {path}: {len(saved.findings)} findings in {time.monotonic() - started:.2f}s")
    server.publish(document, Analysis(version, text, saved.findings, full=True))


def code_actions(server: InitlintServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
    """A quick fix for each of our diagnostics in the request that carries a fix for the current version."""
    only = params.context.only
    if only is not None and not any(types.CodeActionKind.QuickFix.value.startswith(kind) for kind in only):
        return None
    uri = params.text_document.uri
    document = server.document(uri)
    analysis = server.analyses.get(uri)
    if document is None or analysis is None or analysis.version != document.version:
        return None  # the buffer moved on: its fixes come with the next diagnostics
    identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=document.version)
    lines = Lines(analysis.text, document.position_codec)
    versioned = _takes_document_changes(server)
    actions = [quick_fix(d, identifier, lines, versioned) for d in params.context.diagnostics]
    return [action for action in actions if action is not None]


def _takes_document_changes(server: InitlintServer) -> bool:
    workspace = server.client_capabilities.workspace
    edits = workspace.workspace_edit if workspace is not None else None
    return bool(edits is not None and edits.document_changes)


def hover(server: InitlintServer, params: types.HoverParams) -> types.Hover | None:
    """The rule and numbers of each finding whose range holds the cursor."""
    uri = params.text_document.uri
    document = server.document(uri)
    analysis = server.analyses.get(uri)
    if document is None or analysis is None or analysis.version != document.version:
        return None
    lines = Lines(analysis.text, document.position_codec)
    line, column = lines.location(params.position)
    under = [f for f in analysis.findings if contains(f, line, column)]
    if not under:
        return None
    first = under[0]
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(hover_markdown(f) for f in under)
        ),
        range=lines.range(first.line, first.column, first.end_line, first.end_column),
    )


def build_server() -> InitlintServer:
    """The server with its features registered."""
    server = InitlintServer()

    @server.feature(types.INITIALIZED)
    def initialized(ls: InitlintServer, params: types.InitializedParams) -> None:
        # Imported now, in this thread, rather than while a full check forks its workers from another.
        for module in ("initlint.static", "initlint.fix.edits", "initlint.api"):
            importlib.import_module(module)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: InitlintServer, params: types.DidOpenTextDocumentParams) -> None:
        check_buffer(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: InitlintServer, params: types.DidChangeTextDocumentParams) -> None:
        check_buffer(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    async def did_save(ls: InitlintServer, params: types.DidSaveTextDocumentParams) -> None:
        await check_saved(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: InitlintServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.analyses.pop(uri, None)
        ls.saves.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix])
    )
    def code_action(ls: InitlintServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        return code_actions(ls, params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: InitlintServer, params: types.HoverParams) -> types.Hover | None:
        return hover(ls, params)

    return server


def serve() -> None:
    """Speak LSP on stdin/stdout until the client says exit (or the pipe closes)."""
    server = build_server()
    reader, writer = _protocol_streams()
    server.start_io(reader, writer)
    # A full check may still be running: exit without waiting for it (its workers die with this process).
    for stream in (writer, sys.stdout, sys.stderr):
        with contextlib.suppress(ValueError, OSError):  # pygls closes its writer on exit
            stream.flush()
    os._exit(0)


def _protocol_streams() -> tuple[BinaryIO, BinaryIO]:
    """The protocol's pipes, on file objects of their own; stdin becomes /dev/null and stdout stderr.

    A worker process forked for a full check closes ``sys.stdin`` (multiprocessing does), which blocks for
    good if the lock of the object pygls is reading from is held, as it is while pygls waits for the next
    message. And nothing else in this process or its children (a print, user code) may read or write the
    protocol's pipes."""
    reader = os.fdopen(os.dup(0), "rb")
    writer = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return reader, writer
