"""Jupyter notebooks are checked like Python files: cells found, placed, fixed in place, never trained.

Notebooks are written by ``nbformat`` (what Jupyter writes) and one by hand
(``notebooks/handwritten.ipynb``: indent 2, keys in another order, a markdown
and a raw cell, magics, shell escapes, outputs, a source given as one string).
Expected places are found in the cells' own text, never through initlint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import run_cli, run_json
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from initlint.api import check_paths
from initlint.fix.apply import prepare
from initlint.notebook import parse_notebook
from initlint.options import Options

HANDWRITTEN = Path(__file__).resolve().parent / "notebooks" / "handwritten.ipynb"

IMPORTS = """%matplotlib inline
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
!nvidia-smi"""

XAVIER = """class XavierNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)
        nn.init.xavier_uniform_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))"""

DEEP_SMALL = """class DeepNet(nn.Module):
    def __init__(self):
        super().__init__()
        layers = []
        for _ in range(6):
            layers += [nn.Linear(256, 256), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(256, 10)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)

    def forward(self, x):
        return self.head(self.body(x))"""

CUSTOM_INIT = """def custom_init(m):
    if isinstance(m, nn.Linear):
        std = 1 / math.sqrt(m.in_features)
        nn.init.normal_(m.weight, 0, std)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(512, 512)
        self.fc2 = nn.Linear(512, 512)
        self.fc3 = nn.Linear(512, 10)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))"""

BUILD = """mlp = MLP()
mlp.apply(custom_init)
optimizer = torch.optim.SGD(mlp.parameters(), lr=0.1)"""

# The last cell trains: it must never run during a check (it would leave TRAINED behind).
TRAIN = """for step in range(3):
    optimizer.zero_grad()
    mlp(torch.randn(4, 512)).sum().backward()
    optimizer.step()
    open("TRAINED", "w").write(str(step))"""

CELLS = [new_markdown_cell("# Classic mistakes")] + [
    new_code_cell(source) for source in (IMPORTS, XAVIER, DEEP_SMALL, CUSTOM_INIT, BUILD, TRAIN)
]


def write_notebook(path: Path, cells: list) -> Path:
    nbformat.write(new_notebook(cells=cells), str(path))
    return path


def place(cells: list, fragment: str) -> tuple[int, int]:
    """(cell number among all cells, line within it) of the first cell line holding ``fragment``."""
    for number, cell in enumerate(cells, start=1):
        for line, text in enumerate(cell.source.split("\n"), start=1):
            if fragment in text:
                return number, line
    raise AssertionError(fragment)


@pytest.fixture
def classic(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "classic.ipynb", CELLS)


def located(document: dict) -> list[tuple[str, int | None, int]]:
    return sorted((f["code"], f["cell"], f["line"]) for f in document["findings"])


EXPECTED = sorted(
    [
        ("IL101", *place(CELLS, "nn.init.xavier_uniform_")),
        ("IL201", *place(CELLS, "nn.init.normal_(m.weight, 0, 0.01)")),
        ("IL201", *place(CELLS, "nn.init.normal_(m.weight, 0, std)")),
    ]
)


@pytest.mark.parametrize("mode", ["full", "static"])
def test_classic_mistakes_are_found_on_their_cells_and_lines(classic, mode):
    flags = ["--static"] if mode == "static" else []
    code, document = run_json("--no-cache", *flags, "classic.ipynb", cwd=classic.parent)
    assert code == 1
    assert located(document) == EXPECTED
    assert EXPECTED[0][1:] == (3, 6)  # the oracle itself: the markdown cell counts, as ruff counts it
    xavier = next(f for f in document["findings"] if f["code"] == "IL101")
    assert (xavier["column"], xavier["end_line"]) == (9, 6)
    assert [(e["cell"], e["line"]) for e in xavier["fix"]["edits"]] == [(3, 6)]
    _, text = run_cli("check", "--no-cache", *flags, "classic.ipynb", cwd=classic.parent)
    assert "classic.ipynb:cell 3:6:9: IL101 [*] [warning]" in text


def test_the_training_cell_never_runs_and_models_are_built_as_the_cells_build_them(classic):
    code, document = run_json("--no-cache", "classic.ipynb", cwd=classic.parent)
    assert code == 1
    assert not (classic.parent / "TRAINED").exists()
    cell, line = place(CELLS, "mlp = MLP()")
    built_by = {m["model"]: m["built_by"] for m in document["models"]}
    assert built_by["MLP"] == f"call-site classic.ipynb:cell {cell}:{line}"
    # The MLP's finding is the init the cells applied after construction (mlp.apply(custom_init)).
    assert ("IL201", *place(CELLS, "nn.init.normal_(m.weight, 0, std)")) in located(document)


def test_directories_are_walked_for_notebooks_and_excludes_apply(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "old").mkdir()
    (tmp_path / "src" / ".ipynb_checkpoints").mkdir()
    write_notebook(tmp_path / "src" / "kept.ipynb", CELLS[:3])
    write_notebook(tmp_path / "src" / ".ipynb_checkpoints" / "kept-checkpoint.ipynb", CELLS[:3])  # Jupyter's copy
    write_notebook(tmp_path / "old" / "legacy.ipynb", CELLS[:3])
    code, document = run_json("--no-cache", "--static", "--exclude", "old", ".", cwd=tmp_path)
    assert code == 1
    assert {f["path"] for f in document["findings"]} == {"src/kept.ipynb"}
    assert document["summary"]["files"] == 1


def test_a_python_file_has_no_cell(tmp_path):
    (tmp_path / "net.py").write_text(IMPORTS.replace("%matplotlib inline\n", "").replace("!nvidia-smi", "") + XAVIER)
    code, document = run_json("--no-cache", "--static", "net.py", cwd=tmp_path)
    assert code == 1
    [finding] = document["findings"]
    assert finding["cell"] is None and finding["fix"]["edits"][0]["cell"] is None
    assert finding["line"] == 10  # 4 import lines, then the class's sixth line


@pytest.mark.parametrize("mode", ["full", "static"])
def test_fix_edits_only_the_cells_sources_and_a_second_fix_changes_nothing(classic, mode):
    flags = ["--static"] if mode == "static" else []
    before = classic.read_bytes()
    code, _ = run_cli("check", "--no-cache", *flags, "--fix", "--unsafe-fixes", "classic.ipynb", cwd=classic.parent)
    assert code == 0
    after = classic.read_bytes()
    code, document = run_json("--no-cache", *flags, "classic.ipynb", cwd=classic.parent)
    assert (code, document["findings"]) == (0, [])
    old, new = json.loads(before), json.loads(after)
    edited = [i for i, (o, n) in enumerate(zip(old["cells"], new["cells"], strict=True)) if o["source"] != n["source"]]
    assert [i + 1 for i in edited] == sorted({cell for _, cell, _ in EXPECTED})
    for i in edited:
        new["cells"][i]["source"] = old["cells"][i]["source"]
    assert new == old  # outputs, metadata, other cells: as they were
    # Byte for byte outside the edited lines: nbformat writes a source line per line of the file.
    old_lines, new_lines = before.decode().split("\n"), after.decode().split("\n")
    assert len(old_lines) == len(new_lines)
    changed = [(o, n) for o, n in zip(old_lines, new_lines, strict=True) if o != n]
    assert len(changed) == 3
    assert all(isinstance(json.loads(text.strip().rstrip(",")), str) for pair in changed for text in pair)
    nbformat.validate(nbformat.reads(after.decode(), as_version=4))
    assert not (classic.parent / "TRAINED").exists()
    code, _ = run_cli("check", "--no-cache", *flags, "--fix", "--unsafe-fixes", "classic.ipynb", cwd=classic.parent)
    assert code == 0 and classic.read_bytes() == after


def test_handwritten_notebook_is_read_with_its_magics_and_fixed_in_its_own_layout(tmp_path):
    notebook = tmp_path / "handwritten.ipynb"
    shutil.copy(HANDWRITTEN, notebook)
    original = notebook.read_text(encoding="utf-8")
    cells = json.loads(original)["cells"]
    model_cell = next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith("class DeepDefault")) + 1
    source = "".join(cells[model_cell - 1]["source"]).split("\n")
    expected = sorted(
        ("IL102", model_cell, n)
        for n, text in enumerate(source, 1)
        if "self.head =" in text or "layers += [nn.Linear" in text
    )
    for flags in ([], ["--static"]):
        code, document = run_json("--no-cache", *flags, "handwritten.ipynb", cwd=tmp_path)
        assert code == 1 and located(document) == expected, flags
    assert expected == [("IL102", 4, 7), ("IL102", 4, 10)]
    code, diff = run_cli(
        "check", "--no-cache", "--static", "--diff", "--unsafe-fixes", "handwritten.ipynb", cwd=tmp_path
    )
    assert code == 1 and notebook.read_text(encoding="utf-8") == original  # --diff writes nothing
    assert '+        "                nn.init.kaiming_normal_(module.weight, nonlinearity=\\"relu\\")"' in diff
    code, _ = run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", "handwritten.ipynb", cwd=tmp_path)
    assert code == 0
    fixed = notebook.read_text(encoding="utf-8")
    # Everything before the model cell's first source line and after its last is byte for byte the same.
    start = original.index('"class DeepDefault(nn.Module):\\n"')
    end = original.index('"        self.body = nn.Sequential(*layers)"') + len(
        '"        self.body = nn.Sequential(*layers)"'
    )
    assert fixed[:start] == original[:start]
    assert fixed.endswith(original[end:])
    new_source = json.loads(fixed)["cells"][model_cell - 1]["source"]
    assert isinstance(new_source, list) and not new_source[-1].endswith("\n")  # nbformat's convention, kept
    assert "nn.init.kaiming_normal_(module.weight" in new_source[-1]  # inserted after the cell's last line
    assert run_json("--no-cache", "--static", "handwritten.ipynb", cwd=tmp_path)[0] == 0


def test_magics_and_shell_escapes_are_blank_lines_and_every_line_maps_back():
    notebook = parse_notebook(HANDWRITTEN.read_text(encoding="utf-8"))
    raw = json.loads(HANDWRITTEN.read_text(encoding="utf-8"))["cells"]
    assert [c.number for c in notebook.cells] == [i + 1 for i, c in enumerate(raw) if c["cell_type"] == "code"]
    source = notebook.source.split("\n")
    for virtual, text in enumerate(source[:-1], start=1):
        cell, line = notebook.in_cell(virtual)
        written = "".join(raw[cell.number - 1]["source"]).split("\n")[line - 1]
        if cell.text.startswith("%%"):
            continue  # below
        assert text == written or (text == "" and written.lstrip().startswith(("%", "!", "files = !"))), virtual
    timing = next(c for c in notebook.cells if c.text.startswith("%%time"))
    assert timing.python.strip() == "" and timing.line_count == 3  # a cell magic's body is not Python
    assert notebook.in_cell(len(source)) is None  # past the last cell


def test_noqa_in_a_cell_silences_its_finding(tmp_path):
    silenced = XAVIER.replace(
        "nn.init.xavier_uniform_(self.fc1.weight)", "nn.init.xavier_uniform_(self.fc1.weight)  # noqa: IL101"
    )
    write_notebook(tmp_path / "quiet.ipynb", [new_code_cell(IMPORTS), new_code_cell(silenced)])
    for flags in ([], ["--static"]):
        code, document = run_json("--no-cache", *flags, "quiet.ipynb", cwd=tmp_path)
        assert (code, document["findings"]) == (0, []), flags


def test_a_cell_python_cannot_parse_is_il901_naming_the_cell(tmp_path):
    cells = [new_markdown_cell("notes"), new_code_cell(IMPORTS), new_code_cell("def broken(:\n    pass")]
    write_notebook(tmp_path / "broken.ipynb", cells)
    for flags in ([], ["--static"]):
        code, text = run_cli("check", "--no-cache", *flags, "broken.ipynb", cwd=tmp_path)
        assert code == 1
        assert "broken.ipynb:cell 3:1:12: IL901 [error] syntax error in cell 3: invalid syntax" in text, flags


def test_a_file_that_is_not_a_notebook_is_il901(tmp_path):
    (tmp_path / "truncated.ipynb").write_text('{"cells": [')
    code, text = run_cli("check", "--no-cache", "--static", "truncated.ipynb", cwd=tmp_path)
    assert code == 1 and "truncated.ipynb:1:1: IL901 [error] cannot read the notebook: not valid JSON" in text


def test_sarif_and_github_say_which_cell(classic):
    _, sarif = run_cli("check", "--no-cache", "--static", "--format", "sarif", "classic.ipynb", cwd=classic.parent)
    results = json.loads(sarif)["runs"][0]["results"]
    xavier = next(r for r in results if r["ruleId"] == "IL101")
    assert xavier["properties"]["cell"] == 3
    assert xavier["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    replacement = xavier["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["properties"] == {"cell": 3} and replacement["deletedRegion"]["startLine"] == 6
    _, github = run_cli("check", "--no-cache", "--static", "--format", "github", "classic.ipynb", cwd=classic.parent)
    [annotation] = [line for line in github.splitlines() if "IL101" in line]
    assert annotation.startswith("::warning file=")
    assert "line=" not in annotation.split("::")[1]  # the JSON file's lines are not the cell's
    assert "title=IL101 gain-mismatch (cell 3%2C line 6)" in annotation


def test_a_notebook_changed_after_analysis_is_never_fixed(classic):
    report = check_paths([str(classic)], Options(static=True))
    fixable = [f for f in report.findings if f.fix is not None]
    assert fixable
    classic.write_text(classic.read_text().replace("# Classic mistakes", "# Edited meanwhile"))
    changes, problems = prepare(fixable, report.digests)
    assert changes == []
    assert [why for _, why in problems] == ["the file changed since it was analysed: run initlint again"]


def test_only_cells_python_cannot_parse_lose_their_ipython_lines(tmp_path):
    formatted = 'message = ("%d layers"\n           % 3)'  # a "%" line continuing an expression: Python, no magic
    looped = "for i in range(2):\n    !echo {i}\nfiles = !ls"
    cells = [new_code_cell(formatted), new_code_cell(looped)]
    path = write_notebook(tmp_path / "ipython.ipynb", cells)
    notebook = parse_notebook(path.read_text())
    assert [c.python for c in notebook.cells] == [formatted, "for i in range(2):\n    pass\n"]
    code, document = run_json("--no-cache", "--static", "ipython.ipynb", cwd=tmp_path)
    assert (code, document["findings"]) == (0, [])
