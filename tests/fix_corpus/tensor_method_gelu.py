"""GELU blocks with `m.weight.data.normal_(0, 0.02)` in an apply function, no norm."""

import torch.nn as nn
import torch.nn.functional as F

MODEL = "GeluBlocks"
VARIANTS = [dict(depth=3), dict(depth=7, width=96)]
FEEDS = {r"blocks\.\d+": "gelu", "head": "linear|gelu"}


class GeluBlocks(nn.Module):
    def __init__(self, depth=5, width=64):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.head = nn.Linear(width, 10)
        self.apply(self.init_weights)

    @staticmethod
    def init_weights(m):
        if type(m) == nn.Linear:
            m.weight.data.normal_(0, 0.02)
            m.bias.data.zero_()

    def forward(self, x):
        for block in self.blocks:
            x = F.gelu(block(x))
        return self.head(x)
