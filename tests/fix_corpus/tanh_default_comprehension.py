"""A tanh ModuleList from a comprehension, default init: the signal shrinks by 1/3 per layer."""

import torch
import torch.nn as nn

MODEL = "TanhDeep"
VARIANTS = [dict(depth=5), dict(depth=10, width=32)]
FEEDS = {r"layers\.\d+": "tanh", "readout": "linear|tanh"}


class TanhDeep(nn.Module):
    def __init__(self, depth=7, width=64):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.readout = nn.Linear(width, 1)

    def forward(self, x):
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return self.readout(x)
