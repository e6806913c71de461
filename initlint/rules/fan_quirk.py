"""IL202 fan-quirk: a fan-based init that relied on PyTorch's wrong fans."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..shared import theory
from ..shared.facts import DEFAULT, LayerFacts
from .base import (
    EXTREME_FACTOR,
    INFO,
    SCALE_TOLERANCE,
    WARNING,
    Example,
    Expect,
    ModelView,
    Rule,
    Verdict,
    fmt,
    std_for_gain,
)


def _why(layer: LayerFacts) -> str:
    if layer.kind == "attention":
        return "packed q/k/v in_proj_weight (3E, E): torch counts fan_out as 3E"
    if layer.kind == "conv_transpose":
        return "transposed conv, weight (in, out/groups, k...): torch swaps fan_in and fan_out and ignores the stride"
    if layer.kind == "custom":
        return "weight stored as (in, out): torch reads its fans swapped"
    return f"grouped conv (groups={layer.get('groups')}): torch's fan_out is {layer.get('groups')}x too large"


def check(view: ModelView) -> Iterator[Verdict]:
    tolerance = view.settings[SCALE_TOLERANCE]
    for layer in view.model.layers:
        if layer.kind not in ("conv", "conv_transpose", "attention", "custom"):
            continue
        if layer.kind == "custom" and not layer.layout_known:
            continue
        w = layer.weight
        step = w.last
        if step is None or w.gain is None or not w.std or not step.function.startswith(("init.xavier", "init.kaiming")):
            continue
        if step.origin == DEFAULT and layer.kind != "attention":
            continue
        torch_fans = theory.torch_fans(w.shape)
        if (torch_fans.fan_in, torch_fans.fan_out) == (layer.fan_in, layer.fan_out):
            continue
        intended = std_for_gain(step.function, w.gain, layer.fan_in, layer.fan_out, w.mode)
        ratio = w.std / intended
        if abs(math.log(ratio)) <= math.log(tolerance):
            continue
        message = (
            f"{w.display} computed its std from torch's fans (fan_in={torch_fans.fan_in}, "
            f"fan_out={torch_fans.fan_out}); this is a {_why(layer)}. With the true fans "
            f"(fan_in={layer.fan_in}, fan_out={layer.fan_out}) the same init gives std {fmt(intended)}, "
            f"not {fmt(w.std)} ({fmt(ratio)}x){view.depth_note(layer)}"
        )
        if layer.kind == "attention":
            severity = INFO  # PyTorch's own MultiheadAttention default (pytorch#166378)
        else:
            severity = view.severity(WARNING, layer, layer.downstream, absorbed=view.norm_nearby(layer))
        yield Verdict(
            message,
            severity,
            step.site or layer.site,
            layer,
            activation=layer.downstream,
            expected_std=intended,
            actual_std=w.std,
        )


RULE = Rule(
    code="IL202",
    name="fan-quirk",
    severity=WARNING,
    summary=(
        "A Xavier/Kaiming init computed with PyTorch's fans where they are wrong "
        "(grouped, transposed, packed, transposed-layout weights)."
    ),
    what="""
PyTorch derives fans from the weight's shape as if it were a plain Linear/Conv
weight. For grouped and depthwise convs its fan_out is `groups` times too
large; for transposed convs (weight (in, out/g, k..)) it swaps fan_in and
fan_out and ignores the stride overlap; for MultiheadAttention's packed
in_proj_weight (3E, E) it counts fan_out as 3E; for layers that store their
weight as (in, out), like transformers' Conv1D, it swaps them. This rule
recomputes the fans from the layer and reports a fan-based init whose std is
more than 1.25x off what the same init gives with the true fans.
""",
    why="""
`kaiming_normal_(mode='fan_out')` on a depthwise Conv2d(32, 32, 3, groups=32)
uses fan_out 288 where each input feeds 9 outputs: std sqrt(2/288) instead of
sqrt(2/9), 5.7x too small (pytorch#23854). MultiheadAttention's Xavier on the
packed projection gives q, k, v half the variance of separate Xavier
(pytorch#166378). Next to a normalization the finding is info; the packed
attention case, PyTorch's own default, is always info.
""",
    references=(
        "pytorch/pytorch#23854 (grouped conv fans)",
        "pytorch/pytorch#166378 (packed in_proj fan)",
        "Dumoulin & Visin, A guide to convolution arithmetic, 2016 (transposed convs)",
    ),
    invalid=(
        Example(
            """
import torch
import torch.nn as nn


class DepthwiseStack(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.pw = nn.Conv2d(32, 32, 1)
        nn.init.kaiming_normal_(self.dw.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.pw(torch.relu(self.dw(x)))
""",
            expect=(Expect("IL202", 10, ("dw",)),),
        ),
    ),
    valid=(
        Example(
            """
import torch
import torch.nn as nn


class DepthwiseStack(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.pw = nn.Conv2d(32, 32, 1)
        nn.init.kaiming_normal_(self.dw.weight, mode="fan_in", nonlinearity="relu")  # fan_in is right

    def forward(self, x):
        return self.pw(torch.relu(self.dw(x)))
""",
        ),
    ),
    thresholds=(SCALE_TOLERANCE, EXTREME_FACTOR),
    check=check,
)
