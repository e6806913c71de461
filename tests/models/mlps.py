"""ReLU MLPs: default init, He init."""

import torch.nn as nn


def relu_stack(depth=8, width=256):
    layers = []
    for i in range(depth - 1):
        layers += [nn.Linear(64 if i == 0 else width, width), nn.ReLU()]
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


class DefaultDeepMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = relu_stack()

    def forward(self, x):
        return self.net(x)


class HeDeepMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = relu_stack()
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.net(x)
