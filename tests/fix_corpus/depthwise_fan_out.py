"""Depthwise-separable blocks without norms, torchvision-style kaiming fan_out on every conv."""

import torch
import torch.nn as nn

MODEL = "Separable"
VARIANTS = [dict(channels=16), dict(channels=48, blocks=3)]
FEEDS = {r"dw\.\d+": "relu", r"pw\.\d+": "relu"}


class Separable(nn.Module):
    def __init__(self, channels=32, blocks=2):
        super().__init__()
        self.dw = nn.ModuleList(
            [nn.Conv2d(channels, channels, 3, padding=1, groups=channels) for _ in range(blocks)]
        )
        self.pw = nn.ModuleList([nn.Conv2d(channels, channels, 1) for _ in range(blocks)])
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        for dw, pw in zip(self.dw, self.pw):
            x = torch.relu(pw(torch.relu(dw(x))))
        return x
