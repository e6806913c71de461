"""A tanh MLP given He-ReLU init by a loop over self.modules()."""

import torch
import torch.nn as nn

MODEL = "TanhNet"
VARIANTS = [dict(depth=2), dict(depth=6, width=48)]
FEEDS = {r"hidden\.\d+": "tanh", "out": "linear|tanh"}


class TanhNet(nn.Module):
    def __init__(self, depth=4, width=64):
        super().__init__()
        self.inp = nn.Linear(16, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.out = nn.Linear(width, 1)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x):
        x = torch.tanh(self.inp(x))
        for layer in self.hidden:
            x = torch.tanh(layer(x))
        return self.out(x)
