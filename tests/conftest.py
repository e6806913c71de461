"""Shared helpers: write model sources to disk, import them, run the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from initlint.cli import main
from initlint.shared.positions import lines_with_breaks

REPO = Path(__file__).resolve().parent.parent

# CI runs the property tests on a fixed sequence of examples (reproducible: a red CI
# is about the change); developers' runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# The classic mistake: Xavier (gain 1) on a layer that feeds a ReLU. IL101 on line 10.
XAVIER_RELU = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""


# A model whose constructor needs an argument (a `[tool.initlint] models` entry gives it), Xavier before ReLU.
DEEP_WITH_ARGUMENTS = """
import torch.nn as nn


class Deep(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)
        nn.init.xavier_normal_(self.fc1.weight)
        nn.init.xavier_normal_(self.fc2.weight)

    def forward(self, x):
        return self.fc2(nn.functional.relu(self.fc1(x)))
"""


def write(directory: Path, name: str, source: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip("\n"))
    return path


def line_of(path: Path, fragment: str) -> int:
    """1-based line of the first line containing ``fragment`` (lines as Python counts them)."""
    for number, text in enumerate(lines_with_breaks(path.read_bytes().decode("utf-8")), start=1):
        if fragment in text:
            return number
    raise AssertionError(f"{fragment!r} not in {path}")


def run_cli(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Run `initlint` in this process (fast); returns (exit code, stdout)."""
    runner = CliRunner()
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = runner.invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.output


def run_json(*args: str, cwd: Path | None = None) -> tuple[int, dict]:
    code, out = run_cli("check", "--format", "json", *args, cwd=cwd)
    return code, json.loads(out)


def run_process(
    *args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run `python -m initlint` as a real subprocess: exit codes, stdout and stderr as users see them."""
    return subprocess.run(
        [sys.executable, "-m", "initlint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


MODES = {"full": (), "static": ("--static",)}  # each mode's flags


def reports_by_mode(path: Path) -> dict[str, dict]:
    """The JSON report of ``path`` in each mode, uncached."""
    return {mode: run_json("--no-cache", *flags, str(path))[1] for mode, flags in MODES.items()}


# The layer-row fields both modes compute (measured RMS is the default mode's alone): the parity tests'.
PARITY_FIELDS = ("layer", "layer_type", "activation", "init", "actual_std", "expected_std")


def parity_rows(document: dict) -> dict[str, dict[str, tuple]]:
    """Each model's layer rows, by layer name: the fields both modes compute."""
    return layer_rows(document, PARITY_FIELDS)


def layer_rows(document: dict, fields: tuple[str, ...]) -> dict[str, dict[str, tuple]]:
    """Each model's ``models[].layers`` rows of a JSON report, by layer name: the ``fields`` of each."""
    return {
        model["model"]: {row["layer"]: tuple(row[key] for key in fields) for row in model["layers"]}
        for model in document["models"]
    }


def findings_for(document: dict, code: str | None = None, model: str | None = None) -> list[dict]:
    return [
        f
        for f in document["findings"]
        if (code is None or f["code"] == code) and (model is None or f["model"] == model)
    ]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path
