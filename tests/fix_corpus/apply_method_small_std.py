"""self.apply(self._init_weights) with a hand-picked small std on every Linear of a ReLU MLP."""

import torch.nn as nn

MODEL = "Classifier"
VARIANTS = [dict(depth=3), dict(depth=6, hidden=96)]
FEEDS = {r"layers\.\d+": "relu", "fc": "linear|relu"}


class Classifier(nn.Module):
    def __init__(self, depth=4, hidden=64, classes=10):
        super().__init__()
        blocks = []
        for _ in range(depth):
            blocks.append(nn.Linear(hidden, hidden))
            blocks.append(nn.ReLU(inplace=True))
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(hidden, classes)
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.01)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        return self.fc(self.layers(x))
