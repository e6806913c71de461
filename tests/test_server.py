"""`initlint server`: a real LSP session over stdio with `python -m initlint server`, as an editor drives it.

One server for the module (starting one takes a second); each test opens its
own files, in its own directory with its own configuration.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Xavier (gain 1) before a ReLU: IL101 on the init call, line 10 (1-based), columns 9-49.
XAVIER_RELU = textwrap.dedent(
    """\
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 64)
            self.fc2 = nn.Linear(64, 10)
            nn.init.xavier_uniform_(self.fc1.weight)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))
    """
)
INIT_CALL = "nn.init.xavier_uniform_(self.fc1.weight)"

# The activation is computed at run time: only the full mode, which builds and traces the model, sees the
# ReLU after fc1 (`initlint check --static` finds nothing here).
RUNTIME_RELU = textwrap.dedent(
    """\
    import torch.nn as nn

    ACT = eval("nn.ReLU")


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 64)
            self.act = ACT()
            self.fc2 = nn.Linear(64, 10)
            nn.init.xavier_uniform_(self.fc1.weight)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))
    """
)


class RecordingClient(LanguageClient):
    """pytest-lsp's client, keeping every publishDiagnostics (with its version), not only the last per file."""

    def __init__(self) -> None:
        super().__init__(converter_factory=default_converter)
        self.published: list[types.PublishDiagnosticsParams] = []


def _record(client: RecordingClient, params: types.PublishDiagnosticsParams) -> None:
    client.published.append(params)


def _make_client() -> RecordingClient:
    client = RecordingClient()
    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _record})
    return client


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "initlint", "server"], client_factory=_make_client),
)
async def client(lsp_client: RecordingClient):
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities("visual-studio-code"), process_id=None)
    )
    yield
    await lsp_client.shutdown_session()


async def _published(
    client: RecordingClient, uri: str, version: int, timeout: float = 10.0, after: int = 0
) -> list[types.Diagnostic]:
    """The diagnostics published for ``uri`` at ``version`` (the ``after``-th such publication on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in client.published if p.uri == uri and p.version == version]
        if len(found) > after:
            return list(found[after].diagnostics)
        await asyncio.sleep(0.02)
    raise AssertionError(f"no diagnostics for {uri} version {version} within {timeout}s")


def _project(tmp_path: Path, name: str, text: str, config: str = "") -> tuple[Path, str]:
    """A file in a directory of its own, whose initlint.toml (and so cache) is there too."""
    (tmp_path / "initlint.toml").write_text(config)
    path = tmp_path / name
    path.write_text(text)
    return path, path.as_uri()


def _open(client: LanguageClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
        )
    )


def _change(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (ASCII text: characters are UTF-16 units), last first so offsets stay valid."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(position: types.Position) -> int:
        return starts[position.line] + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


async def _code_actions(
    client: LanguageClient, uri: str, diagnostics: list[types.Diagnostic]
) -> list[types.CodeAction | types.Command]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=diagnostics),
        )
    )
    return list(result or [])


def _find(predicate: Callable[[str], bool], text: str) -> tuple[int, int]:
    """0-based (line, column) of the first line satisfying ``predicate``, at its first non-blank character."""
    for number, line in enumerate(text.splitlines()):
        if predicate(line):
            return number, len(line) - len(line.lstrip())
    raise AssertionError("no such line")


async def test_xavier_before_relu_is_flagged_fixed_and_cleared(client: RecordingClient, tmp_path: Path) -> None:
    _, uri = _project(tmp_path, "model.py", XAVIER_RELU)
    _open(client, uri, XAVIER_RELU)
    diagnostics = await _published(client, uri, 1)

    assert [d.code for d in diagnostics] == ["IL101"]
    flagged = diagnostics[0]
    line, column = _find(lambda text: INIT_CALL in text, XAVIER_RELU)
    assert flagged.range == types.Range(
        start=types.Position(line=line, character=column),
        end=types.Position(line=line, character=column + len(INIT_CALL)),
    )
    assert flagged.source == "initlint"
    assert flagged.severity == types.DiagnosticSeverity.Warning
    assert flagged.code_description is not None and flagged.code_description.href.endswith("#il101-gain-mismatch")
    assert "xavier_uniform_() assumes gain 1" in flagged.message
    assert "no automatic fix" not in flagged.message  # the buffer is what gets fixed

    actions = await _code_actions(client, uri, diagnostics)
    assert len(actions) == 1
    action = actions[0]
    assert isinstance(action, types.CodeAction)
    assert action.kind == types.CodeActionKind.QuickFix
    assert action.title.startswith("initlint: Replace with kaiming_uniform_(nonlinearity='relu')")
    assert action.is_preferred is True
    assert action.edit is not None and action.edit.document_changes is not None
    (change,) = action.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == uri and change.text_document.version == 1
    fixed = _apply(XAVIER_RELU, [e for e in change.edits if isinstance(e, types.TextEdit)])
    assert 'nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")' in fixed
    assert INIT_CALL not in fixed

    _change(client, uri, fixed, 2)
    assert await _published(client, uri, 2) == []

    # The diagnostic of version 1 no longer describes the buffer: its fix is not offered any more.
    assert await _code_actions(client, uri, diagnostics) == []


async def test_hover_shows_the_rule_and_the_numbers(client: RecordingClient, tmp_path: Path) -> None:
    _, uri = _project(tmp_path, "hovered.py", XAVIER_RELU)
    _open(client, uri, XAVIER_RELU)
    await _published(client, uri, 1)
    line, column = _find(lambda text: INIT_CALL in text, XAVIER_RELU)

    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=column + 10),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    shown = hover.contents.value
    assert "**IL101 gain-mismatch**" in shown
    assert "Checks `xavier_*`, `kaiming_*` and `orthogonal_` inits" in shown  # the rule's first paragraph
    # Linear(64, 64): Xavier's std sqrt(2 / 128) = 0.125, He's for ReLU sqrt(2 / 64) = 0.177
    assert "| actual std | 0.125 |" in shown
    assert "| expected std | 0.177 |" in shown
    assert "| layer | `fc1` (Linear) |" in shown
    assert "| model | `Net` |" in shown

    elsewhere = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0)
        )
    )
    assert elsewhere is None


async def test_a_syntax_error_is_a_diagnostic_not_a_crash(client: RecordingClient, tmp_path: Path) -> None:
    broken = "import torch.nn as nn\n\nclass Net(nn.Module:\n    pass\n"
    _, uri = _project(tmp_path, "broken.py", broken)
    _open(client, uri, broken)
    diagnostics = await _published(client, uri, 1)
    assert [d.code for d in diagnostics] == ["IL901"]
    assert diagnostics[0].severity == types.DiagnosticSeverity.Error
    assert diagnostics[0].range.start.line == 2

    _change(client, uri, XAVIER_RELU, 2)  # the same server goes on
    assert [d.code for d in await _published(client, uri, 2)] == ["IL101"]


async def test_the_nearest_configuration_applies(client: RecordingClient, tmp_path: Path) -> None:
    _, uri = _project(tmp_path, "ignored.py", XAVIER_RELU, config='ignore = ["IL101"]\n')
    _open(client, uri, XAVIER_RELU)
    assert await _published(client, uri, 1) == []


async def test_a_broken_configuration_is_logged_and_the_file_has_no_diagnostics(
    client: RecordingClient, tmp_path: Path
) -> None:
    _, uri = _project(tmp_path, "misconfigured.py", XAVIER_RELU, config="no-such-key = 1\n")
    _open(client, uri, XAVIER_RELU)
    assert await _published(client, uri, 1) == []
    errors = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
    assert any("'no-such-key'" in message for message in errors)


async def test_save_runs_the_full_check_until_the_next_edit(client: RecordingClient, tmp_path: Path) -> None:
    path, uri = _project(tmp_path, "runtime.py", RUNTIME_RELU)
    _open(client, uri, RUNTIME_RELU)
    assert await _published(client, uri, 1) == []  # from the source alone, the activation is unknown

    started = time.monotonic()
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    full = await _published(client, uri, 1, timeout=120, after=1)
    print(f"full check after save: {time.monotonic() - started:.2f}s")
    assert [d.code for d in full] == ["IL101"]
    assert "feeds nn.ReLU" in full[0].message
    assert any(f"full check of {path}" in m.message for m in client.log_messages)

    actions = await _code_actions(client, uri, full)  # the full check's fix, planned from the saved file
    assert [a.title for a in actions if isinstance(a, types.CodeAction)] == [
        "initlint: Replace with kaiming_uniform_(nonlinearity='relu')"
    ]

    edited = RUNTIME_RELU + "\n"
    _change(client, uri, edited, 2)
    assert await _published(client, uri, 2) == []  # back to what the source alone shows


async def test_a_full_check_of_an_edited_buffer_is_dropped(client: RecordingClient, tmp_path: Path) -> None:
    path, uri = _project(tmp_path, "edited.py", RUNTIME_RELU)
    _open(client, uri, RUNTIME_RELU)
    await _published(client, uri, 1)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    _change(client, uri, RUNTIME_RELU + "\n", 2)  # while the saved file's models are being built
    assert await _published(client, uri, 2) == []

    dropped = f"full check of {path} dropped"
    deadline = time.monotonic() + 120
    while not any(dropped in m.message for m in client.log_messages) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert any(dropped in m.message for m in client.log_messages)
    assert [p.version for p in client.published if p.uri == uri] == [1, 2]  # version 1's full findings: never


async def test_check_never_imports_the_language_server(tmp_path: Path) -> None:
    path, _ = _project(tmp_path, "model.py", XAVIER_RELU)
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from initlint.cli import main\n"
        f"result = CliRunner().invoke(main, ['check', '--static', '--no-cache', {str(path)!r}])\n"
        "print(result.exit_code, sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol')))\n"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert ran.stdout.split() == ["1", "[]"]  # IL101 found (exit 1), and no LSP module loaded


async def test_quick_fixes_are_the_fixes_the_cli_offers(client: RecordingClient, tmp_path: Path) -> None:
    """The buffer's fixes, planned by the server, against `initlint check --static` planning them on disk."""
    source = (Path(__file__).resolve().parent.parent / "examples" / "bad_models.py").read_text()
    path, uri = _project(tmp_path, "bad_models.py", source)
    cli = subprocess.run(
        [sys.executable, "-m", "initlint", "check", "--static", "--no-cache", "--output-format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    expected = sorted(
        (
            f["code"],
            f["line"] - 1,
            f"initlint: {f['fix']['message']}" + ("" if f["fix"]["applicability"] == "safe" else " (unsafe fix)"),
            tuple(
                (e["line"] - 1, e["column"] - 1, e["end_line"] - 1, e["end_column"] - 1, e["content"])
                for e in f["fix"]["edits"]
            ),
        )
        for f in json.loads(cli.stdout)["findings"]
        if f.get("fix")
    )
    assert len(expected) >= 5  # examples/bad_models.py is full of fixable mistakes

    _open(client, uri, source)
    offered = []
    for flagged in await _published(client, uri, 1):
        for action in await _code_actions(client, uri, [flagged]):
            assert isinstance(action, types.CodeAction) and action.edit and action.edit.document_changes
            (change,) = action.edit.document_changes
            assert isinstance(change, types.TextDocumentEdit)
            edits = tuple(
                (e.range.start.line, e.range.start.character, e.range.end.line, e.range.end.character, e.new_text)
                for e in change.edits
            )
            offered.append((flagged.code, flagged.range.start.line, action.title, edits))
    assert sorted(offered) == expected
