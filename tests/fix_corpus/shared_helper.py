"""A module-level init_weights helper applied by two models of the file."""

import torch
import torch.nn as nn

MODEL = "Encoder"
VARIANTS = [dict(depth=3), dict(depth=6, width=96)]
FEEDS = {r"layers\.\d+": "relu", "out": "linear|relu"}


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        nn.init.constant_(m.bias, 0.0)


class Encoder(nn.Module):
    def __init__(self, depth=4, width=64):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.out = nn.Linear(width, 16)
        self.apply(init_weights)

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return self.out(x)


class Critic(nn.Module):
    def __init__(self, width=64):
        super().__init__()
        self.fc1 = nn.Linear(16, width)
        self.fc2 = nn.Linear(width, width)
        self.fc3 = nn.Linear(width, width)
        self.fc4 = nn.Linear(width, 1)
        self.apply(init_weights)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = torch.relu(self.fc3(x))
        return self.fc4(x)
