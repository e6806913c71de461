"""A loop over self.modules() giving every Linear Xavier, the head included, in a ReLU MLP."""

import torch.nn as nn

MODEL = "Net"
VARIANTS = [dict(depth=3), dict(depth=7, width=32)]
FEEDS = {r"body\.\d+": "relu", "head": "linear|relu"}


class Net(nn.Module):
    def __init__(self, depth=5, width=64, classes=10):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(width, width), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.head(self.body(x))
