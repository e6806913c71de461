"""Real-world models: no false alarms as shipped, the right finding on the right line when broken."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import findings_for, line_of, run_json, write

MODELS = Path(__file__).parent / "models"
FAMOUS = [
    "ResNet",
    "MobileNetV2",
    "Generator",
    "Discriminator",
    "LSTMLanguageModel",
    "SeluNet",
    "HeDeepMLP",
    "bert",
    "gpt2",
    "llama",
    "vit",
    "t5",
]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    directory = tmp_path_factory.mktemp("real")
    for name in (
        "resnet.py",
        "mobilenet.py",
        "dcgan.py",
        "lstm_lm.py",
        "selu_net.py",
        "mlps.py",
        "transformers_models.py",
    ):
        shutil.copy(MODELS / name, directory / name)
    return run_json(str(directory))[1]


@pytest.mark.parametrize("model", FAMOUS)
def test_no_error_or_warning_as_shipped(shipped, model):
    [entry] = [m for m in shipped["models"] if m["model"] == model]
    assert entry["status"] in ("traced", "partial") and entry["layers"], "silence about a model not analysed"
    serious = [f for f in findings_for(shipped, model=model) if f["severity"] in ("error", "warning")]
    assert serious == [], serious[0]["message"] if serious else ""


@pytest.mark.parametrize("model", FAMOUS)
def test_traced_or_partial_with_layers_listed(shipped, model):
    [entry] = [m for m in shipped["models"] if m["model"] == model]
    assert entry["status"] in ("traced", "partial")
    assert entry["layers"], "every weight layer is listed"
    paired = [row for row in entry["layers"] if row["activation"] is not None]
    assert paired, "at least one layer is paired with its activation"
    for row in entry["layers"]:
        assert set(row) == {
            "layer",
            "layer_type",
            "activation",
            "upstream",
            "norm_between",
            "init",
            "actual_std",
            "expected_std",
            "predicted_rms",
            "measured_rms",
        }


def layers_of(document, model):
    [entry] = [m for m in document["models"] if m["model"] == model]
    return {row["layer"]: row for row in entry["layers"]}


def test_transformer_layers_are_paired_with_their_activations(shipped):
    bert = layers_of(shipped, "bert")
    assert bert["encoder.layer.0.intermediate.dense"]["activation"] == "GELUActivation"
    assert bert["encoder.layer.0.attention.output.dense"]["norm_between"] is True
    assert bert["pooler.dense"]["activation"] == "nn.Tanh"
    assert bert["encoder.layer.0.intermediate.dense"]["init"] == "normal_(std=0.02) (set by transformers' init)"
    llama = layers_of(shipped, "llama")
    assert llama["model.layers.0.mlp.gate_proj"]["activation"] == "SiLUActivation"
    gpt2 = layers_of(shipped, "gpt2")
    assert gpt2["transformer.h.0.mlp.c_fc"]["layer_type"] == "Conv1D"
    assert gpt2["transformer.h.0.mlp.c_fc"]["activation"] == "NewGELUActivation"
    t5 = layers_of(shipped, "t5")
    assert t5["encoder.block.0.layer.1.DenseReluDense.wi"]["activation"] == "nn.ReLU"


def test_library_init_is_attributed_to_the_user_line(shipped):
    found = findings_for(shipped, "IL201", "bert")
    assert found and "(set by transformers' init)" in found[0]["message"]
    assert found[0]["line"] == line_of(MODELS / "transformers_models.py", "return BertModel(")


TRANSFORMERS = ["bert", "gpt2", "llama", "vit", "t5"]


@pytest.fixture(scope="module")
def on_meta(tmp_path_factory):
    directory = tmp_path_factory.mktemp("meta")
    shutil.copy(MODELS / "transformers_models.py", directory / "transformers_models.py")
    return run_json("--device", "meta", "transformers_models.py", cwd=directory)[1]


@pytest.mark.parametrize("model", TRANSFORMERS)
def test_library_init_is_reported_on_the_meta_device(shipped, on_meta, model):
    """Parameters on meta hold no values: transformers' ``_init_weights`` must still be seen (or run
    analytically), so every layer reports the same init and std as when it is built on the CPU."""
    [entry] = [m for m in on_meta["models"] if m["model"] == model]
    assert entry["status"] in ("traced", "partial") and "built on the meta device (--device meta)" in entry["detail"]
    meta, cpu = layers_of(on_meta, model), layers_of(shipped, model)
    assert meta.keys() == cpu.keys()
    assert {name: row["init"] for name, row in meta.items()} == {name: row["init"] for name, row in cpu.items()}
    assert any("(set by transformers' init)" in row["init"] for row in meta.values())
    for name, row in meta.items():
        assert row["actual_std"] == pytest.approx(cpu[name]["actual_std"], rel=0.05), name

    def judged(document):
        return [
            (f["code"], f["line"], f["layers"]) for f in findings_for(document, model=model) if f["code"] != "IL906"
        ]

    assert judged(on_meta) == judged(shipped)


def test_recurrent_and_depthwise_hints_are_info(shipped):
    codes = {f["code"]: f["severity"] for f in findings_for(shipped, model="LSTMLanguageModel")}
    assert codes == {"IL311": "info", "IL312": "info"}
    [quirk] = findings_for(shipped, "IL202", "MobileNetV2")
    assert quirk["severity"] == "info"  # a BatchNorm follows each depthwise conv
    assert "groups=" in quirk["message"] and "true fans" in quirk["message"]


BROKEN = """
import torch
import torch.nn as nn

from resnet import ResNet
from transformers_models import bert, gpt2


class XavierStemResNet(ResNet):
    def __init__(self):
        super().__init__(layers=(1, 1, 1, 1))
        nn.init.xavier_uniform_(self.conv1.weight)


class TinyStdDeepMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(256, 256) for _ in range(10)])
        for layer in self.layers:
            nn.init.normal_(layer.weight, 0, 0.01)

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


class ReluGainTanhMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(128, 128)
        self.out = nn.Linear(128, 10)
        nn.init.kaiming_normal_(self.hidden.weight, nonlinearity="relu")

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


def bert_relu_gain():
    model = bert()
    for layer in model.encoder.layer:
        nn.init.kaiming_normal_(layer.intermediate.dense.weight, nonlinearity="relu")
    nn.init.kaiming_normal_(model.pooler.dense.weight, nonlinearity="relu")
    return model


def gpt2_kaiming_conv1d():
    model = gpt2()
    nn.init.kaiming_normal_(model.transformer.h[0].mlp.c_fc.weight, nonlinearity="relu")
    return model
"""


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    directory = tmp_path_factory.mktemp("broken")
    for name in ("resnet.py", "transformers_models.py"):
        shutil.copy(MODELS / name, directory / name)
    path = write(directory, "broken.py", BROKEN)
    return path, run_json("broken.py", cwd=directory)[1]


def test_a_xavier_stem_whose_std_is_torchvisions_is_quiet(broken):
    path, document = broken
    # Xavier averages the stem's fans (3*7*7 = 147 in, 64*7*7 = 3136 out): std sqrt(2 / 3283) = 0.0247,
    # within 10% of the fan_out He std torchvision itself uses, sqrt(2 / 3136) = 0.0253. The gain is
    # not ReLU's but the std is right (and a BatchNorm follows): not a finding.
    assert findings_for(document, "IL101", "XavierStemResNet") == []
    [row] = [
        r for m in document["models"] if m["model"] == "XavierStemResNet" for r in m["layers"] if r["layer"] == "conv1"
    ]
    assert row["actual_std"] == pytest.approx((2 / (147 + 3136)) ** 0.5, rel=1e-3)


def test_tiny_std_in_a_deep_relu_chain_is_an_error(broken):
    path, document = broken
    [f] = findings_for(document, "IL201", "TinyStdDeepMLP")
    assert f["severity"] == "error"
    assert f["line"] == line_of(path, "nn.init.normal_(layer.weight, 0, 0.01)")
    # the last layer's output is the model's: a small final layer is a convention, not flagged
    assert f["layers"] == [f"layers.{i}" for i in range(9)]
    assert "over this unnormalized chain of 10 layers" in f["message"]


def test_relu_gain_before_tanh_is_flagged(broken):
    path, document = broken
    [f] = findings_for(document, "IL101", "ReluGainTanhMLP")
    assert (f["layer"], f["activation"], f["severity"]) == ("hidden", "torch.tanh", "warning")
    assert f["line"] == line_of(path, 'kaiming_normal_(self.hidden.weight, nonlinearity="relu")')


def test_relu_gain_before_gelu_and_on_the_final_pooler_is_not_material(broken):
    _, document = broken
    # GELU has no stable gain (info at most, and He-ReLU is the usual choice); the pooler is the model's
    # last layer: its tanh output is judged as an output, where He-ReLU's std is 1.41x the gain-1 one,
    # within the 1.5x a final projection may be off (ReluGainTanhMLP covers a hidden layer before tanh).
    assert findings_for(document, "IL101", "bert_relu_gain") == []
    [bert] = [m for m in document["models"] if m["model"] == "bert_relu_gain"]
    [pooler] = [r for r in bert["layers"] if r["layer"] == "pooler.dense"]
    assert pooler["actual_std"] / pooler["expected_std"] == pytest.approx(2**0.5, rel=1e-3)


def test_kaiming_on_conv1d_uses_swapped_fans(broken):
    path, document = broken
    [f] = findings_for(document, "IL202", "gpt2_kaiming_conv1d")
    assert f["layer"] == "transformer.h.0.mlp.c_fc"
    assert "(in, out)" in f["message"]
    assert f["line"] == line_of(path, "mlp.c_fc.weight")


def test_data_dependent_branch_pairs_both_sides(tmp_path):
    write(
        tmp_path,
        "branchy.py",
        """
import torch
import torch.nn as nn


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 16)
        self.b = nn.Linear(16, 16)
        self.c = nn.Linear(16, 16)
        nn.init.xavier_normal_(self.a.weight)

    def forward(self, x):
        if x.sum() > 0:
            return self.b(torch.relu(self.a(x)))
        return self.c(torch.tanh(self.a(x)))
""",
    )
    _, document = run_json("branchy.py", cwd=tmp_path)
    [model] = document["models"]
    assert model["status"] == "partial" and "control flow" in model["detail"]
    rows = {row["layer"]: row for row in model["layers"]}
    assert rows["b"]["upstream"] == "torch.relu" and rows["c"]["upstream"] == "torch.tanh"
    assert rows["a"]["activation"] is None  # the two sides disagree: no one activation to list...
    [finding] = findings_for(document, "IL101")  # ...but each side is judged: Xavier fits neither
    assert finding["layers"] == ["a"] and finding["line"] == 11
    assert finding["fix"] is None
    assert "a is called before torch.relu and torch.tanh: no single init fits every call" in finding["message"]


def test_factory_functions_are_models(tmp_path):
    write(
        tmp_path,
        "zoo.py",
        """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(64, width)
        self.fc2 = nn.Linear(width, 10)
        nn.init.xavier_uniform_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def net_small():
    return Net(width=32)


def main():
    raise SystemExit("never called")
""",
    )
    code, document = run_json("zoo.py", cwd=tmp_path)
    statuses = {m["model"]: m["status"] for m in document["models"]}
    assert statuses == {"Net": "skipped", "net_small": "traced"}
    assert [f["model"] for f in findings_for(document, "IL101")] == ["net_small"]
    assert code == 1


def test_configured_entry_with_kwargs(tmp_path):
    write(
        tmp_path,
        "pyproject.toml",
        """
[project]
name = "demo"

[tool.initlint]
models = [{ entry = "pkg.nets:Net", kwargs = { width = 48 } }]
""",
    )
    write(tmp_path, "pkg/__init__.py", "")
    write(
        tmp_path,
        "pkg/nets.py",
        """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(64, width)
        self.fc2 = nn.Linear(width, 10)
        self.fc1.weight.data.normal_(0, 0.01)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
    )
    code, document = run_json("pkg", cwd=tmp_path)
    assert [(m["model"], m["status"]) for m in document["models"]] == [("Net(width=48)", "traced")]
    [f] = findings_for(document, "IL201")
    assert f["model"] == "Net(width=48)" and f["path"] == "pkg/nets.py"
    rows = layers_of(document, "Net(width=48)")
    assert rows["fc1"]["expected_std"] == pytest.approx((2 / 64) ** 0.5, rel=1e-4)


def test_configured_entry_that_does_not_exist_is_reported(tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.initlint]\nmodels = ["nowhere.mod:Net"]\n')
    code, document = run_json(".", cwd=tmp_path)
    assert code == 1
    [f] = document["findings"]
    assert f["code"] == "IL902" and "nowhere.mod" in f["message"]
