"""The whole output on the shipped examples and the test models, byte for byte, in both modes.

A refactoring must not change a finding, a message, a fix or a model entry.
When a change is meant to, regenerate with ``INITLINT_UPDATE_GOLDEN=1 python -m
pytest tests/test_golden.py`` and review the diff of ``tests/golden/``.
"""

from __future__ import annotations

import os

import pytest
from conftest import REPO, run_process

GOLDEN = REPO / "tests" / "golden"
PATHS = ("examples", "tests/models")


@pytest.mark.parametrize("mode", ["full", "static"])
def test_output_is_unchanged(mode):
    flags = ["--static"] if mode == "static" else []
    result = run_process("check", "--no-cache", "--format", "json", *flags, *PATHS, cwd=REPO)
    assert result.stderr == ""
    expected = GOLDEN / f"{mode}.json"
    if os.environ.get("INITLINT_UPDATE_GOLDEN"):
        expected.write_text(result.stdout)
    assert result.stdout == expected.read_text()
