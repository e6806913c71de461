"""Norms of every kind: what they make of a layer's init, in the verdicts."""

from __future__ import annotations

import pytest
from conftest import findings_for, line_of, run_json, write

WEIGHT_STANDARDISED = """
import torch.nn as nn
import torch.nn.functional as F


class StdConv2d(nn.Conv2d):
    \"\"\"Weight standardisation: the forward divides the weight by its own std.\"\"\"

    def forward(self, x):
        w = self.weight
        w = (w - w.mean(dim=(1, 2, 3), keepdim=True)) / (w.std(dim=(1, 2, 3), keepdim=True) + 1e-5)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ScaledConv2d(nn.Conv2d):
    \"\"\"Not standardised: the forward only multiplies the weight, so its init scale still counts.\"\"\"

    def forward(self, x):
        return F.conv2d(x, self.weight * 2.0, self.bias, self.stride, self.padding)


class WSNet(nn.Module):
    \"\"\"BiT's pattern: a weight-standardised conv, then a GroupNorm.\"\"\"

    def __init__(self):
        super().__init__()
        self.c1 = StdConv2d(3, 32, 3, padding=1)
        self.n1 = nn.GroupNorm(8, 32)
        self.c2 = StdConv2d(32, 32, 3, padding=1)
        self.n2 = nn.GroupNorm(8, 32)
        self.c3 = StdConv2d(32, 32, 3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x):
        return self.c3(F.relu(self.n2(self.c2(F.relu(self.n1(self.c1(x)))))))


class ScaledNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = ScaledConv2d(3, 32, 3, padding=1)
        self.c2 = ScaledConv2d(32, 32, 3, padding=1)
        self.c3 = ScaledConv2d(32, 32, 3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)  # its scale counts

    def forward(self, x):
        return self.c3(F.relu(self.c2(F.relu(self.c1(x)))))


class SpectralNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.utils.parametrizations.spectral_norm(nn.Linear(64, 64))
        self.fc2 = nn.utils.parametrizations.spectral_norm(nn.Linear(64, 64))
        self.fc3 = nn.Linear(64, 1)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class WeightNormNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.utils.parametrizations.weight_norm(nn.Linear(64, 64))
        self.fc2 = nn.Linear(64, 1)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
"""


def test_weight_standardised_and_spectral_norm_layers_have_no_init_scale_to_judge(tmp_path):
    path = write(tmp_path, "ws.py", WEIGHT_STANDARDISED)
    _, document = run_json("--no-cache", "ws.py", cwd=tmp_path)
    # Xavier before ReLU: wrong for a plain conv, irrelevant when the forward standardises the weight.
    assert findings_for(document, model="WSNet") == []
    [finding] = findings_for(document, "IL101", "ScaledNet")
    assert finding["layers"] == ["c1", "c2"] and finding["line"] == line_of(path, "its scale counts")
    # Spectral norm divides by the largest singular value: the default init's scale cannot matter.
    assert findings_for(document, model="SpectralNet") == []
    # Weight norm keeps the scale in g, copied from the initial weight: the init is still judged.
    rows = {r["layer"]: r for m in document["models"] if m["model"] == "WeightNormNet" for r in m["layers"]}
    assert rows["fc1"]["activation"] == "F.relu"


FAN_OUT = """
import torch
import torch.nn as nn


class FanOutMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2048, 128)
        self.fc2 = nn.Linear(128, 1024)
        self.fc3 = nn.Linear(1024, 128)
        self.out = nn.Linear(128, 10)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.out(torch.relu(self.fc3(x)))


class FanOutStem(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 128, 3, padding=1)
        self.c2 = nn.Conv2d(128, 128, 3, padding=1)
        self.head = nn.Linear(128, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")  # stem

    def forward(self, x):
        x = torch.relu(self.c2(torch.relu(self.stem(x))))
        return self.head(x.mean((2, 3)))


class FanOutBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 128, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(128)
        self.c2 = nn.Conv2d(128, 256, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(256)
        self.head = nn.Linear(256, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = torch.relu(self.bn2(self.c2(torch.relu(self.bn1(self.stem(x))))))
        return self.head(x.mean((2, 3)))
"""


def test_fan_out_mode_is_judged_by_the_forward_signal_where_no_norm_follows(tmp_path):
    path = write(tmp_path, "fanout.py", FAN_OUT)
    _, document = run_json("--no-cache", "fanout.py", cwd=tmp_path)
    [mlp] = findings_for(document, "IL203", "FanOutMLP")
    # 2048 -> 128 -> 1024 -> 128: the forward variance moves 16x, 1/8x, 8x; the logits layer is left alone.
    assert mlp["layers"] == ["fc1", "fc2", "fc3"] and mlp["severity"] == "warning"
    assert mlp["actual_std"] == pytest.approx((2 / 128) ** 0.5, rel=1e-4)
    assert mlp["expected_std"] == pytest.approx((2 / 2048) ** 0.5, rel=1e-4)
    assert mlp["fix"]["applicability"] == "unsafe"
    [stem] = findings_for(document, "IL203", "FanOutStem")
    assert stem["layers"] == ["stem"] and stem["line"] == line_of(path, "# stem")
    assert stem["actual_std"] / stem["expected_std"] == pytest.approx((27 / 1152) ** 0.5, rel=1e-4)  # 0.15x
    # torchvision's convention: a BatchNorm after every conv resets the forward signal.
    assert findings_for(document, model="FanOutBN") == []


ZOO_NORMS = """
import torch.nn as nn
import torch.nn.functional as F


class BatchNormAct2d(nn.BatchNorm2d):
    \"\"\"A model zoo's norm that applies its activation itself.\"\"\"

    def __init__(self, num_features, act_layer=nn.ReLU):
        super().__init__(num_features)
        self.act = act_layer()

    def forward(self, x):
        return self.act(super().forward(x))


class ZooBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn1 = BatchNormAct2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn2 = BatchNormAct2d(32)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.bn2(self.conv2(self.bn1(self.conv1(x))))


class UNetIN(nn.Module):
    \"\"\"pix2pix-style encoder: conv -> InstanceNorm -> LeakyReLU, N(0, 0.02).\"\"\"

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 64, 4, 2, 1)
        self.n1 = nn.InstanceNorm2d(64)
        self.c2 = nn.Conv2d(64, 128, 4, 2, 1)
        self.n2 = nn.InstanceNorm2d(128)
        self.c3 = nn.Conv2d(128, 256, 4, 2, 1)
        self.n3 = nn.InstanceNorm2d(256)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, x):
        x = F.leaky_relu(self.n1(self.c1(x)), 0.2)
        x = F.leaky_relu(self.n2(self.c2(x)), 0.2)
        return self.n3(self.c3(x))
"""


def test_a_norm_holding_its_activation_pairs_the_layer_with_it(tmp_path):
    write(tmp_path, "zoo_norms.py", ZOO_NORMS)
    _, document = run_json("--no-cache", "zoo_norms.py", cwd=tmp_path)
    [block] = [m for m in document["models"] if m["model"] == "ZooBlock"]
    assert block["status"] == "traced"
    rows = {r["layer"]: r for r in block["layers"]}
    assert rows["conv1"]["activation"] == "nn.ReLU" and rows["conv1"]["norm_between"] is True
    assert rows["conv2"]["upstream"] == "nn.ReLU"
    assert findings_for(document, model="ZooBlock") == []  # fan_out He before BatchNorm + ReLU: torchvision's
    # Every conv of the U-Net feeds an InstanceNorm: nothing is unnormalized, N(0, 0.02) is a convention.
    unet = findings_for(document, model="UNetIN")
    assert all(f["severity"] == "info" and "unnormalized" not in f["message"] for f in unet)
