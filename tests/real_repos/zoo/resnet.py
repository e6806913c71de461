"""ResNets registered by name; many variants of one class."""
import os

import torch.nn as nn

from .registry import register_model


def _sentinel(name):
    open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "SENTINEL_" + name), "w").write(name)


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(x + self.bn2(self.conv2(self.act(self.bn1(self.conv1(x))))))


class ResNet(nn.Module):
    def __init__(self, depth, width=16, num_classes=10, drop_rate=0.0):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.blocks = nn.Sequential(*[Block(width) for _ in range(depth)])
        self.head = nn.Linear(width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_normal_(m.weight)  # before a BatchNorm: harmless, but not He

    def forward(self, x):
        x = self.blocks(nn.functional.relu(self.bn(self.stem(x))))
        return self.head(x.mean((2, 3)))


def _create_resnet(variant, depth, **kwargs):
    return ResNet(depth, **kwargs)


@register_model
def resnet_tiny(pretrained=False, **kwargs):
    return _create_resnet("resnet_tiny", 1, **kwargs)


@register_model
def resnet_small(pretrained=False, **kwargs):
    return _create_resnet("resnet_small", 2, **kwargs)


@register_model
def resnet_small_wide(pretrained=False, **kwargs):
    return _create_resnet("resnet_small_wide", 2, width=32, **kwargs)


@register_model
def resnet_small_drop(pretrained=False, **kwargs):
    return _create_resnet("resnet_small_drop", 2, drop_rate=0.1, **kwargs)


def linear(*args, **kwargs):
    """A helper, not a model: calling it with no arguments fails."""
    return nn.Linear(*args, **kwargs)


def get_tokenizer():
    """Not a model: it would download a vocabulary."""
    _sentinel("tokenizer")
    return {"vocab": "downloaded"}


def build_optimizer_defaults():
    _sentinel("optimizer")
    return dict(lr=0.1)
