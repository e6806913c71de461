"""Init by name over named_modules(): hidden layers small, the output layer by its name."""

import torch.nn as nn

MODEL = "ValueNet"
VARIANTS = [dict(depth=3), dict(depth=7, width=32)]
FEEDS = {r"mlp\.\d+": "relu"}


class ValueNet(nn.Module):
    def __init__(self, depth=4, width=64):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(width, width), nn.ReLU()]
        self.mlp = nn.Sequential(*layers)
        self.value = nn.Linear(width, 1)
        for name, module in self.named_modules():
            if isinstance(module, nn.Linear):
                if name == "value":
                    nn.init.uniform_(module.weight, -3e-3, 3e-3)
                else:
                    nn.init.uniform_(module.weight, -0.01, 0.01)

    def forward(self, x):
        return self.value(self.mlp(x))
