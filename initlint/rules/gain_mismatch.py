"""IL101 gain-mismatch: an init's gain is for another activation than the layer's."""

from __future__ import annotations

from collections.abc import Iterator

from ..fix.intent import UNSAFE, FixIntent
from ..shared.facts import DEFAULT, USER, InitStep, LayerFacts
from .base import (
    DEEP_FACTOR,
    EXTREME_FACTOR,
    GAIN_TOLERANCE,
    SAFE,
    WARNING,
    Example,
    Expect,
    ModelView,
    Rule,
    Verdict,
    fmt,
    judged_activation_label,
    recommended_gain,
    std_for_gain,
)


def check(view: ModelView) -> Iterator[Verdict]:
    for layer in view.judged():
        w = layer.weight
        step = w.last
        if step is None or step.origin == DEFAULT or w.gain is None or not layer.paired:
            continue
        targets = view.targets(layer)
        if not targets or view.accepts_gain(layer, w.gain, w.mode) or _std_fits(view, layer):
            continue
        if layer.feeds_itself and w.family in RECURRENT_FAMILIES:
            continue  # a hidden-to-hidden weight: orthogonal (or identity) keeps every singular value at 1
        act = targets[0]
        want = recommended_gain(act)
        expected = std_for_gain(step.function, want, layer.fan_in, layer.fan_out, w.mode)
        off = w.std / expected if w.std is not None and expected else None
        projection = layer.final and act.name == "identity"
        if projection and off is not None and 1 / FINAL_TOLERANCE <= off <= FINAL_TOLERANCE:
            continue  # a final projection off by a gain of ~1.4 changes only the logits' scale, once
        per_layer = (w.gain / want) ** 2
        message = (
            f"{step.call} assumes gain {fmt(w.gain)}, but the layer feeds "
            f"{judged_activation_label(layer)}, which needs gain {fmt(want)}: std {fmt(w.std)} vs {fmt(expected)}; "
            f"each such layer scales the signal's variance by {fmt(per_layer)}x{view.depth_note(layer)}"
        )
        yield Verdict(
            message=message,
            severity=view.severity(WARNING, layer, act, absorbed=view.norm_nearby(layer)),
            span=step.site,
            layer=layer,
            activation=act,
            expected_std=expected,
            actual_std=w.std,
            fix=_fix(view, layer, step),
        )


# Inits whose point is the weight's singular values, the standard for a weight applied step after step.
RECURRENT_FAMILIES = frozenset({"orthogonal", "identity"})
# How far a final layer's std may be from the right one before its gain matters.
FINAL_TOLERANCE = 1.5


def _std_fits(view: ModelView, layer: LayerFacts) -> bool:
    """The std is right although the gain is not: Xavier on a 1024->64 squeeze layer before a ReLU
    averages the fans into 0.97x He's std."""
    band = view.std_band(layer)
    std = layer.weight.std
    if band is None or std is None:
        return False
    tolerance = view.settings[GAIN_TOLERANCE]
    return band[0] / tolerance <= std * abs(layer.scale) <= band[1] * tolerance


def _fix(view: ModelView, layer: LayerFacts, step: InitStep) -> FixIntent | None:
    """Swap the call for the kaiming call of the right gain (safe: the intent is the activation's gain).

    Orthogonal inits and gains torch cannot name (GELU, SiLU) get no fix.
    """
    if step.origin != USER or not step.function.startswith(("init.xavier", "init.kaiming")):
        return None
    family = "uniform" if step.function.endswith("uniform_") else "normal"
    if layer.weight.mode == "fan_out" and view.fan_out_moves_signal(layer):
        # mode='fan_out' is wrong here as well (IL203): the fix drops it, which changes the scale beyond the gain
        return view.rewrite(layer, step.site, view.new_init(layer, family, None), UNSAFE)
    smooth = view.is_smooth(view.targets(layer)[0] if view.targets(layer) else None)  # a suggestion (GELU, SiLU)
    return view.rewrite(layer, step.site, view.new_init(layer, family, layer.weight.mode), UNSAFE if smooth else SAFE)


RULE = Rule(
    code="IL101",
    name="gain-mismatch",
    severity=WARNING,
    summary="The init's gain is meant for a different activation than the one the layer feeds.",
    what="""
Checks `xavier_*`, `kaiming_*` and `orthogonal_` inits against the activation
the layer's output actually flows into (found by tracing the forward): Xavier
or gain 1 before a ReLU, `nonlinearity='relu'` before tanh or sigmoid, the tanh
gain before a ReLU, a leaky `a` far from the activation's slope. A gain within
10% of the right one (`gain-tolerance`) is accepted. A layer with no activation
after it (a logits or projection layer) may use the gain of the activation
feeding its input: under fan_in that is exactly He et al.'s derivation.
""",
    why="""
A variance-preserving init sets Var(W) = g^2 / fan with g = 1/sqrt(E[f(z)^2])
for the activation f (He et al. 2015, eq. 10 and 14): sqrt(2) for ReLU, 5/3 for
tanh (PyTorch's `calculate_gain`), 1 for no activation and for SELU. With the
wrong gain every layer multiplies the signal's variance by (g_used / g_needed)^2:
Xavier before ReLU halves it per layer, so a 10-layer stack keeps 1/1000 of its
input. The severity is lowered to info when a normalization follows the layer
(it removes the scale) or the activation has no stable gain (GELU, SiLU), and
raised to error when the unnormalized chain changes the signal more than 1e4x and
the whole model's signal moves as far (see IL201).
""",
    fix_safety="""
Safe: the fix rewrites the `xavier_*`/`kaiming_*` call as `kaiming_normal_` or
`kaiming_uniform_` (the same family) with the `nonlinearity=` (and `a=`) of the
activation the layer feeds, keeping `mode='fan_out'`, the tensor argument and
the spelling of the `nn.init` prefix: the code already states the intent
(a variance-preserving init), only the gain is wrong. When the call also
initialises layers that need other inits (an `apply` function, a loop over
`self.modules()`), it gets the init most of them need, and each layer it does not
fit gets its own init in `__init__` right after the statement that runs the call
(unsafe); a final projection within 1.5x of its std keeps the call's init. No fix
when such a layer can only be reached by an index (it moves with the
constructor's arguments) or for `orthogonal_`. Activations torch has no gain
name for get He-ReLU where their gain is within 10% of sqrt(2) (GELU, Mish), else
`normal_(w, std=<NAME>_GAIN / math.sqrt(w[0].numel()))` with the gain as a named
constant (SiLU); unsafe, as switching schemes there has been reported to hurt.
Every fix is judged again on the facts it produces and offered only if no rule
then reports its layers (IL202's own fix of torch's fans excepted: the next run
applies it).
""",
    references=(
        "He et al., Delving Deep into Rectifiers, ICCV 2015",
        "Glorot & Bengio, Understanding the difficulty of training deep feedforward networks, AISTATS 2010",
        "torch.nn.init.calculate_gain",
    ),
    invalid=(
        Example(
            """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        nn.init.xavier_uniform_(self.fc1.weight)  # gain 1: assumes no activation

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
            expect=(
                Expect("IL101", 10, ("fc1",), fix='nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")'),
            ),
        ),
        Example(
            """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))
""",
            expect=(
                Expect("IL101", 10, ("fc1",), fix='nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="tanh")'),
            ),
        ),
        Example(
            """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        nn.init.xavier_normal_(self.body[0].weight, gain=nn.init.calculate_gain("tanh"))

    def forward(self, x):
        return self.body(x)
""",
            expect=(
                Expect(
                    "IL101", 8, ("body.0",), fix='nn.init.kaiming_normal_(self.body[0].weight, nonlinearity="relu")'
                ),
            ),
        ),
    ),
    valid=(
        Example(
            """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")
        nn.init.kaiming_uniform_(self.fc2.weight, nonlinearity="relu")  # input is ReLU'd: right under fan_in

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
        ),
        Example(
            """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
        nn.init.xavier_normal_(self.body[0].weight, gain=nn.init.calculate_gain("tanh"))

    def forward(self, x):
        return self.body(x)
""",
        ),
        Example(
            """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3)
        self.bn = nn.BatchNorm2d(16)
        nn.init.xavier_uniform_(self.conv.weight)  # the BatchNorm removes the scale: info at most

    def forward(self, x):
        return self.bn(self.conv(x)).relu()
""",
        ),
    ),
    thresholds=(GAIN_TOLERANCE, DEEP_FACTOR, EXTREME_FACTOR),
    check=check,
)
