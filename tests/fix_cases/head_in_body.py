"""IL102 where one Sequential holds ReLU layers and the linear head: no fix is guessed."""

import torch.nn as nn


class HeadInBody(nn.Module):
    def __init__(self, depth=8, width=128):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(width, width), nn.ReLU()]
        layers.append(nn.Linear(width, 10))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
