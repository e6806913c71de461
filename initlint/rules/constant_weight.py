"""IL302 constant-weight: a hidden layer whose weights are all equal."""

from __future__ import annotations

from collections.abc import Iterator

from .base import WARNING, Example, Expect, ModelView, Rule, Verdict, fmt


def check(view: ModelView) -> Iterator[Verdict]:
    for layer in view.judged():
        w = layer.weight
        if not w.is_constant or not layer.paired or layer.final or layer.residual_end:
            continue
        if layer.downstream is not None and layer.downstream.role in ("gate", "output"):
            continue
        step = w.last
        message = (
            f"every weight is {fmt(w.mean)} ({w.display}); all "
            f"{layer.weight.shape[0]} units compute the same thing and receive the same gradient, "
            f"so they never differentiate"
        )
        yield Verdict(message, WARNING, (step.site if step else None) or layer.site, layer, actual_std=0.0)


RULE = Rule(
    code="IL302",
    name="constant-weight",
    severity=WARNING,
    summary="A hidden layer's weights are set to one constant (zeros_, constant_, fill_).",
    what="""
Reports Linear/Conv layers whose weight ends construction as a single value
and whose output feeds further computation. Zero-init where it is a known
technique is not reported: final (logit) layers, the last layer of a residual
branch (Fixup, zero-init residual, LoRA's B, ControlNet's zero convolutions),
and gates.
""",
    why="""
With equal weights all units of the layer compute the same output and get the
same gradient: the symmetry is never broken and the layer acts as one unit.
With zeros and a ReLU after, nothing flows back to the layers before.
""",
    references=("Goodfellow, Bengio & Courville, Deep Learning, 8.4 (breaking symmetry)",),
    invalid=(
        Example(
            """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.constant_(self.fc1.weight, 0.5)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
            expect=(Expect("IL302", 10, ("fc1",)),),
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
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        nn.init.zeros_(self.fc2.weight)  # zero logits at start: fine

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
        ),
    ),
    check=check,
)
