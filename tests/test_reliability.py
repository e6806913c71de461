"""Inputs and events a hostile user or a bad day brings: one clear line each, nothing lost, the rest checked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import XAVIER_RELU, findings_for, run_process, write

FLAGGED = XAVIER_RELU.replace("class Net", "class Flagged")


def without_root_privileges() -> list[str]:
    """A command prefix under which file permissions apply, even when the tests run as root."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def run_unprivileged(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [*without_root_privileges(), sys.executable, "-m", "initlint", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("mode", [[], ["--static"]])
def test_a_deeply_nested_expression_is_one_line_and_the_others_are_checked(tmp_path, mode):
    (tmp_path / "deep.py").write_text("import torch.nn as nn\nX = " + " + ".join(["1"] * 3000) + "\n")
    write(tmp_path, "zz.py", FLAGGED)
    result = run_process("check", "--no-cache", "--format", "json", *mode, ".", cwd=tmp_path)
    document = json.loads(result.stdout)
    [deep] = [f for f in document["findings"] if f["path"] == "deep.py"]
    assert deep["code"] == "IL901" and "nested too deeply" in deep["message"]
    assert findings_for(document, "IL101", "Flagged")
    assert result.returncode == 1 and result.stderr == ""


def test_an_unreadable_directory_and_file_are_reported_and_the_rest_checked(tmp_path):
    write(tmp_path, "locked/m.py", FLAGGED)
    write(tmp_path, "secret.py", FLAGGED)
    write(tmp_path, "zz.py", FLAGGED)
    os.chmod(tmp_path / "locked", 0)
    os.chmod(tmp_path / "secret.py", 0)
    try:
        walked = run_unprivileged("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
        named = run_unprivileged("check", "--no-cache", "--format", "json", "secret.py", "zz.py", cwd=tmp_path)
    finally:
        os.chmod(tmp_path / "locked", 0o755)
        os.chmod(tmp_path / "secret.py", 0o644)
    document = json.loads(walked.stdout)
    problems = {f["path"]: f for f in document["findings"] if f["code"] == "IL901"}
    assert "Permission denied" in problems["locked"]["message"]
    assert "Permission denied" in problems["secret.py"]["message"]
    assert findings_for(document, "IL101", "Flagged")
    assert walked.returncode == 1
    document = json.loads(named.stdout)  # named on the command line: a finding, not a usage error
    assert [f["code"] for f in document["findings"] if f["path"] == "secret.py"] == ["IL901"]
    assert [f["path"] for f in findings_for(document, "IL101")] == ["zz.py"]
    assert named.returncode == 1


@pytest.mark.parametrize("mode", [[], ["--static"]])
def test_a_fifo_named_like_python_is_skipped_with_a_note(tmp_path, mode):
    os.mkfifo(tmp_path / "pipe.py")
    write(tmp_path, "zz.py", FLAGGED)
    for paths in (["."], ["pipe.py", "zz.py"]):
        result = run_process("check", "--no-cache", *mode, *paths, cwd=tmp_path, timeout=120)
        assert result.stderr == "initlint: warning: pipe.py: not a regular file, skipped\n"
        assert "IL101" in result.stdout and result.returncode == 1


def test_setup_and_conftest_are_not_imported_by_a_directory_walk(tmp_path):
    sentinel = tmp_path / "imported"
    tooling = f"open({str(sentinel)!r}, 'a').write(__file__)\nimport torch.nn as nn\nclass M(nn.Module):\n    pass\n"
    write(tmp_path, "setup.py", tooling)
    write(tmp_path, "tests/conftest.py", tooling)
    write(tmp_path, "zz.py", FLAGGED)
    result = run_process("check", "--no-cache", ".", cwd=tmp_path)
    assert not sentinel.exists()
    assert "IL101" in result.stdout and "setup.py" not in result.stdout
    named = run_process("check", "--no-cache", "setup.py", cwd=tmp_path)
    assert sentinel.exists() and named.returncode == 0  # named explicitly: checked


def test_output_into_a_missing_directory_fails_before_analysing(tmp_path):
    sentinel = tmp_path / "imported"
    write(tmp_path, "m.py", f"open({str(sentinel)!r}, 'w')\n" + FLAGGED)
    result = run_process("check", "--no-cache", "-o", "missing/report.txt", "m.py", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "initlint: error: cannot write missing/report.txt: no such directory\n"
    assert not sentinel.exists()


def test_a_deleted_working_directory_is_one_line(tmp_path):
    write(tmp_path, "m.py", FLAGGED)
    gone = tmp_path / "gone"
    gone.mkdir()
    script = (
        f"import os, subprocess, sys; os.chdir({str(gone)!r}); os.rmdir({str(gone)!r}); "
        f"r = subprocess.run([sys.executable, '-m', 'initlint', 'check', {str(tmp_path / 'm.py')!r}], "
        "capture_output=True, text=True); print(r.returncode); print(r.stderr, end='')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent)),
    )
    code, stderr = result.stdout.split("\n", 1)
    assert code == "2" and stderr == "initlint: error: the current directory no longer exists\n"


HANGS = """
import os
import time
import torch.nn as nn


class Hangs(nn.Module):
    def __init__(self):
        super().__init__()
        open("started", "w").write(str(os.getpid()))
        while True:
            time.sleep(0.1)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupts_exit_distinctly_and_leave_no_worker_or_temporary_file(tmp_path, sig, code):
    write(tmp_path, "hangs.py", HANGS)
    write(tmp_path, "m.py", FLAGGED)
    process = subprocess.Popen(
        [sys.executable, "-m", "initlint", "check", "--timeout", "600", "--fix", "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    worker = int((tmp_path / "started").read_text())
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code
    assert stderr.strip() == "initlint: interrupted"
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)
    assert not [p.name for p in tmp_path.rglob("*.tmp")]


def test_help_says_the_default_mode_runs_the_checked_code():
    result = run_process("check", "--help")
    text = " ".join(result.stdout.split())
    assert "imports the files and runs their models' constructors" in text and "--static" in text


LONG_STACK = """
import torch.nn as nn


class Long(nn.Module):
    def __init__(self, depth=5000):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(8, 8), nn.ReLU()]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)
"""


def test_judging_a_long_chain_respects_the_timeout(tmp_path):
    """A 5000-layer stack is judged (linear rules); judging is bounded by --timeout like building is."""
    write(tmp_path, "long.py", LONG_STACK)
    result = run_process("check", "--format", "json", "long.py", cwd=tmp_path)
    document = json.loads(result.stdout)
    [finding] = document["findings"]
    assert finding["code"] == "IL102" and len(finding["layers"]) == 5000
    assert "over this unnormalized chain of 5000 layers" in finding["message"]
    # Cached facts, a tiny timeout: only the judging in this process can run out of time.
    result = run_process("check", "--format", "json", "--timeout", "0.1", "long.py", cwd=tmp_path)
    codes = [f["code"] for f in json.loads(result.stdout)["findings"]]
    assert "IL904" in codes
    [timeout] = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "IL904"]
    assert "judging Long timed out" in timeout["message"]
