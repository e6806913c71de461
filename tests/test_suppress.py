"""Suppression comments and --show-suppressed."""

from __future__ import annotations

from conftest import run_cli, run_json, write

from initlint.suppress import parse_comments

SOURCE = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        nn.init.xavier_normal_(self.fc1.weight){comment}

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""


def findings(tmp_path, comment: str, *args: str) -> list[str]:
    write(tmp_path, "m.py", SOURCE.format(comment=comment))
    return [f["code"] for f in run_json("m.py", *args, cwd=tmp_path)[1]["findings"]]


def test_no_comment_reports(tmp_path):
    assert findings(tmp_path, "") == ["IL101"]


def test_initlint_ignore_with_code(tmp_path):
    assert findings(tmp_path, "  # initlint: ignore[IL101]") == []


def test_initlint_ignore_other_code_does_not_silence(tmp_path):
    assert findings(tmp_path, "  # initlint: ignore[IL201]") == ["IL101"]


def test_initlint_ignore_prefix_and_bare(tmp_path):
    assert findings(tmp_path, "  # initlint: ignore[IL1]") == []
    assert findings(tmp_path, "  # initlint: ignore") == []


def test_noqa_with_code(tmp_path):
    assert findings(tmp_path, "  # noqa: IL101") == []
    assert findings(tmp_path, "  # noqa: E501, IL101") == []
    assert findings(tmp_path, "  # noqa: E501") == ["IL101"]


def test_suppression_on_the_layer_construction_line(tmp_path):
    source = SOURCE.format(comment="").replace(
        "self.fc1 = nn.Linear(64, 32)", "self.fc1 = nn.Linear(64, 32)  # noqa: IL101"
    )
    write(tmp_path, "m.py", source)
    assert run_json("m.py", cwd=tmp_path)[1]["findings"] == []


def test_file_level_ignore(tmp_path):
    write(tmp_path, "m.py", "# initlint: ignore-file\n" + SOURCE.format(comment=""))
    code, document = run_json("m.py", cwd=tmp_path)
    assert code == 0 and document["findings"] == []


def test_show_suppressed(tmp_path):
    write(tmp_path, "m.py", SOURCE.format(comment="  # noqa: IL101"))
    code, out = run_cli("check", "m.py", "--show-suppressed", cwd=tmp_path)
    assert "IL101" in out and "(suppressed)" in out
    assert run_cli("check", "m.py", cwd=tmp_path)[0] == 0


def test_comments_inside_strings_do_not_count():
    parsed = parse_comments('x = "# noqa: IL101"\ny = 1  # initlint: ignore[IL2]\n')
    assert parsed.lines == {2: {"IL2"}}
