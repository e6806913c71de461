"""A VGG-like CNN without batch norm, Xavier on convs and linears in one modules() loop."""

import torch.nn as nn

MODEL = "SmallVGG"
VARIANTS = [dict(width=8), dict(width=32, blocks=3)]
FEEDS = {r"features\.\d+": "relu", r"classifier\.0": "relu", r"classifier\.2": "linear|relu"}


class SmallVGG(nn.Module):
    def __init__(self, width=16, blocks=2, classes=10):
        super().__init__()
        layers = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(blocks):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(width, 64), nn.ReLU(), nn.Linear(64, classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))
