"""_init_weights with its own branch for the head: the body gets Xavier before ReLU."""

import torch.nn as nn

MODEL = "Regressor"
VARIANTS = [dict(depth=3), dict(depth=8, width=32)]
FEEDS = {r"trunk\.\d+": "relu"}


class Regressor(nn.Module):
    def __init__(self, depth=5, width=64):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers.extend([nn.Linear(width, width), nn.ReLU()])
        self.trunk = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if module is self.head:
            nn.init.zeros_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.xavier_normal_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(self, x):
        return self.head(self.trunk(x))
