"""Named attributes fc1..fc5 with PyTorch's default init, ReLU between them."""

import torch
import torch.nn as nn
import torch.nn.functional as F

MODEL = "Plain"
VARIANTS = [dict(width=32), dict(width=200, classes=3)]
FEEDS = {"fc[1-4]": "relu", "fc5": "linear|relu"}


class Plain(nn.Module):
    def __init__(self, width=64, classes=10):
        super().__init__()
        self.fc1 = nn.Linear(100, width)
        self.fc2 = nn.Linear(width, width)
        self.fc3 = nn.Linear(width, width)
        self.fc4 = nn.Linear(width, width)
        self.fc5 = nn.Linear(width, classes)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = F.relu(self.fc3(x))
        x = F.relu(self.fc4(x))
        return self.fc5(torch.flatten(x, 1))
