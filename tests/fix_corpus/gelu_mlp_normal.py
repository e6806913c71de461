"""A deep GELU MLP without norms, every Linear at N(0, 0.02) in a modules() loop."""

import torch.nn as nn

MODEL = "GeluMLP"
VARIANTS = [dict(depth=3), dict(depth=8, dim=128)]
FEEDS = {r"mlp\.\d+": "gelu|linear"}


class GeluMLP(nn.Module):
    def __init__(self, depth=5, dim=64):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(dim, dim), nn.GELU()]
        layers.append(nn.Linear(dim, dim))
        self.mlp = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.mlp(x)
