"""Property: on random small model sources, --fix edits exactly the init calls and line starts it
names, at the places the generator put them, leaves a parsing file, and a second --fix changes nothing.

The oracle never asks initlint where anything is: the generator writes the source piece by piece
and records, as it goes, each call's line, column (in code points) and index in the text. Form
feeds, vertical tabs, U+2028 and friends in comments and strings, non-ASCII names, tab indentation,
``\\r\\n`` and ``\\r`` line breaks and calls spread over several lines with comments are all in the mix.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from initlint import check_paths
from initlint.fix.apply import prepare, write
from initlint.options import Options

ACTIVATIONS = ["torch.relu({})", "torch.tanh({})", "F.leaky_relu({}, 0.2)", "{}", "F.relu({})"]
PREFIXES = {"nn.init": "", "init": "from torch.nn import init", "torch.nn.init": ""}
# "\n" ends a line (the generator writes the chosen line break); {i} is the statement's indentation, {j} one deeper.
INITS = [
    "{p}.xavier_uniform_(self.{l}.weight)",
    "{p}.xavier_normal_( self.{l}.weight ,gain=1.0 )",
    "{p}.xavier_normal_(\tself.{l}.weight,\tgain=1.0)",
    "{p}.kaiming_normal_(self.{l}.weight, nonlinearity='relu')",
    "{p}.kaiming_uniform_(\n{j}self.{l}.weight,\n{j}mode='fan_out',  # odd\n{j}nonlinearity='tanh',\n{i})",
    "{p}.xavier_uniform_(  # poids é\f\v\n{j}self.{l}.weight,  # \u2028 \x85 😀\n{i})",
    "{p}.normal_(self.{l}.weight, std=0.01)",
    "self.{l}.weight.data.normal_(0, 0.02)",
    "self.{l}.weight.data.uniform_(-0.05, 0.05)",
    None,  # PyTorch's default
]
# Text before an init call on its line, and after a layer's statement: none of it ends a line for Python.
BEFORE_CALL = ["", 's = "é\f"; ', "t = '\u2028\v'; "]
COMMENTS = ["", "  # layer", "   #x", "  # é\f page", "\t# tab\v", "  # \u2028 \x85 \x1c ü"]
NAMES = ["l", "lé", "λ"]
MODES = {"full": Options(), "static": Options(static=True)}


@dataclass
class Source:
    """Source text written piece by piece, remembering where each call went."""

    newline: str
    text: str = ""
    line: int = 1
    column: int = 1  # code points
    line_starts: dict[int, int] = field(default_factory=lambda: {1: 0})
    calls: dict[tuple[int, int, int, int], tuple[int, int]] = field(default_factory=dict)  # span -> (start, end)
    inits: dict[tuple[int, int, int, int], str] = field(default_factory=dict)  # init call span -> layer

    def add(self, piece: str) -> None:
        for index, part in enumerate(piece.split("\n")):
            if index:
                self.text += self.newline
                self.line, self.column = self.line + 1, 1
                self.line_starts[self.line] = len(self.text)
            self.text += part
            self.column += len(part)

    def add_line(self, piece: str = "") -> None:
        self.add(piece + "\n")

    def add_call(self, piece: str, layer: str | None = None) -> None:
        start, offset = (self.line, self.column), len(self.text)
        self.add(piece)
        span = (*start, self.line, self.column)
        self.calls[span] = (offset, len(self.text))
        if layer is not None:
            self.inits[span] = layer


@st.composite
def model_sources(draw) -> Source:
    n = draw(st.integers(1, 4))
    widths = [draw(st.sampled_from([16, 32, 48])) for _ in range(n + 1)]
    prefix = draw(st.sampled_from(sorted(PREFIXES)))
    names = [f"{draw(st.sampled_from(NAMES))}{k}" for k in range(n)]
    unit = draw(st.sampled_from(["    ", "\t"]))
    body = unit * 2
    source = Source(draw(st.sampled_from(["\n", "\r\n", "\r"])))
    for line in ('"""Modèle \u2028 écrit à la main."""', "import torch", "import torch.nn as nn"):
        source.add_line(line)
    source.add_line("import torch.nn.functional as F")
    source.add_line(PREFIXES[prefix])
    source.add_line(draw(st.sampled_from(["", "# page break\f", "\f"])))
    source.add_line()
    source.add_line("class Model(nn.Module):")
    source.add_line(f"{unit}def __init__(self):")
    source.add_line(f"{body}super().__init__()")
    for name, width_in, width_out in zip(names, widths, widths[1:]):
        source.add(f"{body}self.{name} = ")
        source.add_call(f"nn.Linear({width_in}, {width_out})")
        source.add_line(draw(st.sampled_from(COMMENTS)))
    for name in names:
        init = draw(st.sampled_from(INITS))
        if init is not None:
            source.add(body + draw(st.sampled_from(BEFORE_CALL)))
            source.add_call(init.format(p=prefix, l=name, i=body, j=body + unit), name)
            source.add_line(draw(st.sampled_from(COMMENTS)))
    source.add_line(draw(st.sampled_from(["", "\f"])))
    source.add_line(f"{unit}def forward(self, x):")
    for name in names:
        source.add_line(f"{body}x = " + draw(st.sampled_from(ACTIVATIONS)).format(f"self.{name}(x)"))
    source.add_line(f"{body}return x")
    return source


def _fix_once(path, options):
    report = check_paths([str(path)], options)
    changes, problems = prepare([f for f in report.findings if f.fix], report.digests)
    assert problems == []
    for change in changes:
        write(change)
    return report, changes


def _expected(source: Source, changes) -> str:
    """The source with each fixed finding's edits applied where the generator put what they name."""
    edits: list[tuple[int, int, str]] = []
    for finding in (f for change in changes for f in change.fixed):
        for e in finding.fix.edits:
            span = (e.line, e.column, e.end_line, e.end_column)
            if span in source.calls:
                start, end = source.calls[span]
            else:
                assert e.column == e.end_column == 1 and e.line == e.end_line, f"an edit at {span}: no call is there"
                assert e.line in source.line_starts, f"an insertion at line {e.line}, past the end"
                start = end = source.line_starts[e.line]
            content = e.content.replace("\r\n", "\n").replace("\n", source.newline)
            if (start, end, content) not in edits:
                edits.append((start, end, content))
    fixed, position = "", 0
    for start, end, content in sorted(edits, key=lambda edit: edit[0]):  # stable: insertions keep their order
        assert start >= position, "edits of one fixed file overlap"
        fixed += source.text[position:start] + content
        position = end
    return fixed + source.text[position:]


def _span(item) -> tuple[int, int, int, int]:
    return item.line, item.column, item.end_line, item.end_column


def _initialised(text: str) -> set[str]:
    """The layers whose weight an init call or a tensor method call of ``text`` writes."""
    calls = [ast.unparse(node) for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Call)]
    return {call.split("self.", 1)[1].split(".weight", 1)[0] for call in calls if ".weight" in call}


@pytest.mark.parametrize("mode", sorted(MODES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=model_sources())
def test_fix_edits_only_what_it_names_where_it_is(tmp_path, mode, source):
    path = tmp_path / f"model_{mode}.py"
    path.write_bytes(source.text.encode())
    report, changes = _fix_once(path, MODES[mode])
    assert [m.status for m in report.models] == ["traced" if mode == "full" else "static"]
    for finding in report.findings:
        assert "the file may have changed" not in finding.message  # its fix could not find its call
        assert _span(finding) in source.calls  # an init call or a layer's construction, where it was written
        if finding.fix is not None:  # an init call's finding rewrites it; the others insert lines
            rewrites = [e for e in finding.fix.edits if _span(e) == _span(finding)]
            assert bool(rewrites) == (_span(finding) in source.inits)
    event(f"{sum(len(c.fixed) for c in changes)} findings fixed")
    fixed = path.read_bytes().decode()
    assert fixed == _expected(source, changes)
    assert not {"\r", "\n"} & set(fixed.replace(source.newline, ""))
    assert _initialised(fixed) >= _initialised(source.text)
    _, more = _fix_once(path, MODES[mode])
    assert more == [] and path.read_bytes().decode() == fixed
