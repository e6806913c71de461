"""IL102 on layers assigned inside a branch: the init must stay inside it."""

import torch
import torch.nn as nn


class Branchy(nn.Module):
    def __init__(self, width=128, gate=True):
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)
        self.fc3 = nn.Linear(width, width)
        self.fc4 = nn.Linear(width, width)
        self.fc5 = nn.Linear(width, width)
        if gate:
            self.gate = nn.Linear(width, width)  # optional extra layer
        self.gated = gate
        self.out = nn.Linear(width, 10)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = torch.relu(self.fc3(x))
        x = torch.relu(self.fc4(x))
        x = torch.relu(self.fc5(x))
        if self.gated:
            x = torch.relu(self.gate(x))
        return self.out(x)
