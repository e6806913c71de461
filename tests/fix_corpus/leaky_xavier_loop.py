"""A leaky-ReLU(0.1) conv stack without norms initialised with Xavier in a modules() loop."""

import torch.nn as nn

MODEL = "LeakyCNN"
VARIANTS = [dict(depth=3), dict(depth=6, channels=16)]
FEEDS = {r"convs\.\d+": "leaky_relu:0.1", "classifier": "linear|leaky_relu:0.1"}


class LeakyCNN(nn.Module):
    def __init__(self, depth=4, channels=32):
        super().__init__()
        convs = [nn.Conv2d(3, channels, 3, padding=1), nn.LeakyReLU(0.1)]
        for _ in range(depth - 1):
            convs += [nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.1)]
        self.convs = nn.Sequential(*convs)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, 10)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_normal_(m.weight)

    def forward(self, x):
        return self.classifier(self.pool(self.convs(x)).flatten(1))
