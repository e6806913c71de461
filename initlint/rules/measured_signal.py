"""IL206 measured-signal: the forward at init collapses or explodes where no init finding says why."""

from __future__ import annotations

from collections.abc import Iterator

from ..shared.facts import LayerFacts
from .base import EXTREME_FACTOR, WARNING, Example, Expect, ModelView, Rule, StaticDiffers, Verdict, fmt


def check(view: ModelView) -> Iterator[Verdict]:
    reference = _model_input_rms(view)
    if reference is None:
        return
    extreme = view.settings[EXTREME_FACTOR]
    for layer in view.model.layers:
        if layer.measured_rms is None or not layer.input_rms:
            continue  # not measured, or nothing reached it (an RNN's zero initial state)
        factor = (layer.measured_rms / reference) ** 2
        if 1 / extreme <= factor <= extreme:
            continue
        if view.in_residual_branch(layer) and factor < 1:
            continue  # a small residual branch: the skip path carries the signal
        if view.is_deep_problem(view.chain(layer)):
            return  # predicted: the init findings on that chain explain it
        change = "collapses" if factor < 1 else "explodes"
        message = (
            f"measured at init, one forward on random inputs gives {layer.name}'s output an RMS of "
            f"{fmt(layer.measured_rms)} for an input of RMS {fmt(reference)}: the signal's second moment "
            f"{change} ({fmt(factor)}x) before this layer, and the recorded inits do not predict it (a scaling "
            f"in the forward, a buffer or a custom op initlint does not follow)"
        )
        yield Verdict(message=message, severity=WARNING, span=layer.site, layer=layer)
        return  # the first place it shows; later layers inherit it


def _model_input_rms(view: ModelView) -> float | None:
    """The RMS of the model's input, as its first layer reading it directly saw it."""
    first: LayerFacts | None = next(
        (
            layer
            for layer in view.model.layers
            if layer.input_rms and layer.upstream and layer.upstream.label == "input"
        ),
        None,
    )
    return first.input_rms if first is not None else None


RULE = Rule(
    code="IL206",
    name="measured-signal",
    severity=WARNING,
    summary="One forward at init shows the signal collapsing or exploding where the inits predict no such thing.",
    what="""
Full mode runs one forward at init on random inputs (the models it can build on
the CPU) and records each weight layer's input and output RMS (`predicted_rms`
and `measured_rms` in the JSON). Reports the first layer whose output's second
moment is more than `extreme-factor` away from the model input's when no
unnormalized chain of recorded inits predicts it. A chain the rules call
extreme but that the forward does not show is softened the other way: its
findings are not raised to errors and say what was measured.
""",
    why="""
The rules predict the signal from the init calls they recorded. Whatever they do
not see (a constant or buffer scaling the activations, a custom op, weights
loaded from elsewhere) can still make the network start dead or saturated; the
measurement catches it and points at the first layer where it shows.
""",
    invalid=(
        Example(
            """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64, bias=False)
        self.fc2 = nn.Linear(64, 64, bias=False)
        self.fc3 = nn.Linear(64, 10, bias=False)
        self.register_buffer("gain", torch.full((64,), 1e-3))  # a forgotten scale
        for m in (self.fc1, self.fc2):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x):
        x = torch.relu(self.fc1(x)) * self.gain
        x = torch.relu(self.fc2(x)) * self.gain
        return self.fc3(x)
""",
            expect=(Expect("IL206", 9, ("fc2",)),),
            static=StaticDiffers("static mode runs nothing: there is no measurement"),
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

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
        ),
    ),
    check=check,
)
