"""The Python API, as users call it from their own tests."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import initlint
from initlint.testing import assert_init_ok


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


def test_check_paths_applies_the_files_configuration_like_the_cli(tmp_path):
    source = "\n".join(
        [
            "import torch, torch.nn as nn",
            "class M(nn.Module):",
            "    def __init__(self):",
            "        super().__init__()",
            "        self.fc1 = nn.Linear(64, 32)",
            "        self.fc2 = nn.Linear(32, 10)",
            "        nn.init.xavier_normal_(self.fc1.weight)",
            "    def forward(self, x):",
            "        return self.fc2(torch.relu(self.fc1(x)))",
            "",
        ]
    )
    (tmp_path / "quiet").mkdir()
    (tmp_path / "quiet" / "pyproject.toml").write_text('[tool.initlint]\nignore = ["IL101"]\n')
    (tmp_path / "quiet" / "m.py").write_text(source)
    (tmp_path / "loud").mkdir()
    (tmp_path / "loud" / "m.py").write_text(source)
    report = initlint.check_paths([str(tmp_path / "quiet"), str(tmp_path / "loud")])
    assert [(f.code, "loud" in f.path) for f in report.findings] == [("IL101", True)]
    given = initlint.check_paths([str(tmp_path / "quiet")], initlint.Options(jobs=1))  # options as given: no file
    assert [f.code for f in given.findings] == ["IL101"]
    overridden = initlint.configured([str(tmp_path)], initlint.Overrides(select=("IL2",)))
    assert initlint.check_paths([str(tmp_path / "loud")], overridden).findings == ()


def test_check_model_on_a_built_model_says_to_pass_the_class():
    with pytest.raises(TypeError, match=r"pass XavierRelu or lambda: XavierRelu\(\.\.\.\)"):
        initlint.check_model(XavierRelu())


def test_assert_init_ok_passes_a_good_model_and_prints_the_findings_of_a_bad_one():
    assert_init_ok(HeRelu)
    assert_init_ok(XavierRelu, ignore=["IL101"])
    with pytest.raises(AssertionError) as failure:
        assert_init_ok(lambda: XavierRelu())
    message = str(failure.value)
    assert message.splitlines()[0].endswith(": 1 initialization finding:")
    assert "test_api.py:" in message and "IL101 [warning]" in message and "fc1" in message


def test_the_public_types_are_exported():
    report = initlint.check_paths([], initlint.Options(jobs=1))
    assert isinstance(report, initlint.Report)
    assert {"Options", "Report", "Finding", "ModelEntry", "LayerRow", "ConfigError"} <= set(initlint.__all__)
