"""The Python API, as users call it from their own tests."""

from __future__ import annotations

import torch
import torch.nn as nn

import initlint


class XavierRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class HeRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def test_check_model_with_a_class():
    findings = initlint.check_model(XavierRelu)
    assert [f.code for f in findings] == ["IL101"]
    assert findings[0].path.endswith("test_api.py")
    assert findings[0].layer == "fc1"


def test_check_model_with_a_factory():
    assert initlint.check_model(lambda: HeRelu()) == []


def test_check_paths_returns_data(tmp_path):
    (tmp_path / "m.py").write_text(
        "import torch.nn as nn\n\nclass M(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc = nn.Linear(2, 2)\n"
    )
    report = initlint.check_paths([str(tmp_path)])
    assert report.files == 1 and [m.model for m in report.models] == ["M"]
