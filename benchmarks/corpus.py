"""A generated corpus of model files for the benchmarks: MLPs, CNNs and transformer blocks.

Deterministic for a seed; each file is 20-400 lines, mostly correct models with
some of the mistakes initlint reports, padded with the helper code real model
files carry.
"""

from __future__ import annotations

import random
from pathlib import Path

HEADER = '''"""Generated model file {index}."""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
'''

MLP = '''

class MLP{index}(nn.Module):
    """A {depth}-layer MLP with {act}."""

    def __init__(self, width={width}):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear({inp} if i == 0 else width, width) for i in range({depth})])
        self.head = nn.Linear(width, 10)
        for layer in self.layers:
            {init}

    def forward(self, x):
        for layer in self.layers:
            x = {call}
        return self.head(x)
'''

CNN = """

class ConvBlock{index}(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))


class CNN{index}(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, {channels}, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d({channels})
        self.blocks = nn.Sequential(*[ConvBlock{index}({channels}) for _ in range({blocks})])
        self.fc = nn.Linear({channels}, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))
"""

TRANSFORMER = """

class Attention{index}(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q = q.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        k = k.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class Block{index}(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention{index}(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, 4 * dim)
        self.out = nn.Linear(4 * dim, dim)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class Transformer{index}(nn.Module):
    def __init__(self, dim={dim}, depth={depth}, heads=4):
        super().__init__()
        self.blocks = nn.ModuleList([Block{index}(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 100)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("out.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * depth))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))
"""

HELPER = '''

def helper_{index}_{n}(values, scale={n}):
    """Unrelated utility code, as real model files carry."""
    total = 0.0
    for value in values:
        total += value * scale
    return total / max(len(values), 1)
'''

INITS = [
    'nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")',
    "nn.init.xavier_uniform_(layer.weight)",
    "nn.init.normal_(layer.weight, std=0.01)",
    'nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")',
]
CALLS = {"ReLU": "F.relu(layer(x))", "tanh": "torch.tanh(layer(x))", "GELU": "F.gelu(layer(x))"}


def model_file(index: int, rng: random.Random) -> str:
    kind = index % 3
    if kind == 0:
        act = rng.choice(sorted(CALLS))
        body = MLP.format(
            index=index,
            depth=rng.randint(2, 8),
            width=rng.choice([64, 128, 256]),
            inp=rng.choice([32, 784]),
            init=rng.choice(INITS),
            act=act,
            call=CALLS[act],
        )
    elif kind == 1:
        body = CNN.format(index=index, channels=rng.choice([16, 32]), blocks=rng.randint(1, 4))
    else:
        body = TRANSFORMER.format(index=index, dim=rng.choice([64, 128]), depth=rng.randint(1, 4))
    text = HEADER.format(index=index) + body
    target = rng.randint(20, 400)
    n = 0
    while text.count("\n") + 8 < target:
        text += HELPER.format(index=index, n=n)
        n += 1
    return text


def write_corpus(directory: Path, files: int = 50, seed: int = 0) -> list[Path]:
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(files):
        path = directory / f"model_{index:02d}.py"
        path.write_text(model_file(index, rng))
        paths.append(path)
    return paths


LLAMA = '''"""A LLaMA-shaped decoder written in plain PyTorch: {layers} layers, hidden {hidden}, MLP {mlp}."""

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


class Attention(nn.Module):
    def __init__(self, hidden, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, hidden // heads
        self.q_proj = nn.Linear(hidden, hidden, bias=False)
        self.k_proj = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(hidden, hidden, bias=False)

    def forward(self, x):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        return self.o_proj(y.transpose(1, 2).reshape(b, t, -1))


class MLP(nn.Module):
    def __init__(self, hidden, mlp):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, mlp, bias=False)
        self.up_proj = nn.Linear(hidden, mlp, bias=False)
        self.down_proj = nn.Linear(mlp, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, hidden, mlp, heads, kv_heads):
        super().__init__()
        self.input_layernorm = RMSNorm(hidden)
        self.self_attn = Attention(hidden, heads, kv_heads)
        self.post_attention_layernorm = RMSNorm(hidden)
        self.mlp = MLP(hidden, mlp)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed_tokens = nn.Embedding({vocab}, {hidden})
        self.layers = nn.ModuleList([Layer({hidden}, {mlp}, {heads}, {kv_heads}) for _ in range({layers})])
        self.norm = RMSNorm({hidden})
        self.lm_head = nn.Linear({hidden}, {vocab}, bias=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)

    def forward(self, tokens):
        x = self.embed_tokens(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm(x))
'''

SHAPES = {
    "7B": dict(layers=32, hidden=4096, mlp=11008, heads=32, kv_heads=32, vocab=32000),
    "70B": dict(layers=80, hidden=8192, mlp=28672, heads=64, kv_heads=8, vocab=32000),
}


def write_llama(directory: Path, size: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"llama_{size.lower()}.py"
    path.write_text(LLAMA.format(**SHAPES[size]))
    return path


ZOO_REGISTRY = '''"""A registry of model factories, as large model zoos keep one."""

_entrypoints = {}


def register_model(fn):
    _entrypoints[fn.__name__] = fn
    return fn


def create_model(name, **kwargs):
    return _entrypoints[name](**kwargs)
'''

ZOO_ARCH = '''"""Architecture {index}: a ResNet-style CNN registered under many names."""

import torch.nn as nn

from .registry import register_model


class Block{index}(nn.Module):
    def __init__(self, width, drop_rate=0.0):
        super().__init__()
        self.drop_rate = drop_rate
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.act(self.bn1(self.conv1(x)))
        y = nn.functional.dropout(y, self.drop_rate, self.training)
        return self.act(x + self.bn2(self.conv2(y)))


class Net{index}(nn.Module):
    def __init__(self, depth, width, num_classes=1000, drop_rate=0.0):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.blocks = nn.Sequential(*[Block{index}(width, drop_rate) for _ in range(depth)])
        self.head = nn.Linear(width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.blocks(nn.functional.relu(self.bn(self.stem(x))))
        return self.head(x.mean((2, 3)))
'''

ZOO_FACTORY = """

@register_model
def net{index}_{variant}(pretrained=False, **kwargs):
    return Net{index}({depth}, {width}, drop_rate={drop}, **kwargs)
"""


def write_zoo(directory: Path, architectures: int = 10, variants: int = 10) -> tuple[Path, list[tuple[int, int, int]]]:
    """A zoo package: ``architectures`` files, each a class registered under ``variants`` names that
    differ only in a dropout rate (the pretrained tags of real zoos). Returns the package and the
    (index, depth, width) of each distinct architecture."""
    package = directory / "zoo"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "registry.py").write_text(ZOO_REGISTRY)
    distinct = []
    for index in range(architectures):
        depth, width = 2 + index % 4, 64 + 32 * (index % 3)
        text = ZOO_ARCH.format(index=index)
        for variant in range(variants):
            text += ZOO_FACTORY.format(index=index, variant=variant, depth=depth, width=width, drop=variant / 20)
        (package / f"arch_{index:02d}.py").write_text(text)
        distinct.append((index, depth, width))
    return package, distinct


def write_big_package(directory: Path, lines: int, seed: int = 0) -> list[Path]:
    """A model package of about ``lines`` lines: generated model files, for static-mode throughput."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths, total, index = [], 0, 0
    while total < lines:
        text = model_file(index, rng)
        path = directory / f"model_{index:04d}.py"
        path.write_text(text)
        paths.append(path)
        total += text.count("\n")
        index += 1
    return paths
