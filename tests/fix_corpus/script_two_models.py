"""A GAN script applying one weights_init to the generator and the discriminator."""

import argparse

import torch
import torch.nn as nn

MODEL = "Generator"
APPLY = "weights_init"
VARIANTS = [dict(nz=8), dict(nz=48, width=96)]
FEEDS = {r"net\.\d+": "relu|tanh"}


def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0.0, 0.02)
        nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, nz=16, width=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(nz, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, 32), nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z)


class Discriminator(nn.Module):
    def __init__(self, width=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(32, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, 1),
        )

    def forward(self, x):
        return self.net(x)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--nz", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-4)
    opt = parser.parse_args()
    netG = Generator(opt.nz)
    netG.apply(weights_init)
    netD = Discriminator()
    netD.apply(weights_init)
    print(netG, netD)
