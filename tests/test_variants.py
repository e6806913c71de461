"""Factories that build the same model are analysed once; the others are reported as its variants."""

from __future__ import annotations

import shutil

from conftest import REPO, findings_for, line_of, run_json, write


def by_name(document: dict) -> dict[str, dict]:
    return {m["model"]: m for m in document["models"]}


def test_a_zoo_variant_is_judged_with_the_factory_it_builds_the_same_as(tmp_path):
    shutil.copytree(REPO / "tests" / "real_repos" / "zoo", tmp_path / "zoo")
    code, document = run_json("--no-cache", "zoo", cwd=tmp_path)
    models = by_name(document)
    # resnet_small_drop passes drop_rate, which this ResNet never stores: the same model as resnet_small.
    assert models["resnet_small_drop"]["status"] == "variant"
    assert "the same model as resnet_small" in models["resnet_small_drop"]["detail"]
    assert models["resnet_small_drop"]["built_by"] == "factory"
    # Other depths and widths are other models, analysed on their own.
    for name in ("resnet_tiny", "resnet_small", "resnet_small_wide"):
        assert models[name]["status"] == "traced"
    [finding] = findings_for(document, "IL101")
    assert finding["line"] == line_of(tmp_path / "zoo" / "resnet.py", "xavier_normal_")
    assert finding["models"] == ["resnet_tiny", "resnet_small", "resnet_small_wide", "resnet_small_drop"]
    assert not list(tmp_path.glob("SENTINEL_*"))  # the tokenizer and optimizer helpers were never called
    assert code == 0  # IL101 before a BatchNorm is info


ZOO = """
import os

import torch.nn as nn
import torch.nn.functional as F

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "built.log")


class Net(nn.Module):
    def __init__(self, act="relu", zero_head=False, drop=0.0):
        super().__init__()
        self.act = act
        self.drop = drop
        self.fc1 = nn.Linear(64, 64)
        self.head = nn.Linear(64, 10)
        nn.init.kaiming_normal_(self.fc1.weight)
        if zero_head:
            nn.init.zeros_(self.head.weight)

    def forward(self, x):
        x = self.fc1(x)
        x = F.relu(x) if self.act == "relu" else F.tanh(x)
        return self.head(F.dropout(x, self.drop, self.training))


def _logged(name, model):
    with open(LOG, "a") as log:
        log.write(f"{name} {model.fc1.weight.device.type}\\n")
    return model


def net_relu() -> nn.Module:
    return _logged("net_relu", Net())


def net_relu_dropout() -> nn.Module:
    return _logged("net_relu_dropout", Net(drop=0.3))


def net_tanh() -> nn.Module:
    return _logged("net_tanh", Net(act="tanh"))


def net_zero_head() -> nn.Module:
    return _logged("net_zero_head", Net(zero_head=True))
"""


def test_only_the_same_class_settings_and_init_make_a_variant_and_it_is_never_built_for_real(tmp_path):
    path = write(tmp_path, "zoo.py", ZOO)
    _, document = run_json("--no-cache", "zoo.py", cwd=tmp_path)
    models = by_name(document)
    # A dropout rate is a float setting: it changes no pairing and no init.
    assert models["net_relu_dropout"]["status"] == "variant"
    # A string setting the forward reads (tanh instead of relu) and a different init are other models.
    assert models["net_tanh"]["status"] == "traced" and models["net_zero_head"]["status"] == "traced"
    # kaiming_normal_ assumes a ReLU: wrong only for net_tanh (and the finding names only it).
    [finding] = findings_for(document, "IL101")
    assert finding["line"] == line_of(path, "kaiming_normal_") and finding["models"] == ["net_tanh"]
    # Every factory is built on the meta device to compare them; only the distinct ones on the CPU.
    built = (tmp_path / "built.log").read_text().split("\n")
    assert "net_relu_dropout cpu" not in built and "net_relu_dropout meta" in built
    for name in ("net_relu", "net_tanh", "net_zero_head"):
        assert f"{name} cpu" in built and f"{name} meta" in built
