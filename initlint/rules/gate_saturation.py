"""IL204 gate-saturation: gates whose inputs start where sigmoid or tanh is flat."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from ..shared import theory
from ..shared.facts import DEFAULT, IDENTITY, LayerFacts, ParamInit
from .base import WARNING, Example, Expect, ModelView, Rule, Verdict, fmt

# A gate is stuck when more than this share of its units start saturated.
STUCK_SHARE = 0.25
# LSTM/GRU input-to-hidden weights (one per layer and direction); their gates are sigmoids.
_INPUT_WEIGHTS = re.compile(r"weight_ih_l\d+(_reverse)?$")


def check(view: ModelView) -> Iterator[Verdict]:
    for layer in view.model.layers:
        if layer.kind == "recurrent":
            yield from _recurrent(layer)
    for layer in view.judged():
        act = layer.downstream
        if act is None or act.role != "gate" or act.family != theory.SATURATING:
            continue
        threshold = theory.saturation_threshold(act.name)
        if threshold is None:
            continue
        input_rms = math.sqrt((layer.upstream or IDENTITY).second_moment)
        verdict = _judge(layer, "weight", layer.weight, layer.fan_in, input_rms, act.display, threshold)
        if verdict is not None:
            yield verdict


def _recurrent(layer: LayerFacts) -> Iterator[Verdict]:
    """At the first step the hidden state is 0: the gates see only the input-to-hidden product."""
    threshold = theory.saturation_threshold("sigmoid")
    assert threshold is not None
    for name, init in layer.params:
        if _INPUT_WEIGHTS.match(name) and len(init.shape) == 2:
            verdict = _judge(layer, name, init, init.shape[1], 1.0, "the sigmoid gates", threshold)
            if verdict is not None:
                yield verdict
                return  # one finding per layer: the first saturated weight says what to change


def _judge(
    layer: LayerFacts, parameter: str, init: ParamInit, fan_in: int, input_rms: float, gate: str, threshold: float
) -> Verdict | None:
    step = init.last
    if init.std is None or fan_in <= 0 or step is None or step.origin == DEFAULT:
        return None
    pre_std = init.std * abs(layer.scale) * math.sqrt(fan_in) * input_rms
    share = theory.saturated_fraction(pre_std, threshold)
    if share <= STUCK_SHARE:
        return None
    wanted = 1 / (math.sqrt(fan_in) * input_rms)  # pre-activations of std 1: inside the slope
    message = (
        f"{init.display} gives {gate} pre-activations of std {fmt(pre_std)} (std {fmt(init.std)} x "
        f"sqrt(fan_in={fan_in})): {share:.0%} of the units start where the slope is under "
        f"{theory.FLAT_SLOPE:.0%} of its maximum, stuck open or shut and passing little gradient; "
        f"std {fmt(wanted)} keeps them in the slope"
    )
    return Verdict(
        message=message,
        severity=WARNING,
        span=step.site or layer.site,
        layer=layer,
        parameter="weight" if parameter == "weight" else parameter,
        expected_std=wanted,
        actual_std=init.std,
    )


RULE = Rule(
    code="IL204",
    name="gate-saturation",
    severity=WARNING,
    summary="A gate's init puts most of its sigmoid or tanh inputs where the slope is flat.",
    what=f"""
Checks layers whose output goes through a sigmoid or tanh that gates a product
(highway and GLU-style gates, gated residuals) and the input-to-hidden weights of
LSTMs and GRUs (their gates, at the first step, when the hidden state is 0). The
gate's pre-activation std is std(W) x sqrt(fan_in) x the input's RMS (1 when
the input is not an activation's output); more than {STUCK_SHARE:.0%} of units
beyond the point where the slope drops under {theory.FLAT_SLOPE:.0%} of its
maximum (|z| > 3.64 for sigmoid, 1.82 for tanh) is reported. Biases (highway's
-2, the forget gate's +1) are conventions and not judged here.
""",
    why="""
A saturated gate is 0 or 1 whatever its input, and its gradient is near 0: it
cannot learn to open or close. `uniform_(-1, 1)` on a 128-wide highway gate gives
pre-activations of std 6.5, with 58% of units flat; `normal_(0, 1)` on an LSTM
with 128 inputs gives std 11, with 75% of gates stuck at step 0. A default or
Xavier init keeps the std near 1.
""",
    references=(
        "Srivastava, Greff & Schmidhuber, Training Very Deep Networks (highway networks), 2015",
        "Hochreiter & Schmidhuber, Long Short-Term Memory, 1997",
    ),
    invalid=(
        Example(
            """
import torch
import torch.nn as nn


class Highway(nn.Module):
    def __init__(self, width=128):
        super().__init__()
        self.transform = nn.Linear(width, width)
        self.gate = nn.Linear(width, width)
        nn.init.kaiming_normal_(self.transform.weight, nonlinearity="relu")
        nn.init.uniform_(self.gate.weight, -1, 1)

    def forward(self, x):
        t = torch.sigmoid(self.gate(x))
        return t * torch.relu(self.transform(x)) + (1 - t) * x
""",
            expect=(Expect("IL204", 11, ("gate",)),),
        ),
        Example(
            """
import torch.nn as nn


class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(128, 128, batch_first=True)
        self.out = nn.Linear(128, 100)
        for name, p in self.lstm.named_parameters():
            if "weight" in name:
                nn.init.normal_(p, 0, 1)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.out(h)
""",
            expect=(Expect("IL204", 11, ("lstm",)), Expect("IL311", 11, ("lstm",)), Expect("IL312", 7, ("lstm",))),
        ),
    ),
    valid=(
        Example(
            """
import torch
import torch.nn as nn


class Highway(nn.Module):
    def __init__(self, width=128):
        super().__init__()
        self.transform = nn.Linear(width, width)
        self.gate = nn.Linear(width, width)
        nn.init.kaiming_normal_(self.transform.weight, nonlinearity="relu")
        nn.init.xavier_uniform_(self.gate.weight)
        nn.init.constant_(self.gate.bias, -2.0)  # carry the input at first: a convention

    def forward(self, x):
        t = torch.sigmoid(self.gate(x))
        return t * torch.relu(self.transform(x)) + (1 - t) * x
""",
        ),
    ),
    check=check,
)
