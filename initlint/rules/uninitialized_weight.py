"""IL303 uninitialized-weight: a weight created with torch.empty and never written."""

from __future__ import annotations

from collections.abc import Iterator

from .base import ERROR, Example, Expect, ModelView, Rule, Verdict


def check(view: ModelView) -> Iterator[Verdict]:
    for layer in view.model.layers:
        for parameter, init in (("weight", layer.weight), ("bias", layer.bias)):
            if init is None or init.family != "uninitialized":
                continue
            message = (
                "created with torch.empty and never "
                "initialized; its values are whatever memory held (zeros, garbage, NaN or 1e38)"
            )
            yield Verdict(message, ERROR, layer.site, layer, parameter=parameter)


RULE = Rule(
    code="IL303",
    name="uninitialized-weight",
    severity=ERROR,
    summary="A parameter made with torch.empty(...) is never initialized.",
    what="""
Reports parameters whose storage came from `torch.empty` (or `new_empty`,
`empty_like`) and received no write during construction, typically a custom
layer that forgot its `reset_parameters()`.
""",
    why="""
`torch.empty` does not set values. Training starts from leftover memory: often
zeros (dead layer), sometimes huge values or NaN. Real cases: attention weights
never initialized (torchMoji#11, values up to 1e38), TransformerLens#518.
""",
    references=("huggingface/torchMoji#11", "TransformerLens#518"),
    invalid=(
        Example(
            """
import torch
import torch.nn as nn
import torch.nn.functional as F


class Dense(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(32, 64))

    def forward(self, x):
        return F.linear(x, self.weight)
""",
            expect=(Expect("IL303", 6, ("",)),),
        ),
    ),
    valid=(
        Example(
            """
import torch
import torch.nn as nn
import torch.nn.functional as F


class Dense(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(32, 64))
        nn.init.kaiming_uniform_(self.weight, nonlinearity="linear")

    def forward(self, x):
        return F.linear(x, self.weight)
""",
        ),
    ),
    check=check,
)
