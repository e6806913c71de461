"""IL201 init-scale: a hand-rolled std far from the variance-preserving one."""

from __future__ import annotations

from collections.abc import Iterator

from ..fix.intent import UNSAFE, FixIntent
from ..shared.facts import DEFAULT, USER, LayerFacts
from .base import (
    DEEP_FACTOR,
    EXTREME_FACTOR,
    INFO,
    SCALE_TOLERANCE,
    WARNING,
    Example,
    Expect,
    ModelView,
    Rule,
    Threshold,
    Verdict,
    fmt,
    judged_activation_label,
    recommended_gain,
)

# Families whose std was chosen by hand (no gain): normal_, uniform_, randn * c...
_HAND_FAMILIES = {"normal", "uniform", "truncated_normal", "sparse", "unknown"}

ABSORBED_FACTOR = Threshold(
    "absorbed-factor",
    4.0,
    "A std within this factor of the variance-preserving one is accepted when a normalization next to the "
    "layer removes the scale (N(0, 0.02) in BERT, GPT-2, ViT and DCGAN blocks).",
)


def check(view: ModelView) -> Iterator[Verdict]:
    tolerance = view.settings[SCALE_TOLERANCE]
    absorbed_factor = view.settings[ABSORBED_FACTOR]
    for layer in view.judged():
        w = layer.weight
        step = w.last
        if w.gain is not None or w.family not in _HAND_FAMILIES or not w.std or not layer.paired:
            continue
        if step is not None and step.origin == DEFAULT:
            continue
        targets = view.targets(layer)
        expected = view.expected_std(layer)
        if not targets or expected is None:  # no activation, or no inputs (Linear(0, n)): no scale to keep
            continue
        std = w.std * abs(layer.scale)
        band = view.std_band(layer)
        if band is None:
            continue
        low, high = band
        act = targets[0]
        ratio = std / expected
        if low / tolerance <= std <= high * tolerance:
            continue
        too_small = std < low
        near_norm = view.norm_nearby(layer) or layer.norm_before
        if too_small and (layer.final or layer.residual_end):
            continue  # zero/small logits and residual branches are conventions
        if near_norm and 1 / absorbed_factor <= ratio <= absorbed_factor:
            continue  # N(0, 0.02) in normalized blocks: BERT, GPT-2, ViT, DCGAN
        severity = view.severity(WARNING, layer, act)
        if near_norm and too_small and severity == WARNING:
            severity = INFO  # the norm rescales a small signal; a large one still swamps skips and softmaxes
        direction = "too small" if too_small else "too large"
        message = (
            f"{w.display} gives std {fmt(std)}, {fmt(ratio)}x the "
            f"variance-preserving {fmt(expected)} for {judged_activation_label(layer)} "
            f"(gain {fmt(recommended_gain(act))}, fan_in={layer.fan_in}): {direction}; each such layer scales "
            f"the signal's variance by {fmt(ratio**2)}x{view.depth_note(layer)}"
        )
        yield Verdict(
            message=message,
            severity=severity,
            span=(step.site if step is not None else None) or layer.site,
            layer=layer,
            activation=act,
            expected_std=expected,
            actual_std=std,
            fix=_fix(view, layer),
        )


# Hand-rolled calls the fix can replace: the first argument (or the receiver) is the weight.
_REPLACEABLE = {"init.normal_", "init.uniform_", "init.trunc_normal_", "Tensor.normal_", "Tensor.uniform_"}


def _fix(view: ModelView, layer: LayerFacts) -> FixIntent | None:
    """Replace the hand-rolled call with the kaiming call of the right gain (unsafe: the std may be tuned)."""
    step = layer.weight.last
    if step is None or step.origin != USER or step.function not in _REPLACEABLE:
        return None
    family = "uniform" if step.function.endswith("uniform_") else "normal"
    return view.rewrite(layer, step.site, view.new_init(layer, family, None), UNSAFE)


RULE = Rule(
    code="IL201",
    name="init-scale",
    severity=WARNING,
    summary="A hand-picked std (normal_(0, 0.01), uniform_(-b, b), randn * c) is far from the variance-preserving one.",
    what="""
Checks inits without a gain (`normal_`, `uniform_`, `trunc_normal_`, `.data.normal_()`,
`torch.randn(...) * c`) against the variance-preserving std g / sqrt(fan) for
the activation the layer feeds, with g as in IL101. Anything between the
fan_in and the fan_out value, widened by 1.25x (`scale-tolerance`), is fine.
""",
    why="""
With Var(W) = s^2 each layer multiplies the signal's second moment by
fan_in * s^2 * E[f(z)^2] (He et al. 2015, eq. 10). `normal_(0, 0.01)` on
Linear(64, 32) before a ReLU gives std 0.01 where sqrt(2/64) = 0.177 keeps the
signal: each layer divides its variance by 313. Conventions are not flagged:
small or zero final layers and residual-branch outputs (GPT-2's
0.02/sqrt(2n), Fixup, zero-init heads), and stds within 4x in normalized blocks
(N(0, 0.02) in BERT, GPT-2, ViT, DCGAN), where a norm removes the scale. Next to
a norm the finding is info; it becomes an error when the unnormalized chain
changes the signal more than 1e4x and the whole model's signal moves as far:
the second moment is carried through every node of the dataflow (residual adds
sum branch and skip, norms restore what is above their eps, tanh saturates at
its scale, products multiply) for these inits and for variance-preserving ones,
and a collapse must reach the model's output (an explosion any node). A small
residual branch whose stream carries the signal stays a warning and says so.
""",
    fix_safety="""
Unsafe (applied with `--unsafe-fixes`): the fix replaces `nn.init.normal_(w, ...)`,
`nn.init.uniform_`, `trunc_normal_` or `w.data.normal_(...)`/`.uniform_(...)` with
`kaiming_normal_`/`kaiming_uniform_(w, nonlinearity=...)` for the layer's
activation. A hand-picked std may have been tuned on purpose, so the change is
offered, not assumed. GELU and Mish get He-ReLU (their gain is within 10% of
sqrt(2)), SiLU `normal_(w, std=SILU_GAIN / math.sqrt(w[0].numel()))` with the gain
as a named constant. A call shared by layers that need different inits is split as
IL101's is (the majority's init, overrides after the statement that runs the call).
No fix for `torch.randn(...) * c` constructions.
""",
    references=(
        "He et al., Delving Deep into Rectifiers, ICCV 2015",
        "LeCun et al., Efficient BackProp, 1998",
        "shared/reference/initialization.md, section 4 (conventions)",
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
        self.fc1.weight.data.normal_(0, 0.01)  # 18x smaller than He for ReLU

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
            expect=(
                Expect("IL201", 10, ("fc1",), fix='nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")'),
            ),
        ),
        Example(
            """
import math
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.normal_(self.fc1.weight, std=math.sqrt(1 / self.fc1.in_features))  # LeCun: 0.71x He

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
            expect=(
                Expect("IL201", 11, ("fc1",), fix='nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")'),
            ),
        ),
    ),
    valid=(
        Example(
            """
import math
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)
        nn.init.normal_(self.fc1.weight, std=math.sqrt(2 / 64))  # He for ReLU
        nn.init.normal_(self.fc2.weight, std=0.01)  # small logits: a convention

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
        ),
    ),
    thresholds=(SCALE_TOLERANCE, ABSORBED_FACTOR, DEEP_FACTOR, EXTREME_FACTOR),
    check=check,
)
