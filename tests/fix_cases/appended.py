"""IL102 where layers join the container after the statement that created it: no fix."""

import torch.nn as nn


class Appended(nn.Module):
    def __init__(self, depth=8, width=128):
        super().__init__()
        self.body = nn.Sequential()
        for _ in range(depth):
            self.body.append(nn.Linear(width, width))
            self.body.append(nn.ReLU())
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        return self.head(self.body(x))
