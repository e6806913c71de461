"""One ConvTranspose2d initialised by attribute with kaiming_uniform_, before a ReLU."""

import torch
import torch.nn as nn

MODEL = "Upsampler"
VARIANTS = [dict(cin=32, cout=16), dict(cin=128, cout=64)]
FEEDS = {"up": "relu"}
STD_DEFAULT_ONLY = "IL202 writes the std from the true fans of the sizes built by default"


class Upsampler(nn.Module):
    def __init__(self, cin=64, cout=32):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)
        self.out = nn.Conv2d(cout, 3, 3, padding=1)
        nn.init.kaiming_uniform_(self.up.weight, nonlinearity="relu")

    def forward(self, x):
        return self.out(torch.relu(self.up(x)))
