"""A self-normalizing network: SELU with LeCun normal init (Klambauer et al. 2017)."""

import torch.nn as nn


class SeluNet(nn.Module):
    def __init__(self, width=256, depth=8):
        super().__init__()
        layers = []
        for i in range(depth):
            layers += [nn.Linear(64 if i == 0 else width, width), nn.SELU(), nn.AlphaDropout(0.05)]
        layers.append(nn.Linear(width, 10))
        self.net = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="linear")  # LeCun normal
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.net(x)
