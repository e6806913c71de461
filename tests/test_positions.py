"""Source positions: lines numbered as Python numbers them, columns in code points, through to --fix
and every report format.

Expected positions are counted by hand or by the compiler (``ast``), never by initlint's own helpers.
"""

from __future__ import annotations

import ast
import json
import xml.etree.ElementTree as ET

import pytest
from conftest import run_cli
from hypothesis import given
from hypothesis import strategies as st

from initlint.shared.positions import (
    Positions,
    SourceText,
    char_column,
    first_line_break,
    lines_with_breaks,
)
from initlint.suppress import parse_comments

# Characters str.splitlines breaks at and Python does not.
NOT_LINE_BREAKS = "\f\v\x1c\x1d\x1e\x85\u2028\u2029"


def test_lines_break_only_at_cr_lf_and_crlf():
    text = f"a{NOT_LINE_BREAKS}b\r\nc\rd\ne"
    source = SourceText(text)
    assert source.line_count == 4
    assert [source.line(n) for n in range(1, 6)] == [f"a{NOT_LINE_BREAKS}b", "c", "d", "e", ""]
    assert lines_with_breaks(text) == [f"a{NOT_LINE_BREAKS}b\r\n", "c\r", "d\n", "e"]
    assert SourceText("x\n").line_count == 2 and SourceText("x\n").line(2) == ""


def test_the_compiler_numbers_lines_the_same_way():
    text = f"x = 1  # {NOT_LINE_BREAKS}\r\ny = '{NOT_LINE_BREAKS}'\rz = 3\nw = 4\n"
    assert [node.lineno for node in ast.parse(text).body] == [1, 2, 3, 4]
    source = SourceText(text)
    assert [source.line(n)[:1] for n in range(1, 5)] == ["x", "y", "z", "w"]


def test_offsets_and_positions_by_hand():
    source = SourceText("ab\r\néz\rq")
    positions = [(1, 1), (1, 3), (1, 4), (2, 1), (2, 3), (3, 1), (3, 2)]
    offsets = [0, 2, 3, 4, 6, 7, 8]  # (1, 4): inside the "\r\n"
    assert [source.offset(*p) for p in positions] == offsets
    assert [source.position(i) for i in offsets] == positions
    assert source.offset(4, 1) == source.offset(9, 9) == len("ab\r\néz\rq")  # past the last line: the end


def test_columns_in_code_points_from_utf8_bytes_by_hand():
    line = "aé😀b"  # 1, 2, 4 and 1 bytes
    assert [char_column(line, b) for b in (0, 1, 3, 7, 8)] == [1, 2, 3, 4, 5]
    assert char_column("ab", 5) == 6  # past the end: one per byte
    assert char_column("\tx", 1) == 2  # a tab is one column, as in ast


def test_first_line_break():
    assert [first_line_break(t) for t in ("a\r\nb\n", "a\rb\n", "a\fb\nc", "abc")] == ["\r\n", "\r", "\n", "\n"]


TEXTS = st.text(alphabet=st.sampled_from(["a", "é", "😀", "\t", "\r", "\n", *NOT_LINE_BREAKS]), max_size=40)


@given(TEXTS, st.data())
def test_offset_and_position_are_inverse(text, data):
    source = SourceText(text)
    offset = data.draw(st.integers(0, len(text)))
    assert source.offset(*source.position(offset)) == offset
    assert "".join(lines_with_breaks(text)) == text
    assert "".join(source.line(n) for n in range(1, source.line_count + 1)) == "".join(
        c for c in text if c not in "\r\n"
    )


@given(st.text(alphabet=st.sampled_from(["a", "b", "\t", "\n", "\f"]), max_size=40), st.data())
def test_texts_of_ascii_and_plain_newlines_are_indexed_as_any_other(text, data):
    """Such texts (nearly every file) take shortcuts: columns are byte offsets, lines split at "\\n"."""
    starts = [0, *(i + 1 for i, c in enumerate(text) if c == "\n")]
    source = SourceText(text)
    assert source.line_count == len(starts)
    line = data.draw(st.integers(1, len(starts)))
    end = starts[line] - 1 if line < len(starts) else len(text)
    assert source.line(line) == text[starts[line - 1] : end]
    column = data.draw(st.integers(1, end - starts[line - 1] + 1))
    assert source.offset(line, column) == starts[line - 1] + column - 1
    assert source.position(starts[line - 1] + column - 1) == (line, column)
    assert source.column(line, column - 1) == column


@given(
    st.lists(
        st.tuples(st.sampled_from(["", "é", "😀", "\t", *NOT_LINE_BREAKS]), st.sampled_from(["\n", "\r\n", "\r"])),
        min_size=1,
        max_size=8,
    )
)
def test_ast_spans_are_where_the_statements_were_written(pieces):
    """Statements with non-ASCII names and strings, junk in comments: each span, as ``Positions``
    gives it from the compiler's byte offsets, cuts exactly that statement out of the text."""
    text, written = "", []
    for index, (junk, newline) in enumerate(pieces):
        statement = f"é{index} = ('{junk}😀',{newline}    '{junk}')"  # over two lines
        text += f"x{index} = 0; {statement}  # {junk}{newline}"
        written.append(statement)
    positions = Positions("/virtual.py", text)
    assigned = [node for node in ast.parse(text).body if node.targets[0].id.startswith("é")]  # type: ignore[attr-defined]
    for node, statement in zip(assigned, written, strict=True):
        span = positions.span(node)
        assert (
            text[positions.offset(span.line, span.column) : positions.offset(span.end_line, span.end_column)]
            == statement
        )


def test_suppression_comments_are_on_the_compilers_lines():
    text = "x = 1\ry = 2  # noqa: IL101\r\nz = 3  # \f\u2028 initlint: ignore[IL201]\n"
    assert parse_comments(text).lines == {2: {"IL101"}, 3: {"IL201"}}


# -- through the command line -----------------------------------------------------------------


MODEL = """import torch
import torch.nn as nn

# page{sep}break


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)  # é{sep}
        self.fc2 = nn.Linear(32, 10)
        note = "ü{sep}😀"; nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""
CALL = "nn.init.xavier_normal_(self.fc1.weight)"
FIXED = 'nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")'
SEPARATORS = {"form-feed": "\f", "vertical-tab": "\v", "line-separator": "\u2028", "next-line": "\x85"}
MODES = {"full": [], "static": ["--static"]}


def _where(source: str, fragment: str) -> tuple[int, int]:
    """(line, code-point column) of ``fragment``, in a source whose only line breaks are ``\\n``."""
    before = source[: source.index(fragment)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("separator", sorted(SEPARATORS))
def test_fix_rewrites_the_call_after_characters_that_are_no_line_break(tmp_path, mode, separator):
    source = MODEL.format(sep=SEPARATORS[separator])
    path = tmp_path / "model.py"
    path.write_bytes(source.encode())
    code, out = run_cli("check", "--no-cache", "--format", "json", *MODES[mode], "model.py", cwd=tmp_path)
    [finding] = json.loads(out)["findings"]
    line, column = _where(source, CALL)
    assert (finding["code"], finding["line"], finding["column"]) == ("IL101", line, column)
    assert (finding["end_line"], finding["end_column"]) == (line, column + len(CALL))
    code, out = run_cli("check", "--no-cache", "--fix", *MODES[mode], "model.py", cwd=tmp_path)
    assert "Fixed 1 finding" in out and code == 0, out
    assert path.read_bytes().decode() == source.replace(CALL, FIXED)


def test_every_report_format_gives_the_same_code_point_column(tmp_path):
    source = MODEL.format(sep="\f")
    (tmp_path / "model.py").write_bytes(source.encode())
    line, column = _where(source, CALL)
    end = column + len(CALL)

    def render(name: str) -> str:
        return run_cli("check", "--no-cache", "--format", name, "model.py", cwd=tmp_path)[1]

    [finding] = json.loads(render("json"))["findings"]
    assert (finding["line"], finding["column"], finding["end_line"], finding["end_column"]) == (line, column, line, end)
    [result] = json.loads(render("sarif"))["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": line, "startColumn": column, "endLine": line, "endColumn": end}
    assert f"line={line},col={column},endLine={line},endColumn={end}" in render("github")
    assert f"model.py:{line}:{column}: IL101" in render("text")
    [case] = ET.fromstring(render("junit")).iter("testcase")
    assert case.get("line") == str(line)
