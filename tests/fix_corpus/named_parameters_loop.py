"""The classic answer: a loop over named_parameters() with normal_(0, 0.01) on every weight."""

import torch
import torch.nn as nn

MODEL = "Net"
VARIANTS = [dict(hidden=32), dict(hidden=128)]
FEEDS = {"fc[123]": "relu", "fc4": "linear|relu"}


class Net(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, hidden)
        self.fc4 = nn.Linear(hidden, 10)
        for name, param in self.named_parameters():
            if "weight" in name:
                nn.init.normal_(param, mean=0, std=0.01)
            elif "bias" in name:
                nn.init.constant_(param, 0)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = torch.relu(self.fc3(x))
        return self.fc4(x)
