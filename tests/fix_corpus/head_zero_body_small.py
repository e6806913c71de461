"""_init_weights: the head zeroed on purpose, every other Linear at N(0, 0.01) before ReLU."""

import torch.nn as nn

MODEL = "PolicyNet"
VARIANTS = [dict(depth=3), dict(depth=6, width=128)]
FEEDS = {r"body\.\d+": "relu"}


class PolicyNet(nn.Module):
    def __init__(self, depth=4, width=64, actions=6):
        super().__init__()
        body = []
        for _ in range(depth):
            body += [nn.Linear(width, width), nn.ReLU()]
        self.body = nn.Sequential(*body)
        self.policy = nn.Linear(width, actions)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            if module is self.policy:
                nn.init.zeros_(module.weight)
            else:
                nn.init.normal_(module.weight, std=0.01)
            nn.init.zeros_(module.bias)

    def forward(self, x):
        return self.policy(self.body(x))
