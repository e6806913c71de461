"""IL311 recurrent-init: recurrent weights that are not orthogonal (a hint)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from .base import INFO, Example, Expect, ModelView, Rule, Verdict

_RECURRENT = re.compile(r"weight_hh(_l\d+)?(_reverse)?$")


def check(view: ModelView) -> Iterator[Verdict]:
    for layer in view.model.layers:
        if layer.kind != "recurrent":
            continue
        plain = [
            (name, init)
            for name, init in layer.params
            if _RECURRENT.match(name) and init.family not in ("orthogonal", "identity")
        ]
        if not plain:
            continue
        names = ", ".join(name for name, _ in plain)
        message = (
            f"recurrent weights {names} use {plain[0][1].display}; an orthogonal init "
            f"(nn.init.orthogonal_) keeps the recurrent Jacobian's singular values at 1 across time steps"
        )
        step = plain[0][1].last
        yield Verdict(
            message,
            INFO,
            (step.site if step and step.origin != "default" else None) or layer.site,
            layer,
            parameter=plain[0][0],
        )


RULE = Rule(
    code="IL311",
    name="recurrent-init",
    severity=INFO,
    summary="Recurrent weights (weight_hh) are not orthogonal: a suggestion, never a failure.",
    what="""
Notes RNN/LSTM/GRU hidden-to-hidden weights that keep PyTorch's default
U(+-1/sqrt(hidden)) or another non-orthogonal init.
""",
    why="""
Over T time steps the hidden state is multiplied by the recurrent weights T
times; with singular values away from 1 the signal and the gradients vanish or
explode exponentially in T. An orthogonal (or identity, for IRNNs) init starts
every singular value at 1 (Saxe et al. 2014; Le et al. 2015). Many models train
fine without it, hence info.
""",
    references=(
        "Saxe et al., Exact solutions to the nonlinear dynamics of learning, ICLR 2014",
        "Le, Jaitly & Hinton, A simple way to initialize recurrent networks of ReLUs, 2015",
    ),
    invalid=(
        Example(
            """
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(32, 64, batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0]
""",
            expect=(Expect("IL311", 7, ("rnn",)),),
        ),
    ),
    valid=(
        Example(
            """
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(32, 64, batch_first=True)
        nn.init.orthogonal_(self.rnn.weight_hh_l0)

    def forward(self, x):
        return self.rnn(x)[0]
""",
        ),
    ),
    check=check,
)
