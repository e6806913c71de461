"""IL102 on convolutions appended to a ModuleList in a loop, in an `if` on the constructor's arguments."""

import torch
from torch import nn


class DeepCNN(nn.Module):
    def __init__(self, depth=8, channels=16, pool=True):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.convs = nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=1) for _ in range(depth)])
        if pool:
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(channels, channels)
        self.pool_on = pool
        self.out = nn.Linear(channels, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        for conv in self.convs:
            x = torch.relu(conv(x))
        if self.pool_on:
            x = torch.relu(self.fc(self.pool(x).flatten(1)))
        else:
            x = x.mean((2, 3))
        return self.out(x)
