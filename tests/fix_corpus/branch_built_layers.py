"""Layers built in if/else branches by a constructor flag, default init, ReLU everywhere."""

import torch
import torch.nn as nn

MODEL = "Switchable"
VARIANTS = [dict(wide=True), dict(wide=False, depth=7)]
FEEDS = {r"body\.\d+": "relu", "head": "linear|relu"}


class Switchable(nn.Module):
    def __init__(self, wide=False, depth=5):
        super().__init__()
        if wide:
            self.body = nn.ModuleList([nn.Linear(128, 128) for _ in range(depth)])
            self.head = nn.Linear(128, 10)
        else:
            self.body = nn.ModuleList([nn.Linear(64, 64) for _ in range(depth)])
            self.head = nn.Linear(64, 10)

    def forward(self, x):
        for layer in self.body:
            x = torch.relu(layer(x))
        return self.head(x)
