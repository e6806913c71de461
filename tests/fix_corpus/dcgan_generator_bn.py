"""A DCGAN generator (ConvTranspose2d + BatchNorm + ReLU) with kaiming_normal_ on the transposed convs."""

import torch.nn as nn

MODEL = "DCGenerator"
VARIANTS = [dict(ngf=16), dict(ngf=48, nz=64)]
FEEDS = {r"main\.[0369]": "relu", r"main\.12": "tanh"}
NOT_FIXED = "the tanh output layer needs another std than the hidden ones and is reached only by index"


class DCGenerator(nn.Module):
    def __init__(self, nz=32, ngf=32):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False),
            nn.Tanh(),
        )
        for m in self.modules():
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, z):
        return self.main(z)
