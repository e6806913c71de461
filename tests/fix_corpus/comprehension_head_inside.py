"""A Sequential built from a comprehension with the head as its last element, default init."""

import torch.nn as nn

MODEL = "Tower"
VARIANTS = [dict(depth=4), dict(depth=8, width=40)]
FEEDS = {r"layers\.\d+": "relu|linear"}


class Tower(nn.Module):
    def __init__(self, depth=6, width=64, classes=5):
        super().__init__()
        self.layers = nn.Sequential(
            *[m for _ in range(depth) for m in (nn.Linear(width, width), nn.ReLU())],
            nn.Linear(width, classes),
        )

    def forward(self, x):
        return self.layers(x)
