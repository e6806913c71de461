"""IL102 on layers built in a loop into a Sequential: the fix must hold for any depth."""

import torch.nn as nn


class DeepMLP(nn.Module):
    def __init__(self, depth=10, width=128):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(width, width), nn.ReLU()]
        self.body = nn.Sequential(*layers)  # hidden stack
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        return self.head(self.body(x))
