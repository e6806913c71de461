"""IL102 on layers made by setattr in a loop: one init per iteration, by the same name."""

import torch
import torch.nn as nn


class AttrMLP(nn.Module):
    def __init__(self, depth=10, width=128):
        super().__init__()
        self.depth = depth
        for i in range(depth):
            setattr(self, f"layer{i}", nn.Linear(width, width))
        self.out = nn.Linear(width, 10)

    def forward(self, x):
        for i in range(self.depth):
            x = torch.relu(getattr(self, f"layer{i}")(x))
        return self.out(x)
