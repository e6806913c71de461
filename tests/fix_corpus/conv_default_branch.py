"""A plain CNN with an optional extra conv built in an if branch, default init, no batch norm."""

import torch
import torch.nn as nn

MODEL = "PlainCNN"
VARIANTS = [dict(extra=False), dict(extra=True, channels=8)]
FEEDS = {"conv[1-4]": "relu", "extra": "relu", "fc": "linear|relu"}


class PlainCNN(nn.Module):
    def __init__(self, channels=16, extra=True):
        super().__init__()
        self.conv1 = nn.Conv2d(3, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv3 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv4 = nn.Conv2d(channels, channels, 3, padding=1)
        if extra:
            self.extra = nn.Conv2d(channels, channels, 3, padding=1)
        else:
            self.extra = None
        self.fc = nn.Linear(channels, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = torch.relu(self.conv3(x))
        x = torch.relu(self.conv4(x))
        if self.extra is not None:
            x = torch.relu(self.extra(x))
        return self.fc(x.mean((2, 3)))
