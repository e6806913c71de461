"""The command line: files, selection, formats, exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import XAVIER_RELU, run_cli, run_json, run_process, write

from initlint import __version__, rules

CLEAN = """
import torch.nn as nn


class Clean(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(x)
"""

FINDING_KEYS = {
    "code",
    "name",
    "severity",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "model",
    "layer",
    "parameter",
    "layer_type",
    "activation",
    "init",
    "expected_std",
    "actual_std",
    "message",
    "fix",
}


def test_version():
    code, out = run_cli("--version")
    assert code == 0 and out.strip() == f"initlint, version {__version__}"


def test_rules_lists_every_rule():
    code, out = run_cli("rules")
    assert code == 0
    for rule in rules.RULES:
        assert re.search(rf"^{rule.code}\s+{rule.name}\s", out, re.M)


@pytest.mark.parametrize("ask", ["IL101", "il101", "gain-mismatch"])
def test_rule_doc(ask):
    code, out = run_cli("rule", ask)
    assert code == 0
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        assert section in out
    assert "xavier_uniform_" in out


def test_unknown_rule_is_usage_error():
    code, _ = run_cli("rule", "IL999")
    assert code == 2


def test_no_python_files_is_quiet_success(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")
    code, out = run_cli("check", str(tmp_path))
    assert code == 0
    assert out.strip() == "No findings: 0 models checked in 0 files."
    code, document = run_json(str(tmp_path))
    assert code == 0 and document["summary"] == {"files": 0, "models": 0, "findings": 0}


def test_default_path_is_current_directory(tmp_path):
    write(tmp_path, "m.py", XAVIER_RELU)
    code, out = run_cli("check", cwd=tmp_path)
    assert code == 1 and out.startswith("m.py:")


def test_json_contract(tmp_path):
    write(tmp_path, "m.py", XAVIER_RELU)
    code, document = run_json("m.py", cwd=tmp_path)
    assert code == 1
    assert set(document) == {"version", "findings", "models", "summary"}
    assert document["version"] == 1
    [finding] = document["findings"]
    assert FINDING_KEYS <= set(finding)
    assert finding["path"] == "m.py"  # as named: relative stays relative
    assert (finding["code"], finding["name"], finding["severity"]) == ("IL101", "gain-mismatch", "warning")
    assert (finding["model"], finding["layer"], finding["parameter"], finding["layer_type"]) == (
        "Net",
        "fc1",
        "weight",
        "Linear",
    )
    assert finding["line"] == 10 and finding["column"] == 9 and finding["end_line"] == 10
    assert finding["fix"]["applicability"] == "safe"
    [model] = document["models"]
    assert {k: model[k] for k in ("path", "model", "status", "detail")} == {
        "path": "m.py",
        "model": "Net",
        "status": "traced",
        "detail": "",
    }
    assert [row["layer"] for row in model["layers"]] == ["fc1", "fc2"]
    fc1 = model["layers"][0]
    assert (fc1["layer_type"], fc1["activation"], fc1["upstream"], fc1["norm_between"]) == (
        "Linear",
        "torch.relu",
        "input",
        False,
    )
    assert fc1["init"] == "xavier_normal_()"
    assert fc1["actual_std"] == pytest.approx((2 / 96) ** 0.5, rel=1e-4)
    assert fc1["expected_std"] == pytest.approx((2 / 64) ** 0.5, rel=1e-4)
    assert document["summary"] == {"files": 1, "models": 1, "findings": 1}


def test_text_format(tmp_path):
    write(tmp_path, "m.py", XAVIER_RELU)
    code, out = run_cli("check", "m.py", cwd=tmp_path)
    first, summary, hint = out.strip().splitlines()
    assert first.startswith("m.py:10:9: IL101 [*] [warning] fc1 (Linear): xavier_normal_() assumes gain 1")
    assert summary == "Found 1 finding (1 warning); 1 model checked in 1 file."
    assert hint == "[*] 1 fixable with `initlint check --fix`."
    assert "\x1b[" not in out  # no colour when not a terminal


def test_directory_walk_skips_venvs_caches_and_build_output(tmp_path):
    for skipped in (
        ".git/hooks/m.py",
        "__pycache__/m.py",
        "build/m.py",
        "dist/m.py",
        "venv/lib/m.py",
        "myenv/lib/m.py",
        "pkg/__pycache__/m.py",
    ):
        write(tmp_path, skipped, XAVIER_RELU)
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    write(tmp_path, "pkg/model.py", XAVIER_RELU)
    code, document = run_json(".", cwd=tmp_path)
    assert {f["path"] for f in document["findings"]} == {"pkg/model.py"}


def test_exclude_glob(tmp_path):
    write(tmp_path, "models/a.py", XAVIER_RELU)
    write(tmp_path, "models/legacy/b.py", XAVIER_RELU)
    code, document = run_json(".", "--exclude", "legacy", cwd=tmp_path)
    assert {f["path"] for f in document["findings"]} == {"models/a.py"}
    code, document = run_json(".", "--exclude", "*/a.py", cwd=tmp_path)
    assert {f["path"] for f in document["findings"]} == {"models/legacy/b.py"}


def test_select_and_ignore_by_code_and_prefix(tmp_path):
    write(tmp_path, "m.py", XAVIER_RELU)
    assert run_json("m.py", "--ignore", "IL101", cwd=tmp_path) == (
        0,
        run_json("m.py", "--ignore", "IL1", cwd=tmp_path)[1],
    )
    code, document = run_json("m.py", "--select", "IL2", cwd=tmp_path)
    assert code == 0 and document["findings"] == []
    code, document = run_json("m.py", "--select", "IL1,IL2", cwd=tmp_path)
    assert [f["code"] for f in document["findings"]] == ["IL101"]


def test_unknown_selector_is_usage_error(tmp_path):
    write(tmp_path, "m.py", CLEAN)
    code, _ = run_cli("check", "m.py", "--select", "XX9", cwd=tmp_path)
    assert code == 2


def test_fail_on_and_exit_zero(tmp_path):
    write(tmp_path, "m.py", XAVIER_RELU)
    assert run_cli("check", "m.py", "--fail-on", "error", cwd=tmp_path)[0] == 0
    assert run_cli("check", "m.py", "--fail-on", "info", cwd=tmp_path)[0] == 1
    assert run_cli("check", "m.py", "--exit-zero", cwd=tmp_path)[0] == 0


def test_info_findings_do_not_fail_by_default(tmp_path):
    write(
        tmp_path,
        "m.py",
        """
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return self.fc(x)
""",
    )
    code, document = run_json("m.py", cwd=tmp_path)
    assert [f["code"] for f in document["findings"]] == ["IL908"]
    assert document["findings"][0]["severity"] == "info"
    assert "constructor needs arguments: width" in document["findings"][0]["message"]
    assert document["models"][0]["status"] == "skipped"
    assert code == 0


def test_files_without_model_classes_are_never_imported(tmp_path):
    write(tmp_path, "script.py", "import os\nos._exit(9)\n")
    write(tmp_path, "config.py", "from enum import Enum\nclass Mode(Enum):\n    A = 1\nraise SystemExit(5)\n")
    code, document = run_json(".", cwd=tmp_path)
    assert code == 0 and document["findings"] == [] and document["summary"]["files"] == 2


def test_real_process_exit_codes(tmp_path):
    write(tmp_path, "bad.py", XAVIER_RELU)
    write(tmp_path, "good.py", CLEAN)
    assert run_process("check", "good.py", cwd=tmp_path).returncode == 0
    result = run_process("check", "--format", "json", "bad.py", cwd=tmp_path)
    assert result.returncode == 1 and json.loads(result.stdout)["summary"]["findings"] == 1
    assert run_process("check", "--timeout", "-1", "good.py", cwd=tmp_path).returncode == 2


def test_progress_only_on_a_terminal(tmp_path):
    import os
    import pty
    import subprocess
    import sys

    write(tmp_path, "m.py", CLEAN)
    leader, follower = pty.openpty()
    process = subprocess.run(
        [sys.executable, "-m", "initlint", "check", "--no-cache", "m.py"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=follower,
        timeout=300,
    )
    os.close(follower)
    shown = b""
    try:
        while chunk := os.read(leader, 4096):
            shown += chunk
    except OSError:
        pass
    os.close(leader)
    assert process.returncode == 0
    assert b"[1/1] m.py" in shown
    assert b"[1/1]" not in process.stdout
    piped = run_process("check", "--no-cache", "m.py", cwd=tmp_path)
    assert piped.stderr == ""


def test_analysis_errors_are_reported_whatever_is_selected(tmp_path):
    """As ruff reports syntax errors under any --select: a model that could not be built hides everything."""
    broken = "import torch.nn as nn\n\n\nclass A(nn.Module):\n    def __init__(self):\n        super().__init__()\n        raise RuntimeError('boom')\n"
    (tmp_path / "broken.py").write_text(broken)
    (tmp_path / "syntax.py").write_text("def f(:\n")
    for selection in (["--select", "IL1"], ["--ignore", "IL9"]):
        code, document = run_json("--no-cache", *selection, ".", cwd=tmp_path)
        assert sorted(f["code"] for f in document["findings"]) == ["IL901", "IL903"] and code == 1
    # Info-level analysis notes (IL906, IL908) still follow the selection.
    (tmp_path / "needs.py").write_text(
        "import torch.nn as nn\n\n\nclass B(nn.Module):\n    def __init__(self, width):\n        super().__init__()\n"
    )
    _, document = run_json("--no-cache", "--ignore", "IL908", "needs.py", cwd=tmp_path)
    assert document["findings"] == []


def test_output_format_is_ruffs_name_for_format(tmp_path):
    (tmp_path / "syntax.py").write_text("def f(:\n")
    code, out = run_cli("check", "--no-cache", "--output-format", "json", "syntax.py", cwd=tmp_path)
    assert code == 1 and json.loads(out)["findings"][0]["code"] == "IL901"


def test_the_package_ships_its_type_information():
    import initlint

    assert (Path(initlint.__file__).parent / "py.typed").is_file()


def test_colour_follows_color_no_color_and_force_color_and_never_reaches_a_file(tmp_path):
    write(tmp_path, "net.py", XAVIER_RELU)
    escape = "\x1b["
    assert escape in run_process("check", "--no-cache", "--color", "always", "net.py", cwd=tmp_path).stdout
    assert escape not in run_process("check", "--no-cache", "net.py", cwd=tmp_path).stdout  # a pipe: auto is off
    forced = dict(os.environ, FORCE_COLOR="1")
    assert escape in run_process("check", "--no-cache", "net.py", cwd=tmp_path, env=forced).stdout
    both = dict(os.environ, FORCE_COLOR="1", NO_COLOR="1")
    assert escape not in run_process("check", "--no-cache", "net.py", cwd=tmp_path, env=both).stdout
    run_process("check", "--no-cache", "--color", "always", "-o", "report.txt", "net.py", cwd=tmp_path)
    text = (tmp_path / "report.txt").read_text()
    assert "IL101" in text and escape not in text


def test_statistics_honour_the_output_format(tmp_path):
    write(tmp_path, "net.py", XAVIER_RELU)
    code, out = run_cli("check", "--no-cache", "--statistics", "--output-format", "json", "net.py", cwd=tmp_path)
    [row] = json.loads(out)
    assert row == {"code": "IL101", "name": "gain-mismatch", "count": 1, "fixable": True, "severities": ["warning"]}
    assert code == 1


def test_stdin_is_checked_from_source_as_the_named_file(tmp_path):
    """What editors send: the unsaved buffer on stdin, its file's name for messages and configuration."""
    write(tmp_path, "pkg/pyproject.toml", '[tool.initlint]\nfail-on = "error"\n')
    result = subprocess.run(
        [sys.executable, "-m", "initlint", "check", "--no-cache", "-", "--stdin-filename", "pkg/models/net.py"],
        input=XAVIER_RELU,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.stdout.startswith("pkg/models/net.py:") and "IL101" in result.stdout
    assert result.returncode == 0  # the named file's pyproject.toml: fail-on = "error"
    assert not (tmp_path / "pkg" / "models").exists()  # nothing is written


def test_stdin_fix_prints_the_fixed_source_and_diff_its_diff(tmp_path):
    """As ruff: `--fix -` writes the fixed buffer to stdout (what remains on stderr), `--diff -` its diff;
    no file is ever written."""
    source = textwrap.dedent(XAVIER_RELU).lstrip("\n")

    def run(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "initlint", "check", "--no-cache", *args, "-", "--stdin-filename", "net.py"]
        return subprocess.run(command, input=source, capture_output=True, text=True, cwd=tmp_path)

    fixed = run("--fix")
    assert fixed.returncode == 0 and fixed.stderr == ""
    assert fixed.stdout == source.replace(
        "nn.init.xavier_normal_(self.fc1.weight)", 'nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")'
    )
    diff = run("--diff")
    assert diff.returncode == 1 and diff.stdout.startswith("--- a/net.py\n+++ b/net.py\n")
    assert '+        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")' in diff.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a cache
