"""Static mode parses what it can reach (``initlint.static.reachable``): a top-level function nothing in
the file names and that needs an argument is left out before parsing; anything else, or any doubt, gives
the whole file's tree."""

from __future__ import annotations

import ast
import textwrap

import pytest
from conftest import run_cli, run_json, write

from initlint.static.reachable import parse_reachable

CLASS = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 64)
        self.head = nn.Linear(64, 10)
        for layer in (self.fc1, self.fc2):
            nn.init.xavier_uniform_(layer.weight)

    def forward(self, x):
        return self.head(self.fc2(self.fc1(x).relu()).relu())
"""

HELPER = '''
def mean_of(values, scale=1):
    """Unrelated utility code."""
    total = 0.0
    for value in values:
        total += value * scale
    return total / max(len(values), 1)
'''


def functions(tree: ast.Module) -> list[str]:
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def dumped(tree: ast.Module, leave_out: set[str] = frozenset()) -> list[str]:
    """The top-level statements with their positions, but the functions named in ``leave_out``."""
    return [
        ast.dump(node, include_attributes=True)
        for node in tree.body
        if not (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in leave_out)
    ]


def test_an_unnamed_helper_needing_an_argument_is_left_out_and_nothing_else_moves():
    text = (
        "import torch.nn as nn\n"
        + HELPER
        + CLASS
        + HELPER.replace("mean_of", "async_mean").replace("def ", "async def ")
    )
    tree = parse_reachable("/m.py", text)
    assert functions(tree) == []
    assert dumped(tree) == dumped(ast.parse(text), {"mean_of", "async_mean"})  # same lines and columns


@pytest.mark.parametrize(
    "source, kept",
    [
        (HELPER + "\nprint(mean_of([1]))\n", "named elsewhere"),
        (HELPER + "\n__all__ = ['mean_of']\n", "named in a string"),
        (HELPER.replace("(values, scale=1)", "(values=(), scale=1)"), "callable with no argument: a factory"),
        (HELPER.replace("(values, scale=1)", "(*values)"), "callable with no argument"),
        (HELPER.replace("(values, scale=1)", "(values: list, scale=1)"), "a signature that is not plain"),
        ("@register\n" + HELPER.lstrip(), "decorated"),
        ("@register\n\n" + HELPER.lstrip(), "decorated, a blank line between"),
        ("@register(\n    name='m',\n)\n" + HELPER.lstrip(), "a decorator over several lines"),
        (HELPER.replace('"""Unrelated utility code."""', '"""Unrelated\nutility code at the margin."""'), "a string"),
        (HELPER.replace("return total / max(len(values), 1)", "return total + \\\n1"), "continued"),
        (HELPER.replace("return total / max(len(values), 1)", "return max(\n1, total)"), "a bracket at the margin"),
        (HELPER.replace("\n", "\r\n"), "Windows line ends"),
    ],
)
def test_anything_that_may_be_reached_or_is_not_plain_gives_the_whole_tree(source, kept):
    text = "import torch.nn as nn\n" + source + CLASS
    assert dumped(parse_reachable("/m.py", text)) == dumped(ast.parse(text)), kept


def test_a_configured_entry_keeps_its_function():
    text = HELPER + CLASS
    assert functions(parse_reachable("/m.py", text, frozenset({"mean_of"}))) == ["mean_of"]
    assert functions(parse_reachable("/m.py", text)) == []


def test_static_findings_and_fixes_are_the_same_with_or_without_unreachable_helpers(tmp_path):
    plain = "import torch.nn as nn\n" + CLASS
    padded = "import torch.nn as nn\n" + HELPER + CLASS + HELPER.replace("mean_of", "other_mean")
    write(tmp_path, "plain.py", plain)
    write(tmp_path, "padded.py", padded)
    shift = len(textwrap.dedent(HELPER).lstrip("\n").splitlines()) + 1  # the helper's lines, one blank line
    reports = {name: run_json("--no-cache", "--static", f"{name}.py", cwd=tmp_path)[1] for name in ("plain", "padded")}
    [plain_finding] = reports["plain"]["findings"]
    [padded_finding] = reports["padded"]["findings"]
    assert plain_finding["code"] == padded_finding["code"] == "IL101"  # xavier before ReLU
    assert padded_finding["line"] == plain_finding["line"] + shift
    assert padded_finding["column"] == plain_finding["column"]
    code, _ = run_cli("check", "--no-cache", "--static", "--fix", "padded.py", cwd=tmp_path)
    fixed = (tmp_path / "padded.py").read_text()
    assert "kaiming" in fixed and fixed.count("def mean_of(values, scale=1):") == 1
    assert fixed.replace("kaiming", "") != padded.replace("kaiming", "")  # the init call was rewritten
