"""The mistakes initlint exists for. `initlint check examples/` flags each one."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class XavierBeforeReLU(nn.Module):
    """Xavier (gain 1) assumes no activation: each ReLU layer halves the signal's variance."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 256)
        self.fc3 = nn.Linear(256, 10)
        for fc in (self.fc1, self.fc2, self.fc3):
            nn.init.xavier_uniform_(fc.weight)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class TinyStd(nn.Module):
    """A hand-rolled N(0, 0.01): 18x smaller than He for Linear(64, 32) before a ReLU."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        self.fc1.weight.data.normal_(0, 0.01)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class DeepDefault(nn.Module):
    """PyTorch's default init (std 1/sqrt(3 fan_in)) in a deep ReLU stack without normalization."""

    def __init__(self):
        super().__init__()
        layers = []
        for _ in range(8):
            layers += [nn.Linear(256, 256), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(256, 10)

    def forward(self, x):
        return self.head(self.body(x))


class ReluGainBeforeTanh(nn.Module):
    """nonlinearity='relu' before tanh: the gain is sqrt(2), tanh needs 5/3."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(128, 128)
        self.decoder = nn.Linear(128, 128)
        nn.init.kaiming_normal_(self.encoder.weight, nonlinearity="relu")

    def forward(self, x):
        return self.decoder(torch.tanh(self.encoder(x)))


def _init_weights(module):
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)


class Overwritten(nn.Module):
    """A careful init in __init__, silently reset by a later self.apply()."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(64, 64)
        self.out = nn.Linear(64, 10)
        nn.init.kaiming_normal_(self.proj.weight, nonlinearity="relu")
        self.apply(_init_weights)

    def forward(self, x):
        return self.out(F.relu(self.proj(x)))
