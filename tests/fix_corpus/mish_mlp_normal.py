"""A Mish MLP without norms, every Linear at N(0, 0.02) by a loop over the container."""

import torch.nn as nn

MODEL = "MishNet"
VARIANTS = [dict(depth=3), dict(depth=6, dim=32)]
FEEDS = {r"body\.\d+": "mish", "out": "linear|mish"}


class MishNet(nn.Module):
    def __init__(self, depth=5, dim=64):
        super().__init__()
        self.body = nn.Sequential(*[m for _ in range(depth) for m in (nn.Linear(dim, dim), nn.Mish())])
        self.out = nn.Linear(dim, 2)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, x):
        return self.out(self.body(x))
