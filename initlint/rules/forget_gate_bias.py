"""IL312 forget-gate-bias: an LSTM whose forget-gate bias starts near 0 (a hint)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..shared.facts import ParamInit
from .base import INFO, Example, Expect, ModelView, Rule, Verdict, fmt

_BIAS = re.compile(r"bias_(ih|hh)(_l\d+)?(_reverse)?$")


def forget_bias(init: ParamInit, hidden: int) -> float:
    """The mean value of a bias's forget-gate slice [H, 2H) after construction."""
    value = 0.0
    for step in init.steps:
        if step.effect == "set":
            value = init.mean if step is init.last and init.std == 0.0 and init.mean is not None else 0.0
        elif step.effect == "partial" and step.region and step.value is not None:
            start, end = step.region
            if start <= hidden and end >= 2 * hidden:
                value = step.value
    return value


def check(view: ModelView) -> Iterator[Verdict]:
    for layer in view.model.layers:
        if layer.kind != "recurrent" or layer.get("mode") not in ("LSTM", "LSTMCell"):
            continue
        hidden = layer.get("hidden_size")
        if not isinstance(hidden, int):  # set with the mode, for every recurrent layer (shared.layer_facts)
            continue
        biases: dict[str, float] = {}
        for name, init in layer.params:
            match = _BIAS.match(name)
            if match:
                key = (match.group(2) or "") + (match.group(3) or "")
                biases[key] = biases.get(key, 0.0) + forget_bias(init, hidden)
        low = {key: total for key, total in biases.items() if total < 0.5}
        if not low:
            continue
        total = min(low.values())
        message = (
            f"the forget-gate bias (b_ih[{hidden}:{2 * hidden}] + b_hh[{hidden}:{2 * hidden}]) starts at "
            f"{fmt(total)}; setting it to 1 keeps the cell state (and its gradient) flowing early in training"
        )
        yield Verdict(message, INFO, layer.site, layer, parameter="bias")


RULE = Rule(
    code="IL312",
    name="forget-gate-bias",
    severity=INFO,
    summary="An LSTM's forget-gate bias starts near 0 instead of 1: a suggestion, never a failure.",
    what="""
Sums the forget-gate slice [H, 2H) of each LSTM layer's b_ih and b_hh (PyTorch
orders the gates i, f, g, o; the two biases add up) and notes layers where it
is below 0.5 after construction.
""",
    why="""
With a forget-gate bias near 0 the gate starts half closed and the cell
forgets quickly, which slows learning of long dependencies; a bias of 1 (Gers
et al. 2000; Jozefowicz et al. 2015) fixes it. A rule that wanted all biases at
zero would misfire on exactly this convention.
""",
    references=(
        "Gers, Schmidhuber & Cummins, Learning to forget, 2000",
        "Jozefowicz, Zaremba & Sutskever, An empirical exploration of recurrent network architectures, ICML 2015",
    ),
    invalid=(
        Example(
            """
import torch.nn as nn


class LanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 64)

    def forward(self, x):
        return self.lstm(x)[0]
""",
            expect=(
                Expect("IL311", 7, ("lstm",)),
                Expect("IL312", 7, ("lstm",)),
            ),
        ),
    ),
    valid=(
        Example(
            """
import torch
import torch.nn as nn


class LanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 64)
        nn.init.orthogonal_(self.lstm.weight_hh_l0)  # orthogonal recurrent weights (IL311)
        with torch.no_grad():
            self.lstm.bias_ih_l0[64:128].fill_(1.0)

    def forward(self, x):
        return self.lstm(x)[0]
""",
        ),
    ),
    check=check,
)
