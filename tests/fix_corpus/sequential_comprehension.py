"""nn.Sequential(*[...]) of Linear-ReLU pairs built by a comprehension, PyTorch's default init."""

import torch.nn as nn

MODEL = "DeepMLP"
VARIANTS = [dict(depth=4), dict(depth=9, width=48)]
FEEDS = {r"net\.\d+\.0": "relu", "out": "linear|relu"}


class DeepMLP(nn.Module):
    def __init__(self, depth=6, width=64):
        super().__init__()
        self.net = nn.Sequential(*[nn.Sequential(nn.Linear(width, width), nn.ReLU()) for _ in range(depth)])
        self.out = nn.Linear(width, 10)

    def forward(self, x):
        return self.out(self.net(x))
