"""A training script: argparse, `net = Generator(...)`, `net.apply(weights_init)` with N(0, 0.02)."""

import argparse

import torch
import torch.nn as nn

MODEL = "Generator"
APPLY = "weights_init"
VARIANTS = [dict(nz=16, depth=3), dict(nz=64, depth=6, width=128)]
FEEDS = {r"main\.\d+": "relu|tanh"}


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Linear") != -1:
        m.weight.data.normal_(0.0, 0.02)
        m.bias.data.fill_(0)


class Generator(nn.Module):
    def __init__(self, nz=32, depth=4, width=64):
        super().__init__()
        layers = [nn.Linear(nz, width), nn.ReLU(True)]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), nn.ReLU(True)]
        layers += [nn.Linear(width, 784), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z):
        return self.main(z)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nz", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    opt = parser.parse_args()
    net = Generator(opt.nz)
    net.apply(weights_init)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-4)
    for _ in range(opt.epochs):
        optimizer.zero_grad()
        net(torch.randn(8, opt.nz)).mean().backward()
        optimizer.step()


if __name__ == "__main__":
    main()
