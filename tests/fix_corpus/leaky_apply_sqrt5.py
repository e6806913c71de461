"""self.apply(init) on a leaky-ReLU net with kaiming_uniform_(a=math.sqrt(5)), logits layer included."""

import math

import torch.nn as nn

MODEL = "LeakyNet"
VARIANTS = [dict(depth=4), dict(depth=8, width=32)]
FEEDS = {r"features\.\d+": "leaky_relu:0.2", "logits": "linear|leaky_relu:0.2"}


def init(m):
    if isinstance(m, nn.Linear):
        nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5))
        if m.bias is not None:
            nn.init.zeros_(m.bias)


class LeakyNet(nn.Module):
    def __init__(self, depth=6, width=64):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(width, width), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.logits = nn.Linear(width, 10)
        self.apply(init)

    def forward(self, x):
        return self.logits(self.features(x))
