"""A labelled set: correct models that must stay quiet, single-bug mutants that must be flagged.

    python benchmarks/labelled.py [--initlint PATH_TO_A_CHECKOUT] [--static]

Each case is one model written the way people write them, labelled "ok" (no
finding at warning or above may appear) or with the rule codes that catch its
one bug (one of them must appear at warning or above). Prints each case's
verdict and the totals: recall on the bugs, false alarms on the correct models.
`--initlint` runs another checkout (e.g. an older commit in a git worktree) for
a before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"

MLP = """
class Model(nn.Module):
    def __init__(self, depth=6, width=128):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.head = nn.Linear(width, 10)
        for layer in self.layers:
            {init}

    def forward(self, x):
        for layer in self.layers:
            x = {act}(layer(x))
        return self.head(x)
"""

CNN_BN = """
class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        nn.init.zeros_(self.bn2.weight)  # zero-init residual

    def forward(self, x):
        return F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 7, stride=2, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(32)
        self.blocks = nn.Sequential(*[Block(32) for _ in range(3)])
        self.fc = nn.Linear(32, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                {conv_init}

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.stem(x))))
        return self.fc(x.mean((2, 3)))
"""

GPT_BLOCK = """
class Block(nn.Module):
    def __init__(self, d=128, heads=4, n_layer=4):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                {init}
        for m in (self.c_proj, self.proj):
            nn.init.normal_(m.weight, 0.0, 0.02 / (2 * n_layer) ** 0.5)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln1(x)).split(c, dim=2)
        q = q.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        k = k.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, c // self.heads).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.proj(F.gelu(self.fc(self.ln2(x))))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*[Block() for _ in range(4)])
        self.ln = nn.LayerNorm(128)
        self.head = nn.Linear(128, 100)
        nn.init.normal_(self.head.weight, 0.0, 0.02)

    def forward(self, x):
        return self.head(self.ln(self.blocks(x)))
"""

LSTM = """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(128, 128, batch_first=True)
        self.out = nn.Linear(128, 10)
        for name, p in self.lstm.named_parameters():
            {init}

    def forward(self, x):
        return self.out(self.lstm(x)[0])
"""

HIGHWAY = """
class Model(nn.Module):
    def __init__(self, width=128, depth=3):
        super().__init__()
        self.transforms = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.gates = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        for t, g in zip(self.transforms, self.gates):
            nn.init.kaiming_normal_(t.weight, nonlinearity="relu")
            {gate_init}
            nn.init.constant_(g.bias, -2.0)

    def forward(self, x):
        for t, g in zip(self.transforms, self.gates):
            gate = torch.sigmoid(g(x))
            x = gate * F.relu(t(x)) + (1 - gate) * x
        return x
"""

FAN_OUT = """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(1024, 128)
        self.fc2 = nn.Linear(128, 1024)
        self.fc3 = nn.Linear(1024, 128)
        self.out = nn.Linear(128, 10)
        for m in (self.fc1, self.fc2, self.fc3):
            nn.init.kaiming_normal_(m.weight, {mode}nonlinearity="relu")

    def forward(self, x):
        return self.out(F.relu(self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))))
"""

SCALED = """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64, bias=False)
        self.fc2 = nn.Linear(64, 64, bias=False)
        self.fc3 = nn.Linear(64, 10, bias=False)
        self.register_buffer("gain", torch.full((64,), {gain}))
        for m in (self.fc1, self.fc2):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x):
        x = F.relu(self.fc1(x)) * self.gain
        x = F.relu(self.fc2(x)) * self.gain
        return self.fc3(x)
"""

FIRST_LAYER = """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 64)
        self.fc2 = nn.Linear(64, 64)
        self.fc3 = nn.Linear(64, 10)
        {init}
        nn.init.kaiming_normal_(self.fc2.weight, nonlinearity="relu")

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
"""

SELU = """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(128, 128) for _ in range(8)])
        for layer in self.layers:
            nn.init.normal_(layer.weight, 0.0, (1 / 128) ** 0.5)

    def forward(self, x):
        for layer in self.layers:
            x = F.selu(layer(x))
        return x
"""

WS_CONV = """
class StdConv2d(nn.Conv2d):
    def forward(self, x):
        w = self.weight
        w = (w - w.mean(dim=(1, 2, 3), keepdim=True)) / (w.std(dim=(1, 2, 3), keepdim=True) + 1e-5)
        return F.conv2d(x, w, self.bias, self.stride, self.padding)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = StdConv2d(3, 32, 3, padding=1)
        self.n1 = nn.GroupNorm(8, 32)
        self.c2 = StdConv2d(32, 32, 3, padding=1)
        self.n2 = nn.GroupNorm(8, 32)
        self.c3 = StdConv2d(32, 32, 3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x):  # BiT's pattern: a weight-standardised conv, then a GroupNorm
        return self.c3(F.relu(self.n2(self.c2(F.relu(self.n1(self.c1(x)))))))
"""

INSTANCE_NORM_UNET = """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 64, 4, 2, 1)
        self.n1 = nn.InstanceNorm2d(64)
        self.c2 = nn.Conv2d(64, 128, 4, 2, 1)
        self.n2 = nn.InstanceNorm2d(128)
        self.c3 = nn.Conv2d(128, 256, 4, 2, 1)
        self.n3 = nn.InstanceNorm2d(256)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, x):
        x = F.leaky_relu(self.n1(self.c1(x)), 0.2)
        x = F.leaky_relu(self.n2(self.c2(x)), 0.2)
        return self.n3(self.c3(x))
"""

BN_ACT = """
class BatchNormAct2d(nn.BatchNorm2d):
    def __init__(self, num_features):
        super().__init__(num_features)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(super().forward(x))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn1 = BatchNormAct2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn2 = BatchNormAct2d(32)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.bn2(self.conv2(self.bn1(self.conv1(x))))
"""

ORTHO_RNN = """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(32, 64)
        self.hh = nn.Linear(64, 64, bias=False)
        self.out = nn.Linear(64, 10)
        nn.init.xavier_uniform_(self.inp.weight, gain=nn.init.calculate_gain("tanh"))
        nn.init.orthogonal_(self.hh.weight)

    def forward(self, x):
        h = torch.zeros(x.shape[0], 64)
        for t in range(x.shape[1]):
            h = torch.tanh(self.inp(x[:, t]) + self.hh(h))
        return self.out(h)
"""

SQUEEZE = """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(1024, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.xavier_uniform_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
"""

VIT_SMALL = '''
class Block(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.o(F.scaled_dot_product_attention(self.q(h), self.k(h), self.v(h)))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class Model(nn.Module):
    """A small test config of a ViT: N(0, 0.02) everywhere, as timm and BERT do."""

    def __init__(self, dim=32, depth=4):
        super().__init__()
        self.embed = nn.Linear(48, dim)
        self.blocks = nn.Sequential(*[Block(dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.head(self.norm(self.blocks(self.embed(x))).mean(1))
'''

RELU_KAIMING = 'nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")'
FAN_OUT_RELU = 'nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")'

# name -> (label: "ok" or the codes that catch the bug, source)
CASES: dict[str, tuple[tuple[str, ...] | str, str]] = {
    "he-relu-mlp": ("ok", MLP.format(init=RELU_KAIMING, act="F.relu")),
    "xavier-tanh-mlp": ("ok", MLP.format(init="nn.init.xavier_normal_(layer.weight, gain=5 / 3)", act="torch.tanh")),
    "resnet-fan-out-bn": (
        "ok",
        CNN_BN.format(conv_init='nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")'),
    ),
    "vit-small-config": ("ok", VIT_SMALL),
    "gpt-block-gpt2-init": ("ok", GPT_BLOCK.format(init="nn.init.normal_(m.weight, 0.0, 0.02)")),
    "lstm-default": ("ok", LSTM.format(init="pass")),
    "highway-xavier-gates": ("ok", HIGHWAY.format(gate_init="nn.init.xavier_uniform_(g.weight)")),
    "fan-in-widths": ("ok", FAN_OUT.format(mode="")),
    "no-forgotten-scale": ("ok", SCALED.format(gain="1.0")),
    "first-layer-he": ("ok", FIRST_LAYER.format(init='nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")')),
    "selu-lecun": ("ok", SELU),
    "ws-conv-xavier": ("ok", WS_CONV),
    "instance-norm-unet": ("ok", INSTANCE_NORM_UNET),
    "batchnorm-act": ("ok", BN_ACT),
    "orthogonal-rnn": ("ok", ORTHO_RNN),
    "xavier-squeeze": ("ok", SQUEEZE),
    "xavier-before-relu": (("IL101",), MLP.format(init="nn.init.xavier_normal_(layer.weight)", act="F.relu")),
    "relu-gain-before-tanh": (("IL101",), MLP.format(init=RELU_KAIMING, act="torch.tanh")),
    "default-deep-relu": (("IL102",), MLP.format(init="pass", act="F.relu")),
    "tiny-normal-relu": (("IL201",), MLP.format(init="nn.init.normal_(layer.weight, 0.0, 0.01)", act="F.relu")),
    "xavier-before-leaky": (
        ("IL101",),
        MLP.format(init="nn.init.xavier_uniform_(layer.weight)", act="F.leaky_relu"),
    ),
    "gpt-block-n01": (("IL201", "IL205"), GPT_BLOCK.format(init="nn.init.normal_(m.weight, 0.0, 1.0)")),
    "lstm-n01": (("IL204",), LSTM.format(init='nn.init.normal_(p, 0.0, 1.0) if "weight" in name else None')),
    "highway-uniform-gates": (("IL204",), HIGHWAY.format(gate_init="nn.init.uniform_(g.weight, -1.0, 1.0)")),
    "fan-out-widths": (("IL203",), FAN_OUT.format(mode='mode="fan_out", ')),
    "forgotten-scale": (("IL206",), SCALED.format(gain="1e-3")),
    "first-layer-fixed-range": (("IL201",), FIRST_LAYER.format(init="nn.init.uniform_(self.fc1.weight, -0.1, 0.1)")),
}


# Cases only a forward at init can catch: static mode, which runs nothing, cannot.
MEASURED_ONLY = frozenset({"forgotten-scale"})


def run(initlint: str | None, folder: Path, static: bool = False) -> dict:
    env = dict(os.environ)
    if initlint:
        env["PYTHONPATH"] = initlint
    mode = ["--static"] if static else []
    result = subprocess.run(
        [sys.executable, "-m", "initlint", "check", *mode, "--no-cache", "--format", "json", "."],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--initlint", help="a checkout of initlint to run instead of the installed one")
    parser.add_argument("--static", action="store_true", help="check with --static (cases in MEASURED_ONLY aside)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="initlint-labelled-"))
    for name, (_, source) in CASES.items():
        (folder / f"{name.replace('-', '_')}.py").write_text(HEADER + source)
    document = run(args.initlint, folder, args.static)
    loud: dict[str, set[str]] = {}
    for f in document["findings"]:
        if f["severity"] in ("warning", "error"):
            loud.setdefault(Path(f["path"]).stem.replace("_", "-"), set()).add(f["code"])
    caught = alarms = bugs = 0
    print("| case | label | findings at warning+ | verdict |")
    print("|---|---|---|---|")
    for name, (label, _) in CASES.items():
        if args.static and name in MEASURED_ONLY:
            continue
        found = loud.get(name, set())
        if label == "ok":
            verdict = "quiet" if not found else "FALSE ALARM"
            alarms += bool(found)
        else:
            bugs += 1
            hit = bool(found & set(label))
            caught += hit
            verdict = "caught" if hit else "MISSED"
        shown = ", ".join(sorted(found)) or "-"
        print(f"| {name} | {label if label == 'ok' else ' or '.join(label)} | {shown} | {verdict} |")
    correct = sum(label == "ok" for name, (label, _) in CASES.items() if not (args.static and name in MEASURED_ONLY))
    print()
    print(f"recall on bugs: {caught}/{bugs}; false alarms on correct models: {alarms}/{correct}")


if __name__ == "__main__":
    main()
