"""Forwards fx cannot trace (a tensor's value steers Python) are paired along one concrete forward, through the CLI."""

from __future__ import annotations

from conftest import findings_for, line_of, run_json, write

# Each model's layers only meet their activation in its own forward, whose loop
# count comes from a tensor's value: fx raises, and tracing the children alone
# (each a leaf layer) pairs nothing.
MODELS = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class ValueLoop(nn.Module):
    def __init__(self, init=nn.init.xavier_normal_):
        super().__init__()
        self.fc1 = nn.Linear(32, 32)
        self.fc2 = nn.Linear(32, 32)
        init(self.fc1.weight)

    def forward(self, x):
        for _ in range(int(x.abs().max().item()) + 1):
            x = self.fc2(torch.relu(self.fc1(x)))
        return x


class ShapeLoop(nn.Module):
    def __init__(self, init=nn.init.xavier_uniform_):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.conv = nn.Conv2d(16, 16, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(16, 10)
        init(self.conv.weight)

    def forward(self, x):
        x = self.stem(x)
        for _ in range(int(x.shape[-1]) // 16):
            x = self.pool(F.relu(self.conv(x)))
        return self.head(x.mean((2, 3)))


class Tokens(nn.Module):
    def __init__(self, init=nn.init.xavier_normal_):
        super().__init__()
        self.embed = nn.Embedding(100, 32)
        self.proj = nn.Linear(32, 64)
        self.out = nn.Linear(64, 100)
        init(self.proj.weight)

    def forward(self, tokens):
        length = int(tokens.ne(0).sum(-1).max())
        h = self.embed(tokens[:, :length])
        return self.out(torch.relu(self.proj(h)))


def he(weight):
    nn.init.kaiming_normal_(weight, nonlinearity="relu")


class GoodValueLoop(ValueLoop):
    def __init__(self):
        super().__init__(he)


class GoodShapeLoop(ShapeLoop):
    def __init__(self):
        super().__init__(he)


class GoodTokens(Tokens):
    def __init__(self):
        super().__init__(he)
"""


def check(tmp_path, *options: str):
    path = write(tmp_path, "loops.py", MODELS)
    code, document = run_json("--no-cache", *options, str(path))
    return path, code, document


def model(document, name):
    [entry] = [m for m in document["models"] if m["model"] == name]
    return entry


def test_xavier_before_relu_in_an_untraceable_forward_is_flagged_on_its_line(tmp_path):
    path, code, document = check(tmp_path)
    assert code == 1
    flagged = {f["model"]: (f["layer"], f["line"]) for f in findings_for(document, "IL101")}
    assert flagged == {
        "ValueLoop": ("fc1", line_of(path, "init(self.fc1.weight)")),
        "ShapeLoop": ("conv", line_of(path, "init(self.conv.weight)")),
        "Tokens": ("proj", line_of(path, "init(self.proj.weight)")),
    }


def test_correct_models_of_the_same_shape_give_no_warning(tmp_path):
    _, _, document = check(tmp_path)
    for name in ("GoodValueLoop", "GoodShapeLoop", "GoodTokens"):
        assert [f["code"] for f in findings_for(document, model=name)] == ["IL906"], name


def test_the_model_stays_partial_and_says_how_it_was_paired(tmp_path):
    _, _, document = check(tmp_path)
    shapes = {"ValueLoop": "(2, 32)", "ShapeLoop": "(2, 3, 64, 64)", "Tokens": "(2, 8)"}
    for name, shape in shapes.items():
        entry = model(document, name)
        assert entry["status"] == "partial"
        assert entry["detail"].startswith("forward not traceable (TypeError: ")
        assert entry["detail"].endswith(f"paired along one forward on a random input of shape {shape}")
        assert all(row["activation"] is not None for row in entry["layers"]), name
        [info] = findings_for(document, "IL906", name)
        assert info["message"] == f"{name}: {entry['detail']}"
    pairs = [(row["layer"], row["upstream"], row["activation"]) for row in model(document, "ShapeLoop")["layers"]]
    assert pairs == [("stem", "input", "none"), ("conv", "none", "F.relu"), ("head", "F.relu", "none")]


def test_no_forward_is_run_on_the_meta_device(tmp_path):
    _, _, document = check(tmp_path, "--device", "meta")
    assert findings_for(document, "IL101") == []
    assert model(document, "ValueLoop")["detail"].startswith("forward not traceable (TypeError: ")
    assert "paired inside submodules only" in model(document, "ValueLoop")["detail"]
