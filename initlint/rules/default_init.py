"""IL102 default-init: PyTorch's default init left where the signal then vanishes."""

from __future__ import annotations

from typing import Iterator

from ..facts import DEFAULT, LayerFacts
from ..fix.intent import UNSAFE, InsertInit, NewInit
from .base import WARNING, ModelView, Rule, Verdict, fmt, judged_activation_label


def check(view: ModelView) -> Iterator[Verdict]:
    for layer in view.judged():
        w = layer.weight
        step = w.last
        if step is None or step.origin != DEFAULT or not layer.paired:
            continue
        chain = view.chain(layer)
        if not view.is_deep_problem(chain) or not view.is_deep_problem(view.default_part(chain)):
            continue  # the chain's trouble, if any, comes from other layers' inits
        act = view.targets(layer)[0] if view.targets(layer) else None
        if act is None:
            continue
        expected = view.expected_std(layer)
        message = (
            f"keeps PyTorch's default init {step.call} "
            f"(std {fmt(w.std)} = 1/sqrt(3 fan_in)), before {judged_activation_label(layer)} the "
            f"variance-preserving std is {fmt(expected)} ({fmt((w.std or 0) / expected)}x); {chain.consequence}"
        )
        new = view.new_init(layer, "normal", None)
        yield Verdict(
            message=message,
            severity=view.severity(WARNING, layer, act),
            span=layer.site or step.site,
            layer=layer,
            activation=act,
            expected_std=expected,
            actual_std=w.std,
            fix=_fix(view, layer, new),
        )


def _fix(view: ModelView, layer: LayerFacts, new: NewInit | None) -> InsertInit | None:
    """Explicit init statements in the model's own __init__ (a factory's model has none to edit)."""
    if new is None or view.model.kind != "class":
        return None
    return InsertInit(view.model.path, view.model.name, (layer.name,), new, view.attribute_site(layer), UNSAFE)


RULE = Rule(
    code="IL102",
    name="default-init",
    severity=WARNING,
    summary="PyTorch's default init is left on layers whose unnormalized chain then shrinks the signal 100x or more.",
    what="""
Finds Linear/Conv layers that keep PyTorch's default init and sit in an
unnormalized chain (layers joined by activations, no norm or residual add
between) along which the predicted signal changes by more than 100x
(`deep-factor`). Short chains and normalized networks are left alone.
""",
    why="""
PyTorch's default is `kaiming_uniform_(a=sqrt(5))` = U(-1/sqrt(fan_in),
1/sqrt(fan_in)), std 1/sqrt(3 fan_in): 0.41x He for ReLU, kept for backward
compatibility, not chosen for any activation (pytorch#15314, #57109). Each
ReLU layer then multiplies the signal's variance by 1/6: after 8 layers it is
about 1e-6 of the input and the gradients vanish with it. The message gives the
predicted factor over the chain; severity is error beyond 1e4x.
""",
    fix_safety="""
Unsafe (applied with `--unsafe-fixes`): the fix adds explicit
`kaiming_normal_(self.<layer>.weight, nonlinearity=...)` statements to the model's
`__init__`, after the statement that assigned the layers (a loop over the
container when many layers need the same init). It changes the model's
starting point, so it is offered, not assumed. Models built by factory
functions get no fix.
""",
    references=(
        "pytorch/pytorch#15314, #57109: the default init is not He init",
        "He et al., Delving Deep into Rectifiers, ICCV 2015",
    ),
    invalid=(
        """
import torch.nn as nn


class DeepMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(64, 64), nn.ReLU(),
            nn.Linear(64, 64), nn.ReLU(),
            nn.Linear(64, 64), nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        return self.net(x)
""",
    ),
    valid=(
        """
import torch.nn as nn


class DeepMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(64, 64), nn.ReLU(),
            nn.Linear(64, 64), nn.ReLU(),
            nn.Linear(64, 64), nn.ReLU(),
            nn.Linear(64, 10),
        )
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")

    def forward(self, x):
        return self.net(x)
""",
        """
import torch.nn as nn


class SmallMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.net(x)
""",
    ),
    check=check,
)
