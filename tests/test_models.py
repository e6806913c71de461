"""Famous correct models stay clean; the classic mistakes are flagged, through the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import findings_for, line_of, run_json, write

MODELS = Path(__file__).parent / "models"


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("famous")
    for name in ("resnet.py", "selu_net.py", "mlps.py"):
        shutil.copy(MODELS / name, directory / name)
    code, document = run_json(str(directory))
    return code, document


def serious(document, model):
    return [f for f in findings_for(document, model=model) if f["severity"] in ("error", "warning")]


def analysed(document, model) -> dict[str, dict]:
    """The model's layers by name, once it is certain the model was analysed: no findings
    about a model that was skipped, failed or lost its layers prove nothing."""
    [entry] = [m for m in document["models"] if m["model"] == model]
    assert entry["status"] in ("traced", "partial", "static"), entry
    assert entry["layers"], f"{model} lists no layers"
    return {row["layer"]: row for row in entry["layers"]}


def test_resnet_is_clean_and_traced(fixture_report):
    _, document = fixture_report
    assert serious(document, "ResNet") == []
    layers = analysed(document, "ResNet")
    assert layers["conv1"]["init"].startswith("kaiming_normal_") and layers["fc"]["layer_type"] == "Linear"
    statuses = {m["model"]: m["status"] for m in document["models"]}
    assert statuses["ResNet"] == "traced"
    assert statuses["BasicBlock"] == "skipped"  # judged inside ResNet


def test_selu_lecun_is_clean(fixture_report):
    _, document = fixture_report
    assert serious(document, "SeluNet") == []
    assert {row["activation"] for row in analysed(document, "SeluNet").values()} >= {"nn.SELU"}


def test_he_initialised_deep_mlp_is_clean(fixture_report):
    _, document = fixture_report
    assert findings_for(document, model="HeDeepMLP") == []
    layers = analysed(document, "HeDeepMLP")
    assert layers["net.0"]["activation"] == "nn.ReLU" and layers["net.0"]["init"].startswith("kaiming_normal_")


def test_default_deep_relu_mlp_is_flagged_with_depth(fixture_report):
    code, document = fixture_report
    found = findings_for(document, "IL102", "DefaultDeepMLP")
    assert found, "default init in an 8-layer ReLU stack must be flagged"
    assert code == 1
    hidden = next(f for f in found if f["layer"] == "net.0")
    assert "over this unnormalized chain of 8 layers" in hidden["message"]
    assert "shrinks to 1.2e-06" in hidden["message"]
    assert hidden["line"] == line_of(MODELS / "mlps.py", "layers += [nn.Linear")
    assert set(hidden["layers"]) >= {"net.0", "net.2", "net.12"}
    assert hidden["actual_std"] == pytest.approx(1 / (3 * 64) ** 0.5, rel=1e-3)


CLASSIC = """
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class NormalSmall(Base):
    def __init__(self):
        super().__init__()
        nn.init.normal_(self.fc1.weight, std=0.01)


class XavierTanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        nn.init.xavier_uniform_(self.fc1.weight, gain=nn.init.calculate_gain("tanh"))

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


class KaimingRelu(Base):
    def __init__(self):
        super().__init__()
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        nn.init.kaiming_normal_(self.fc2.weight, nonlinearity="relu")


class LeCunRelu(Base):
    def __init__(self):
        super().__init__()
        nn.init.normal_(self.fc1.weight, std=math.sqrt(1.0 / self.fc1.in_features))


class XavierRelu(Base):
    def __init__(self):
        super().__init__()
        nn.init.xavier_normal_(self.fc1.weight)
"""


@pytest.fixture(scope="module")
def classic(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("classic"), "classic.py", CLASSIC)
    return path, run_json(str(path))[1]


def test_normal_001_before_relu_is_flagged(classic):
    path, document = classic
    [f] = findings_for(document, "IL201", "NormalSmall")
    assert (f["layer"], f["activation"], f["severity"]) == ("fc1", "F.relu", "warning")
    assert f["actual_std"] == pytest.approx(0.01)
    assert f["expected_std"] == pytest.approx(0.177, abs=1e-3)
    assert f["line"] == line_of(path, "std=0.01")


def test_xavier_with_tanh_gain_before_tanh_is_clean(classic):
    _, document = classic
    assert findings_for(document, model="XavierTanh") == []
    fc1 = analysed(document, "XavierTanh")["fc1"]
    assert (fc1["activation"], fc1["init"]) == ("torch.tanh", "xavier_uniform_(gain=1.66667)")


def test_kaiming_relu_before_relu_is_clean_including_last_layer(classic):
    _, document = classic
    assert findings_for(document, model="KaimingRelu") == []
    layers = analysed(document, "KaimingRelu")
    assert layers["fc1"]["activation"] == "F.relu" and layers["fc2"]["init"] == "kaiming_normal_(nonlinearity='relu')"


def test_lecun_std_before_relu_is_flagged(classic):
    path, document = classic
    [f] = findings_for(document, "IL201", "LeCunRelu")
    assert f["actual_std"] / f["expected_std"] == pytest.approx(2**-0.5, rel=1e-3)
    assert f["line"] == line_of(path, "math.sqrt(1.0 / self.fc1.in_features)")


def test_xavier_before_relu_is_flagged(classic):
    path, document = classic
    [f] = findings_for(document, "IL101", "XavierRelu")
    assert f["layer"] == "fc1" and f["init"] == "xavier_normal_()"
    assert f["line"] == line_of(path, "nn.init.xavier_normal_(self.fc1.weight)")
    assert f["column"] == 9
