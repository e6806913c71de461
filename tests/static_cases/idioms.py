"""Common init and forward idioms: static mode must find what full mode finds on these models."""

import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import init
from torch.nn.init import kaiming_normal_, xavier_uniform_

HIDDEN = 64
DIMS = [32, 64, 64, 10]


class Ordered(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(16, HIDDEN)), ("act1", nn.Tanh()),
            ("fc2", nn.Linear(HIDDEN, HIDDEN)), ("act2", nn.Tanh()),
            ("out", nn.Linear(HIDDEN, 4)),
        ]))
        for name, m in self.body.named_children():
            if isinstance(m, nn.Linear):
                init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x):
        return self.body(x)


class FromDims(nn.Module):
    def __init__(self, dims=DIMS, act="relu"):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])])
        self.act = act
        self.reset_parameters()

    def reset_parameters(self):
        for layer in self.layers:
            xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x) if self.act == "relu" else torch.tanh(x)
        return x


class Dict(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleDict({"a": nn.Linear(8, 8), "b": nn.Linear(8, 8)})
        self.trunk = nn.Linear(8, 8)
        self.apply(self._init)

    def _init(self, m):
        if type(m) == nn.Linear:
            nn.init.normal_(m.weight, 0.0, 0.01)

    def forward(self, x):
        h = F.leaky_relu(self.trunk(x), negative_slope=0.2)
        return self.heads["a"](h) + self.heads["b"](h)


class Conv(nn.Module):
    def __init__(self, channels=32, groups=4):
        super().__init__()
        self.stem = nn.Conv2d(3, channels, kernel_size=(3, 5), stride=2, padding=1)
        self.grouped = nn.Conv2d(channels, channels * 2, 3, groups=groups, bias=False)
        self.up = nn.ConvTranspose2d(channels * 2, channels, 4, stride=2, padding=1)
        self.head = nn.Conv1d(channels, 5, 1)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Conv1d):
                init.uniform_(m.weight, -0.05, 0.05)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(self.grouped(x))
        x = torch.sigmoid(self.up(x))
        x = x.mean(-1)
        return self.head(x)


class DataInit(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(100, 100)
        self.fc2 = nn.Linear(100, 100)
        self.fc3 = nn.Linear(100, 1)
        stdv = 1.0 / math.sqrt(self.fc1.weight.size(1))
        self.fc1.weight.data.uniform_(-stdv, stdv)
        self.fc2.weight.data.normal_(0, math.sqrt(2.0 / 100))
        self.fc3.weight.data.fill_(0.0)
        self.fc3.bias.data.zero_()

    def forward(self, x):
        x = F.elu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return torch.sigmoid(self.fc3(x))


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(32, 32)
        self.b = nn.Linear(32, 32)
        self.c = nn.Linear(32, 32)
        nn.init.xavier_normal_(self.a.weight, gain=math.sqrt(2))
        nn.init.orthogonal_(self.b.weight, gain=nn.init.calculate_gain("leaky_relu", 0.2))
        nn.init.trunc_normal_(self.c.weight, std=0.02)

    def forward(self, x):
        x = self.a(x) * 0.5
        x = F.gelu(self.b(F.relu(x)))
        return self.c(F.leaky_relu(x, 0.2)) / 2.0


class Residual(nn.Module):
    def __init__(self, width=64, depth=4):
        super().__init__()
        self.inp = nn.Linear(16, width)
        self.blocks = nn.ModuleList()
        for _ in range(depth):
            self.blocks.append(nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width * 4), nn.GELU(),
                                             nn.Linear(width * 4, width)))
        self.out = nn.Linear(width, 3)

    def forward(self, x):
        x = self.inp(x)
        for block in self.blocks:
            x = x + block(x)
        return self.out(x)


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.w1 = nn.Linear(64, 128, bias=False)
        self.w2 = nn.Linear(128, 64, bias=False)
        self.w3 = nn.Linear(64, 128, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


def init_weights(m):
    classname = m.__class__.__name__
    if classname.find("Linear") != -1:
        m.weight.data.normal_(0.0, 0.02)
        m.bias.data.fill_(0)


def make_mlp(sizes, act=nn.ReLU):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


class Block(nn.Module):
    def __init__(self, dim, hidden=None):
        super().__init__()
        hidden = hidden or dim * 2
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.norm = nn.BatchNorm1d(dim)

    def forward(self, x):
        return self.norm(x + self.fc2(F.relu(self.fc1(x))))


class Tower(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = make_mlp([32, 64, 64, 64, 64, 8])
        self.blocks = nn.Sequential(*[Block(8) for _ in range(3)])
        self.apply(init_weights)

    def forward(self, x):
        return self.blocks(self.mlp(x))


class Tanh3(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = make_mlp([16, 32, 32, 32, 4], act=nn.Tanh)

    def forward(self, x):
        return self.mlp(x)


class Base(nn.Module):
    def __init__(self, width=48):
        super().__init__()
        self.enc = nn.Linear(20, width)
        self.dec = nn.Linear(width, 20)

    def forward(self, x):
        return self.dec(torch.relu(self.enc(x)))


class Child(Base):
    def __init__(self):
        super(Child, self).__init__(width=24)
        nn.init.kaiming_uniform_(self.enc.weight, a=0, mode="fan_in", nonlinearity="relu")


class Grandchild(Child):
    def forward(self, x):
        h = super().forward(x)
        return h.clamp(min=0)


class AddModule(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        for i in range(n):
            self.add_module(f"layer{i}", nn.Linear(10, 10))
            setattr(self, f"act{i}", nn.ReLU())
        self.n = n

    def forward(self, x):
        for i in range(self.n):
            x = getattr(self, f"act{i}")(getattr(self, f"layer{i}")(x))
        return x


class Params(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 16)
        self.b = nn.Linear(16, 16)
        for name, p in self.named_parameters():
            if "weight" in name:
                nn.init.xavier_uniform_(p)
            elif "bias" in name:
                nn.init.constant_(p, 0.1)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


class Dims(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 16)
        self.b = nn.Linear(16, 16)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_normal_(p)

    def forward(self, x):
        return self.b(self.a(x).relu())


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        nn.init.xavier_uniform_(self.fc.weight)

    def forward(self, x):
        return self.fc(torch.tanh(self.fc(x)))


class Early(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        nn.init.xavier_uniform_(self.a.weight)

    def forward(self, x, skip_b=False):
        h = torch.relu(self.a(x))
        if skip_b:
            return h
        return self.b(h)


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class Flatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class Stateless(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.flat = Flatten()
        self.fc = nn.Linear(8 * 4 * 4, 16)
        self.act = Swish()
        self.out = nn.Linear(16, 2)
        nn.init.xavier_uniform_(self.conv.weight)
        nn.init.xavier_uniform_(self.fc.weight)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(F.relu(self.conv(x)), 4)
        return self.out(self.act(self.fc(self.flat(x))))


class Reset(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 32)
        self.fc2 = nn.Linear(32, 4)
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        self.fc1.reset_parameters()
        with torch.no_grad():
            self.fc2.weight.mul_(0.1)
            self.fc2.bias[:2].fill_(1.0)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class Constant(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(16, 16)
        self.out = nn.Linear(16, 1)
        nn.init.constant_(self.hidden.weight, 0.5)
        nn.init.zeros_(self.out.weight)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


class Transposed(nn.Module):
    def __init__(self):
        super().__init__()
        self.up1 = nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1, groups=4)
        self.up2 = nn.ConvTranspose2d(32, 3, 4, stride=2, padding=1)
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
        nn.init.kaiming_normal_(self.up1.weight, nonlinearity="relu")
        nn.init.kaiming_normal_(self.dw.weight, mode="fan_out", nonlinearity="relu")
        nn.init.xavier_normal_(self.up2.weight, gain=nn.init.calculate_gain("tanh"))

    def forward(self, z):
        h = F.relu(self.up1(z))
        h = F.relu(self.dw(h))
        return torch.tanh(self.up2(h))


class Hand(nn.Module):
    def __init__(self, n_in=64, n_out=32):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) / math.sqrt(n_in))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class UsesHand(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Hand()
        self.b = nn.Linear(32, 32)
        self.c = nn.Linear(32, 32)
        self.d = nn.Linear(32, 32)
        self.e = nn.Linear(32, 1)

    def forward(self, x):
        x = self.a(x)
        for layer in (self.b, self.c, self.d):
            x = F.relu(layer(x))
        return self.e(torch.cat([x], dim=1))
