"""A DCGAN-style classname check inside a model's own init method, kaiming relu on a tanh net."""

import torch
import torch.nn as nn

MODEL = "Critic"
VARIANTS = [dict(width=32, depth=2), dict(width=96, depth=6)]
FEEDS = {r"layers\.\d+": "tanh", "score": "linear|tanh"}


class Critic(nn.Module):
    def __init__(self, width=64, depth=4):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.score = nn.Linear(width, 1)
        self.apply(self.weights_init)

    def weights_init(self, m):
        classname = m.__class__.__name__
        if classname.find("Linear") != -1:
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x):
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return self.score(x)
