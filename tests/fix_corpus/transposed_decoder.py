"""A decoder of ConvTranspose2d + ReLU (no norm) given kaiming_normal_ in a loop: torch's fans are swapped."""

import torch
import torch.nn as nn

MODEL = "Decoder"
VARIANTS = [dict(channels=32), dict(channels=16, stages=2)]
FEEDS = {r"ups\.\d+": "relu"}
STD_DEFAULT_ONLY = "IL202 writes the std from the true fans of the sizes built by default"


class Decoder(nn.Module):
    def __init__(self, channels=64, stages=3):
        super().__init__()
        self.ups = nn.ModuleList(
            [nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1) for _ in range(stages)]
        )
        self.to_rgb = nn.Conv2d(channels, 3, 3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x):
        for up in self.ups:
            x = torch.relu(up(x))
        return self.to_rgb(x)
