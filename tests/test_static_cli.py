"""--static through the CLI, and the automatic fallback for files that cannot be imported."""

from __future__ import annotations

import json
import os

from conftest import findings_for, line_of, run_json, run_process, write

MODEL = """
import torch
import torch.nn as nn
{extra}

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""


def test_static_mode_never_imports_torch(tmp_path):
    write(tmp_path, "m.py", MODEL.format(extra=""))
    write(tmp_path, "fake/torch/__init__.py", "raise ImportError('torch must not be imported by --static')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "fake")}
    result = run_process("check", "--static", "--format", "json", "m.py", cwd=tmp_path, env=env)
    document = json.loads(result.stdout)
    assert result.returncode == 1 and result.stderr == ""
    line = line_of(tmp_path / "m.py", "xavier_normal_")
    assert [(f["code"], f["line"], f["column"]) for f in document["findings"]] == [("IL101", line, 9)]
    assert [(m["model"], m["status"]) for m in document["models"]] == [("Net", "static")]


def test_static_and_full_mode_agree_on_a_clear_mistake(tmp_path):
    write(tmp_path, "m.py", MODEL.format(extra=""))
    _, full = run_json("m.py", cwd=tmp_path)
    _, static = run_json("--static", "m.py", cwd=tmp_path)
    keys = ("code", "line", "column", "layer", "severity", "expected_std", "actual_std")
    assert [{k: f[k] for k in keys} for f in static["findings"]] == [{k: f[k] for k in keys} for f in full["findings"]]


def test_missing_dependency_falls_back_to_static(tmp_path):
    write(tmp_path, "m.py", MODEL.format(extra="import some_missing_dependency_xyz\n"))
    code, document = run_json("m.py", cwd=tmp_path)
    assert code == 1
    assert [m["status"] for m in document["models"]] == ["static"]
    assert "some_missing_dependency_xyz" in document["models"][0]["detail"]
    [fallback] = findings_for(document, "IL909")
    assert fallback["severity"] == "warning" and "analysed from source" in fallback["message"]
    assert findings_for(document, "IL101")  # the mistake is still found
