"""A helper called with the model, `init_mlp(self)`, looping over its modules: Xavier before ReLU."""

import torch.nn as nn

MODEL = "Backbone"
VARIANTS = [dict(depth=2), dict(depth=7, width=32)]
FEEDS = {r"stages\.\d+\.0": "relu", "fc": "linear|relu"}


def init_mlp(model):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)


class Backbone(nn.Module):
    def __init__(self, depth=4, width=64):
        super().__init__()
        self.stages = nn.Sequential(*[nn.Sequential(nn.Linear(width, width), nn.ReLU()) for _ in range(depth)])
        self.fc = nn.Linear(width, 10)
        init_mlp(self)

    def forward(self, x):
        return self.fc(self.stages(x))
