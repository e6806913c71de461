"""The labelled set of benchmarks/labelled.py, pinned: every correct model quiet, every mutant caught."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from conftest import REPO, run_json

_SPEC = importlib.util.spec_from_file_location("labelled", REPO / "benchmarks" / "labelled.py")
assert _SPEC is not None and _SPEC.loader is not None
labelled = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(labelled)


@pytest.fixture(scope="module")
def loud(tmp_path_factory) -> dict[str, set[str]]:
    """Each case's codes at warning or above."""
    folder: Path = tmp_path_factory.mktemp("labelled")
    for name, (_, source) in labelled.CASES.items():
        (folder / f"{name.replace('-', '_')}.py").write_text(labelled.HEADER + source)
    _, document = run_json("--no-cache", ".", cwd=folder)
    found: dict[str, set[str]] = {}
    for f in document["findings"]:
        if f["severity"] in ("warning", "error"):
            found.setdefault(Path(f["path"]).stem.replace("_", "-"), set()).add(f["code"])
    return found


@pytest.mark.parametrize("name", [n for n, (label, _) in labelled.CASES.items() if label == "ok"])
def test_a_correct_model_is_quiet(loud, name):
    assert loud.get(name, set()) == set()


@pytest.mark.parametrize("name", [n for n, (label, _) in labelled.CASES.items() if label != "ok"])
def test_a_single_bug_is_caught_by_its_rule(loud, name):
    label, _ = labelled.CASES[name]
    assert loud.get(name, set()) & set(label), f"{name}: expected one of {label}, got {loud.get(name)}"
