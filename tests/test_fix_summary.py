"""What a --fix run prints and exits with, as ruff 0.17 does: the count line, --show-fixes,
--fix-only and --exit-non-zero-on-fix (exit codes: 0 clean, 1 findings, 2 usage error)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner
from conftest import XAVIER_RELU, write

from initlint.cli import main

# IL101 on line 11 has a safe fix; IL201 on line 12 an unsafe one.
TWO_FIXES = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc3 = nn.Linear(32, 10)
        nn.init.xavier_normal_(self.fc1.weight)
        self.fc2.weight.data.normal_(0, 0.01)

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))
"""


def check(directory: Path, *args: str) -> tuple[int, str, str]:
    """``initlint check`` in this process: (exit code, stdout, stderr), kept apart."""
    old = os.getcwd()
    os.chdir(directory)
    try:
        result = CliRunner().invoke(main, ["check", *args], catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout, result.stderr


def test_fix_ends_with_the_count_and_exits_1_while_findings_remain(tmp_path):
    path = write(tmp_path, "m.py", TWO_FIXES)
    code, out, err = check(tmp_path, "m.py", "--fix")
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("m.py:12:9: IL201 [warning]")  # what remains, no longer [*]: unsafe
    assert lines[1:] == [
        "Found 1 finding (1 warning); 1 model checked in 1 file.",
        "1 more fix available with `--unsafe-fixes`.",
        "Fixed 1 finding (1 remaining).",
    ]
    assert "kaiming_normal_(self.fc1.weight" in path.read_text() and "normal_(0, 0.01)" in path.read_text()


def test_fix_of_everything_exits_0(tmp_path):
    write(tmp_path, "m.py", TWO_FIXES)
    code, out, _ = check(tmp_path, "m.py", "--fix", "--unsafe-fixes")
    assert code == 0
    assert out.splitlines() == ["No findings: 1 model checked in 1 file.", "Fixed 2 findings (0 remaining)."]


def test_exit_non_zero_on_fix_exits_1_when_nothing_remains(tmp_path):
    write(tmp_path, "m.py", XAVIER_RELU)
    code, out, _ = check(tmp_path, "m.py", "--fix", "--exit-non-zero-on-fix")
    assert code == 1
    assert out.endswith("Fixed 1 finding (0 remaining).\n")
    code, out, _ = check(tmp_path, "m.py", "--fix", "--exit-non-zero-on-fix")  # nothing left to fix
    assert code == 0 and "Fixed" not in out


def test_show_fixes_lists_the_fixes_applied_by_file_and_rule(tmp_path):
    write(tmp_path, "m.py", TWO_FIXES)
    write(tmp_path, "other.py", XAVIER_RELU)
    code, out, err = check(tmp_path, "m.py", "other.py", "--fix", "--unsafe-fixes", "--show-fixes")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "No findings: 2 models checked in 2 files.",
        "",
        "Fixed 3 findings:",
        "- m.py:",
        "    1 × IL101 (gain-mismatch)",
        "    1 × IL201 (init-scale)",
        "- other.py:",
        "    1 × IL101 (gain-mismatch)",
        "",
        "Fixed 3 findings (0 remaining).",
    ]


def test_show_fixes_without_fix_lists_what_is_available(tmp_path):
    path = write(tmp_path, "m.py", TWO_FIXES)
    code, out, _ = check(tmp_path, "m.py", "--show-fixes")
    assert code == 1
    assert out.splitlines()[-3:] == [
        "",
        "1 fix available:",
        "  m.py:11:9: IL101 Replace with kaiming_normal_(nonlinearity='relu') (safe)",
    ]
    assert path.read_text().lstrip("\n") == TWO_FIXES.lstrip("\n")


def test_show_fixes_keeps_json_parseable(tmp_path):
    write(tmp_path, "m.py", TWO_FIXES)
    code, out, err = check(tmp_path, "m.py", "--fix", "--show-fixes", "--format", "json")
    assert code == 1
    assert [f["code"] for f in json.loads(out)["findings"]] == ["IL201"]
    assert err.splitlines() == ["Fixed 1 finding:", "- m.py:", "    1 × IL101 (gain-mismatch)"]


def test_fix_only_reports_what_it_fixed_and_exits_0(tmp_path):
    path = write(tmp_path, "m.py", TWO_FIXES)
    code, out, _ = check(tmp_path, "m.py", "--fix-only")
    assert code == 0  # IL201 remains, unreported
    assert out == "Fixed 1 finding (1 additional fix available with `--unsafe-fixes`).\n"
    assert "kaiming_normal_(self.fc1.weight" in path.read_text()
    code, out, _ = check(tmp_path, "m.py", "--fix-only")
    assert code == 0 and out == "No findings fixed (1 fix available with `--unsafe-fixes`).\n"
    code, out, _ = check(tmp_path, "m.py", "--fix-only", "--unsafe-fixes", "--show-fixes")
    assert code == 0
    assert out.splitlines() == ["", "Fixed 1 finding:", "- m.py:", "    1 × IL201 (init-scale)", "", "Fixed 1 finding."]
    code, out, _ = check(tmp_path, "m.py", "--fix-only")
    assert code == 0 and out == ""  # nothing to fix, nothing said


def test_fix_only_with_exit_non_zero_on_fix(tmp_path):
    write(tmp_path, "m.py", TWO_FIXES)
    assert check(tmp_path, "m.py", "--fix-only", "--exit-non-zero-on-fix")[0] == 1
    assert check(tmp_path, "m.py", "--fix-only", "--exit-non-zero-on-fix")[0] == 0  # only an unsafe fix left


def test_fix_only_in_json_prints_nothing(tmp_path):
    path = write(tmp_path, "m.py", XAVIER_RELU)
    code, out, err = check(tmp_path, "m.py", "--fix-only", "--format", "json")
    assert (code, out, err) == (0, "", "")
    assert "kaiming_normal_" in path.read_text()


def test_fix_summary_goes_to_the_output_file(tmp_path):
    write(tmp_path, "m.py", XAVIER_RELU)
    code, out, _ = check(tmp_path, "m.py", "--fix", "--show-fixes", "-o", "report.txt")
    assert code == 0 and out == ""
    assert (
        (tmp_path / "report.txt")
        .read_text()
        .endswith("\nFixed 1 finding:\n- m.py:\n    1 × IL101 (gain-mismatch)\n\nFixed 1 finding (0 remaining).\n")
    )


def test_exit_zero_and_exit_non_zero_on_fix_contradict(tmp_path):
    path = write(tmp_path, "m.py", XAVIER_RELU)
    code, out, err = check(tmp_path, "m.py", "--fix", "--exit-zero", "--exit-non-zero-on-fix")
    assert (code, out) == (2, "")
    assert err == "initlint: error: --exit-zero cannot be used with --exit-non-zero-on-fix\n"
    assert "xavier_normal_" in path.read_text()  # nothing was analysed or fixed


def test_fix_only_of_stdin_prints_the_fixed_source_and_exits_0(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["check", "--no-cache", "-", "--fix-only", "--stdin-filename", "m.py"], input=TWO_FIXES
    )
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout != TWO_FIXES and "kaiming_normal_" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_fix_only_of_a_missing_path_is_an_error(tmp_path):
    write(tmp_path, "m.py", XAVIER_RELU)
    code, _, err = check(tmp_path, "m.py", "gone.py", "--fix-only")
    assert code == 2 and "gone.py: no such file or directory" in err
