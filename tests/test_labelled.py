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


MODES = ("full", "static")


def _cases(label_ok: bool) -> list[tuple[str, str]]:
    """(mode, case) pairs; static mode, which runs nothing, has no case only a forward at init catches."""
    return [
        (mode, name)
        for mode in MODES
        for name, (label, _) in labelled.CASES.items()
        if (label == "ok") == label_ok and not (mode == "static" and name in labelled.MEASURED_ONLY)
    ]


@pytest.fixture(scope="module")
def loud(tmp_path_factory) -> dict[str, dict[str, set[str]]]:
    """Each mode's codes at warning or above, by case."""
    folder: Path = tmp_path_factory.mktemp("labelled")
    for name, (_, source) in labelled.CASES.items():
        (folder / f"{name.replace('-', '_')}.py").write_text(labelled.HEADER + source)
    found: dict[str, dict[str, set[str]]] = {}
    for mode in MODES:
        _, document = run_json("--no-cache", *(["--static"] if mode == "static" else []), ".", cwd=folder)
        by_case = found.setdefault(mode, {})
        for f in document["findings"]:
            if f["severity"] in ("warning", "error"):
                by_case.setdefault(Path(f["path"]).stem.replace("_", "-"), set()).add(f["code"])
    return found


@pytest.mark.parametrize(("mode", "name"), _cases(label_ok=True))
def test_a_correct_model_is_quiet(loud, mode, name):
    assert loud[mode].get(name, set()) == set()


@pytest.mark.parametrize(("mode", "name"), _cases(label_ok=False))
def test_a_single_bug_is_caught_by_its_rule(loud, mode, name):
    label, _ = labelled.CASES[name]
    found = loud[mode].get(name, set())
    assert found & set(label), f"{name} ({mode}): expected one of {label}, got {found}"
