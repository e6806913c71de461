"""Models whose init or dataflow the source does not decide: static mode must stay silent on all of them.

`mylib` does not exist: this file is only ever read, never imported.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mylib import Config, act_fn, custom_init, make_weight, ImportedLinear, BaseModel

cfg = Config()
if cfg.wide:
    WIDTH = 512
else:
    WIDTH = 64


def deep_relu(width=64, depth=6):
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers)


class UnknownHelperInit(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = deep_relu()
        custom_init(self)

    def forward(self, x):
        return self.net(x)


class UnknownApply(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = deep_relu()
        self.apply(cfg.init_fn)

    def forward(self, x):
        return self.net(x)


class UndecidedInit(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        if cfg.he:
            nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        else:
            nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class UnknownActivation(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(act_fn(self.fc1(x)))


class UnknownSlope(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.kaiming_normal_(self.fc1.weight, a=0.2, nonlinearity="leaky_relu")
        self.act = nn.LeakyReLU(cfg.slope)

    def forward(self, x):
        return self.fc2(F.leaky_relu(self.fc1(x), cfg.slope) + self.act(x))


class ReplacedWeight(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.xavier_normal_(self.fc1.weight)
        self.fc1.weight = nn.Parameter(make_weight(64, 64))

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class UnknownDepth(nn.Module):
    def __init__(self):
        super().__init__()
        layers = []
        for _ in range(cfg.depth):
            layers += [nn.Linear(64, 64), nn.ReLU()]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class UnknownStd(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.normal_(self.fc1.weight, std=cfg.std)
        self.fc2.weight.data.normal_(0, cfg.std)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class TensorBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.xavier_normal_(self.fc1.weight)
        nn.init.kaiming_normal_(self.fc2.weight, nonlinearity="relu")

    def forward(self, x):
        h = self.fc1(x)
        if h.mean() > 0:
            h = F.relu(h)
        return self.fc2(h)


class HeLogitsAfterUnknown(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.out = nn.Linear(64, 10)
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        nn.init.kaiming_normal_(self.out.weight, nonlinearity="relu")

    def forward(self, x):
        return self.out(act_fn(F.relu(self.fc1(x))))


class ImportedIsinstance(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        for m in self.modules():
            if isinstance(m, ImportedLinear):
                nn.init.xavier_normal_(m.weight)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class ModuleConstantUnknown(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(WIDTH, WIDTH)
        self.fc2 = nn.Linear(WIDTH, 10)
        nn.init.normal_(self.fc1.weight, std=0.01)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class CopiedWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        with torch.no_grad():
            self.fc1.weight.copy_(make_weight(64, 64))

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class WrappedLater(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = deep_relu()
        self.net = torch.nn.utils.spectral_norm(self.net)

    def forward(self, x):
        return self.net(x)


class FromImportedBase(BaseModel):
    def __init__(self):
        super().__init__()
        self.net = deep_relu()

    def forward(self, x):
        return self.net(x)


class ExternalChild(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.block = ImportedLinear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.xavier_normal_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(self.block(self.fc1(x)).relu())


class MaybeBreak(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        for m in self.modules():
            if cfg.stop:
                break
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        nn.init.xavier_normal_(self.fc1.weight)
        self.net = deep_relu()

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(self.net(x))))


class LoopUnknownIterable(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.xavier_normal_(self.fc1.weight)
        for name in cfg.names:
            nn.init.kaiming_normal_(getattr(self, name).weight, nonlinearity="relu")

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
