"""A sigmoid MLP given He-ReLU init in a loop over its layers."""

import torch
import torch.nn as nn

MODEL = "SigmoidNet"
VARIANTS = [dict(depth=3), dict(depth=6, width=32)]
FEEDS = {r"hidden\.\d+": "sigmoid"}


class SigmoidNet(nn.Module):
    def __init__(self, depth=4, width=64):
        super().__init__()
        self.hidden = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        for layer in self.hidden:
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")

    def forward(self, x):
        for layer in self.hidden:
            x = torch.sigmoid(layer(x))
        return x
