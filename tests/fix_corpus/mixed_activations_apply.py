"""One apply function for layers before ReLU and before tanh: the call must be split by need."""

import torch
import torch.nn as nn


MODEL = "Mixed"
VARIANTS = [dict(width=32), dict(width=128)]
FEEDS = {"enc[12]": "relu", "dec[12]": "tanh", "out": "linear~1.5|tanh"}


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)


class Mixed(nn.Module):
    def __init__(self, width=64):
        super().__init__()
        self.enc1 = nn.Linear(width, width)
        self.enc2 = nn.Linear(width, width)
        self.dec1 = nn.Linear(width, width)
        self.dec2 = nn.Linear(width, width)
        self.out = nn.Linear(width, 4)
        self.apply(init_weights)

    def forward(self, x):
        x = torch.relu(self.enc2(torch.relu(self.enc1(x))))
        x = torch.tanh(self.dec2(torch.tanh(self.dec1(x))))
        return self.out(x)
