"""Models initlint could not build are listed with the entry that builds them, and can fail the gate;
a file without a model never fails for an optional package that is not installed."""

from __future__ import annotations

import re

import pytest
from conftest import findings_for, run_cli, run_json, write

DEEP = """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, depth, width=32):
        super().__init__()
        self.body = nn.Sequential(*[nn.Linear(width, width) for _ in range(depth)])

    def forward(self, x):
        return self.body(x)
"""

ENTRY = re.compile(r"\{ entry = .* \}")


def suggested(message: str) -> str:
    match = ENTRY.search(message)
    assert match is not None, message
    return match.group(0).split(" to [tool.initlint]")[0]


@pytest.mark.parametrize("mode", [[], ["--static"]])
@pytest.mark.parametrize(
    ("location", "entry_module"),
    [("nets.py", "nets"), ("pkg/nets/deep.py", "pkg.nets.deep"), ("src/pkg/deep.py", "pkg.deep")],
)
def test_the_suggested_entry_pasted_into_pyproject_builds_the_model(tmp_path, location, entry_module, mode):
    write(tmp_path, location, DEEP)
    write(tmp_path, "pyproject.toml", "[tool.initlint]\nselect = ['ALL']\n")
    code, document = run_json("--no-cache", *mode, location, cwd=tmp_path)
    [finding] = findings_for(document, "IL908")
    entry = suggested(finding["message"])
    assert entry == f'{{ entry = "{entry_module}:Net", kwargs = {{ depth = ... }} }}'
    assert finding["severity"] == "info" and code == 0
    _, text = run_cli("check", "--no-cache", *mode, location, cwd=tmp_path)
    assert f"  {entry},  # {location} Net: constructor needs arguments: depth" in text.splitlines()

    # The user fills the argument in: the model is then built and judged (default init in a ReLU-free
    # 3-layer stack: analysed, no IL908 any more).
    filled = entry.replace("...", "3")
    write(tmp_path, "pyproject.toml", f"[tool.initlint]\nmodels = [{filled}]\n")
    code, document = run_json("--no-cache", location, cwd=tmp_path)
    assert findings_for(document, "IL908") == []
    [built] = [m for m in document["models"] if m["model"] == "Net(depth=3)"]
    assert built["built_by"] == "config" and len(built["layers"]) == 3


def test_require_all_models_makes_an_unbuilt_model_fail_the_gate(tmp_path):
    write(tmp_path, "nets.py", DEEP)
    assert run_cli("check", "--no-cache", "nets.py", cwd=tmp_path)[0] == 0
    code, document = run_json("--no-cache", "--require-all-models", "nets.py", cwd=tmp_path)
    [finding] = findings_for(document, "IL908")
    assert code == 1 and finding["severity"] == "error"
    write(tmp_path, "pyproject.toml", "[tool.initlint]\nrequire-all-models = true\n")
    code, document = run_json("--no-cache", "nets.py", cwd=tmp_path)
    assert code == 1 and findings_for(document, "IL908")[0]["severity"] == "error"


def test_require_all_models_is_true_or_false(tmp_path):
    write(tmp_path, "nets.py", DEEP)
    write(tmp_path, "pyproject.toml", '[tool.initlint]\nrequire-all-models = "yes"\n')
    code, output = run_cli("check", "--no-cache", "nets.py", cwd=tmp_path)
    assert code == 2 and "require-all-models must be true or false" in output


def test_a_building_block_is_not_listed_as_unchecked(tmp_path):
    write(
        tmp_path,
        "nets.py",
        DEEP
        + """

class Wrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = Net(2)

    def forward(self, x):
        return self.net(x)
""",
    )
    code, text = run_cli("check", "--no-cache", "--require-all-models", "nets.py", cwd=tmp_path)
    assert "IL908" not in text and "Not checked" not in text and code == 0


UTILITY = """
import wandb_not_installed
import torch.nn as nn


class Logger:
    def log(self, value):
        wandb_not_installed.log(value)


def make_head():
    return nn.Linear(4, 4)
"""

MODEL_WITH_MISSING_DEPENDENCY = """
import torch.nn as nn
import apex_not_installed


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x)
"""


def test_a_file_without_a_model_never_fails_for_a_missing_optional_package(tmp_path):
    write(tmp_path, "utils.py", UTILITY)
    code, document = run_json("--no-cache", "utils.py", cwd=tmp_path)
    [finding] = document["findings"]
    assert (finding["code"], finding["severity"]) == ("IL909", "info")
    assert "No module named 'wandb_not_installed'" in finding["message"] and "defines no model" in finding["message"]
    assert code == 0
    # A model in a file whose import fails still makes the run not clean: it was only read.
    write(tmp_path, "net.py", MODEL_WITH_MISSING_DEPENDENCY)
    code, document = run_json("--no-cache", "net.py", cwd=tmp_path)
    [finding] = document["findings"]
    assert (finding["code"], finding["severity"]) == ("IL909", "warning") and code == 1
