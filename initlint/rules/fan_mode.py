"""IL203 fan-out-mode: `mode='fan_out'` where no normalization keeps the forward signal."""

from __future__ import annotations

from collections.abc import Iterator

from ..fix.intent import UNSAFE, FixIntent
from ..shared.facts import DEFAULT, LayerFacts
from .base import (
    WARNING,
    Example,
    Expect,
    ModelView,
    Rule,
    Verdict,
    fmt,
    judged_activation_label,
    std_for_gain,
)


def check(view: ModelView) -> Iterator[Verdict]:
    for layer in view.judged():
        w = layer.weight
        step = w.last
        if w.mode != "fan_out" or w.gain is None or step is None or step.origin == DEFAULT or not layer.paired:
            continue
        if not view.fan_out_moves_signal(layer) or not view.targets(layer):
            continue  # a norm resets the forward signal (torchvision's ResNets); a last layer's only feeds the loss
        if not view.accepts_gain(layer, w.gain, None):
            continue  # the gain itself is wrong: IL101's finding (its fix drops the mode too)
        expected = std_for_gain(step.function, w.gain, layer.fan_in, layer.fan_out, None)
        actual = std_for_gain(step.function, w.gain, layer.fan_in, layer.fan_out, "fan_out")
        ratio = actual / expected
        act = view.targets(layer)[0]
        message = (
            f"{step.call} takes its std from fan_out={layer.fan_out}, not fan_in={layer.fan_in}: std "
            f"{fmt(actual)}, {fmt(ratio)}x the forward variance-preserving {fmt(expected)} for "
            f"{judged_activation_label(layer)}; with no normalization after it, this layer scales the signal's "
            f"variance by {fmt(ratio**2)}x{view.depth_note(layer)}"
        )
        yield Verdict(
            message=message,
            severity=view.severity(WARNING, layer, act),
            span=step.site,
            layer=layer,
            activation=act,
            expected_std=expected,
            actual_std=actual,
            fix=_fix(view, layer),
        )


def _fix(view: ModelView, layer: LayerFacts) -> FixIntent | None:
    """Drop the mode: kaiming's default, fan_in, keeps the forward signal."""
    step = layer.weight.last
    if step is None or not step.function.startswith("init.kaiming"):
        return None
    family = "uniform" if step.function.endswith("uniform_") else "normal"
    return view.rewrite(layer, step.site, view.new_init(layer, family, None), UNSAFE)


RULE = Rule(
    code="IL203",
    name="fan-out-mode",
    severity=WARNING,
    summary="`mode='fan_out'` in a layer whose widths differ and that no normalization follows.",
    what="""
Checks `kaiming_*(mode='fan_out')` on layers with no normalization after them
(nor after the next layer) and more outputs than inputs, or fewer, by more than
`scale-tolerance`. Not the last layer, whose output only the loss reads.
""",
    why="""
fan_out mode keeps the *gradients'* variance (He et al. 2015, eq. 14); the
forward signal then changes by fan_in/fan_out at each layer. That is harmless
when a BatchNorm follows every conv (torchvision's ResNets, which use fan_out)
or in square stacks, but in an unnormalized stack whose widths change
(2048 -> 128 -> 1024 -> 128) the forward variance moves 16x, 1/8x, 8x, and a
3 -> 128 stem starts at 0.15x of He's std.
""",
    fix_safety="""
Unsafe: the fix drops `mode='fan_out'` (fan_in, the forward signal), keeping
the function and the gain. It changes every weight's scale, which may have been
chosen with the backward pass in mind.
""",
    references=("He et al., Delving Deep into Rectifiers, ICCV 2015, sec. 2.2",),
    invalid=(
        Example(
            """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2048, 128)
        self.fc2 = nn.Linear(128, 1024)
        self.out = nn.Linear(1024, 10)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.out(torch.relu(self.fc2(torch.relu(self.fc1(x)))))
""",
            expect=(
                Expect(
                    "IL203",
                    13,
                    ("fc1", "fc2"),
                    fix='nn.init.kaiming_normal_(m.weight, nonlinearity="relu")',
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
        self.stem = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(64)
        self.head = nn.Linear(64, 10)
        nn.init.kaiming_normal_(self.stem.weight, mode="fan_out", nonlinearity="relu")  # a BatchNorm follows

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.stem(x))).mean((2, 3)))
""",
        ),
    ),
    check=check,
)
