"""Pairing: each weight layer with the activation its output flows into, and the one feeding it.

Models go through ``analyze_model``, the path the worker takes (build, record, trace, pair, describe),
and the answers are read from the layers' facts the rules see.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from initlint.dynamic.analyze import analyze_model
from initlint.shared.activations import make_activation
from initlint.shared.facts import PARTIAL, TRACED
from initlint.shared.graph import ACTIVATION, INPUT_NODE, LAYER, MERGE, NORM, OUTPUT_NODE, PASS, FlowGraph, pair_all


def pairings(model_class):
    """The model's facts, and its layers' facts by name."""
    facts = analyze_model(__file__, model_class.__name__, 1, model_class, [__file__])
    return facts, {layer.name: layer for layer in facts.layers}


def down(p):
    return (p.downstream.name, dict(p.downstream.params)) if p.downstream else None


class Activations(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        self.c = nn.Linear(8, 8)
        self.d = nn.Linear(8, 8)
        self.e = nn.Linear(8, 8)
        self.f = nn.Linear(8, 8)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        x = F.relu(self.a(x))
        x = torch.tanh(self.b(x))
        x = F.leaky_relu(self.c(x), 0.1)
        x = self.d(x).relu()
        x = self.act(self.e(x))
        return self.f(x)


def test_module_function_and_method_activations_with_parameters():
    model, p = pairings(Activations)
    assert model.status == TRACED
    assert down(p["a"]) == ("relu", {})
    assert down(p["b"]) == ("tanh", {})
    assert down(p["c"]) == ("leaky_relu", {"negative_slope": 0.1})
    assert down(p["d"]) == ("relu", {})
    assert down(p["e"]) == ("leaky_relu", {"negative_slope": 0.2})
    assert p["f"].downstream.name == "identity" and p["f"].final
    assert p["a"].upstream.label == "input"
    assert p["f"].upstream.name == "leaky_relu"


class LookThrough(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 4 * 4, 10)
        self.fc2 = nn.Linear(10, 10)

    def forward(self, x):
        y = self.pool(self.drop(self.bn(self.conv(x))))
        y = torch.cat([y, y], dim=1)[:, :8]
        y = F.elu(y.flatten(1).view(y.size(0), -1), alpha=0.5)
        return self.fc2(self.fc(y) * 3.0)


def test_looks_through_norm_dropout_pooling_reshape_and_concat():
    _, p = pairings(LookThrough)
    assert down(p["conv"]) == ("elu", {"alpha": 0.5})
    assert p["conv"].norm_after
    assert p["fc"].upstream.name == "elu"
    assert p["fc"].downstream.name == "identity" and not p["fc"].final
    assert [link.target for link in p["fc"].successors] == ["fc2"]
    assert p["fc"].successors[0].scale == 3.0


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(8, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.b2 = nn.BatchNorm2d(8)

    def forward(self, x):
        out = self.b2(self.c2(F.relu(self.c1(x))))
        return F.relu(out + x)


def test_residual_add_is_looked_through_and_remembered():
    _, p = pairings(Residual)
    assert down(p["c2"]) == ("relu", {})
    assert p["c2"].norm_after and p["c2"].residual_end
    assert not p["c1"].residual_end
    assert [link.target for link in p["c1"].successors] == ["c2"]
    assert p["c2"].successors == ()  # a norm and an add end the chain


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.left = nn.Linear(8, 8)
        self.right = nn.Linear(8, 8)

    def forward(self, x):
        h = self.fc(x)
        if h.sum() > 0:
            return torch.tanh(self.left(h))
        return torch.sigmoid(self.right(F.relu(h)))


def test_data_dependent_if_pairs_both_branches_partially():
    model, p = pairings(Branchy)
    assert model.status == PARTIAL
    assert "control flow" in model.detail
    assert p["left"].downstream.name == "tanh"
    assert p["right"].downstream.name == "sigmoid"
    assert p["right"].upstream.name == "relu"


class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(8, 8)

    def forward(self, x):
        width = int(x.shape[-1])  # int() of an fx proxy raises: not traceable
        return self.inner(x) * width


class HasUntraceableChild(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.odd = Untraceable()
        self.out = nn.Linear(8, 8)

    def forward(self, x):
        return self.out(self.odd(F.relu(self.fc(x))))


def test_untraceable_submodule_does_not_stop_pairing():
    model, p = pairings(HasUntraceableChild)
    assert model.status == PARTIAL
    assert down(p["fc"]) == ("relu", {})
    assert p["out"].final


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class Odd(nn.Module):
    def forward(self, x):
        return torch.where(x > 0, x, 0.3 * x)


class CustomActs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        self.swish = Swish()
        self.odd = Odd()

    def forward(self, x):
        return self.odd(self.b(self.swish(self.a(x))))


def test_custom_elementwise_modules_are_measured():
    _, p = pairings(CustomActs)
    assert p["a"].downstream.name == "silu"
    assert p["a"].downstream.label == "Swish"
    assert down(p["b"]) == ("leaky_relu", {"negative_slope": 0.3})


class Gated(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate = nn.Linear(8, 16)
        self.up = nn.Linear(8, 16)
        self.down = nn.Linear(16, 8)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


def test_gates_are_recognised():
    _, p = pairings(Gated)
    assert p["gate"].downstream.role == "gate"
    assert p["up"].downstream.role == "gate"
    assert p["down"].final


def test_flowgraph_walks_without_torch():
    g = FlowGraph()
    x = g.add(INPUT_NODE)
    fc1 = g.add(LAYER, [x], name="fc1")
    bn = g.add(NORM, [fc1])
    act = g.add(ACTIVATION, [bn], activation=make_activation("relu", "relu"))
    skip = g.add(PASS, [x])
    add = g.add(MERGE, [act, skip])
    fc2 = g.add(LAYER, [add], name="fc2")
    g.add(OUTPUT_NODE, [fc2])
    p = pair_all(g)
    assert p["fc1"].downstream.name == "relu" and p["fc1"].norm_after
    assert p["fc2"].final and p["fc2"].upstream.name == "identity"
