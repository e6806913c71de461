"""nn.ModuleList([... for _ in range(n)]) of Linear layers with ReLU in forward, default init."""

import torch
import torch.nn as nn

MODEL = "Stack"
VARIANTS = [dict(n=4), dict(n=10, width=32)]
FEEDS = {r"blocks\.\d+": "relu", "stem": "relu", "head": "linear|relu"}


class Stack(nn.Module):
    def __init__(self, n=6, width=64):
        super().__init__()
        self.stem = nn.Linear(20, width)
        self.blocks = nn.ModuleList([nn.Linear(width, width) for _ in range(n)])
        self.head = nn.Linear(width, 3)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        for block in self.blocks:
            x = torch.relu(block(x))
        return self.head(x)
