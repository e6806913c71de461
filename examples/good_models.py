"""Models initialised the way their activations need: initlint reports nothing here."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class HeMLP(nn.Module):
    """ReLU MLP with He (Kaiming) init; the last layer too (its input is ReLU'd)."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(784, 256), nn.Linear(256, 256), nn.Linear(256, 10)])
        for layer in self.layers:
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return self.layers[-1](x)


class TanhMLP(nn.Module):
    """tanh MLP with Xavier init at the tanh gain (5/3)."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(128, 128)
        self.out = nn.Linear(128, 2)
        nn.init.xavier_uniform_(self.hidden.weight, gain=nn.init.calculate_gain("tanh"))

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


class SmallResNet(nn.Module):
    """conv-BN-ReLU with residual adds and torchvision's fan_out He init."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(32)
        self.conv1 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.head = nn.Linear(32, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.bn2.weight)  # zero-init residual: each block starts as identity

    def forward(self, x):
        x = F.relu(self.bn0(self.stem(x)))
        y = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(x + self.bn2(self.conv2(y)))
        return self.head(x.mean(dim=(2, 3)))


class SeluNet(nn.Module):
    """Self-normalizing: SELU with LeCun normal init."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(64, 128), nn.SELU(),
            nn.Linear(128, 128), nn.SELU(),
            nn.Linear(128, 10),
        )
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="linear")  # LeCun: Var = 1/fan_in

    def forward(self, x):
        return self.net(x)
