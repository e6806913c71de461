"""A SiLU MLP without norms, each Linear at N(0, 0.02) by apply."""

import torch.nn as nn
import torch.nn.functional as F

MODEL = "SiluNet"
VARIANTS = [dict(depth=3), dict(depth=7, dim=96)]
FEEDS = {r"layers\.\d+": "silu", "out": "linear|silu"}


def _init(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, mean=0.0, std=0.02)


class SiluNet(nn.Module):
    def __init__(self, depth=5, dim=64):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(dim, dim) for _ in range(depth)])
        self.out = nn.Linear(dim, 4)
        self.apply(_init)

    def forward(self, x):
        for layer in self.layers:
            x = F.silu(layer(x))
        return self.out(x)
