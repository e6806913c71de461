"""IL102 default-init: PyTorch's default init left where the signal then vanishes."""

from __future__ import annotations

from collections.abc import Iterator

from ..fix.intent import UNSAFE, FixIntent, InsertInit, NewInit, NoFix, Target
from ..shared.facts import DEFAULT, LayerFacts
from .base import (
    DEEP_FACTOR,
    EXTREME_FACTOR,
    WARNING,
    Example,
    Expect,
    ModelView,
    Rule,
    Verdict,
    fmt,
    judged_activation_label,
)


def check(view: ModelView) -> Iterator[Verdict]:
    fixes: dict[int, FixIntent | None] = {}  # one fix per group of layers assigned together
    for layer in view.judged():
        w = layer.weight
        step = w.last
        if step is None or step.origin != DEFAULT or not layer.paired:
            continue
        chain = view.chain(layer)
        if not view.is_deep_problem(chain) or not view.is_deep_problem(view.default_part(chain)):
            continue  # the chain's trouble, if any, comes from other layers' inits
        act = view.targets(layer)[0] if view.targets(layer) else None
        expected = view.expected_std(layer)
        if act is None or expected is None:  # no activation, or no inputs (Linear(0, n)): no scale to keep
            continue
        message = (
            f"keeps PyTorch's default init {step.call} "
            f"(std {fmt(w.std)} = 1/sqrt(3 fan_in)), before {judged_activation_label(layer)} the "
            f"variance-preserving std is {fmt(expected)} ({fmt((w.std or 0) / expected)}x){view.depth_note(layer)}"
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
            fix=_fix(view, layer, new, fixes),
        )


def _fix(
    view: ModelView, layer: LayerFacts, new: NewInit | None, fixes: dict[int, FixIntent | None]
) -> FixIntent | None:
    """Explicit inits right after the statement that assigned the layer (a factory's model has
    no such statement), covering every layer of its kind that statement assigned: sizes that
    vary with the constructor's arguments then never matter."""
    if new is None or view.model.kind != "class":
        return None
    mixed = view.mixed_calls(layer)
    if mixed is not None:
        return mixed
    anchor = view.attribute_site(layer)
    together = view.assigned_together(layer) if anchor is not None else [layer]
    if id(together) not in fixes:
        conflict = _conflict(view, together)
        targets = tuple(Target(layer.name, layer.layer_type, layer.site, layer.assigned) for layer in together)
        fixes[id(together)] = (
            NoFix(conflict) if conflict else InsertInit(view.model.path, view.model.name, targets, new, anchor, UNSAFE)
        )
    return fixes[id(together)]


def _conflict(view: ModelView, together: list[LayerFacts]) -> str | None:
    """Why one inserted init cannot serve all these layers, or None. The same for each of them,
    so their findings' fixes agree."""

    def need(layer: LayerFacts) -> str:
        if layer.weight.last is None or layer.weight.last.origin != DEFAULT:
            return "its own explicit init"
        wanted = view.new_init(layer, "normal", None)
        return wanted.describe() if wanted is not None else "an init torch cannot name"

    first = together[0]
    wanted = need(first)
    other = next((layer for layer in together[1:] if need(layer) != wanted), None)
    if other is None:
        return None
    return (
        f"{first.name} and {other.name}, assigned by one statement, need different inits "
        f"({need(first)} and {need(other)}): write their inits by hand"
    )


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
Unsafe (applied with `--unsafe-fixes`): the fix adds an explicit
`kaiming_normal_(..., nonlinearity=...)` right after the statement that
assigned the layers, in the same block (inside the `if` or loop that built
them): one call for a layer held by an attribute, a loop over the
container's `.modules()` with an `isinstance` check for layers built in a
`Sequential`/`ModuleList`, `getattr(self, <name>)` inside a `setattr` loop.
It is valid for every constructor argument (no indices or sizes of one
instance are written). No fix is offered when the layers assigned together
need different inits (a head at the end of the container), when layers join
the container later (`.append`), or for models built by factory functions.
It changes the model's starting point, so it is offered, not assumed.
""",
    references=(
        "pytorch/pytorch#15314, #57109: the default init is not He init",
        "He et al., Delving Deep into Rectifiers, ICCV 2015",
    ),
    invalid=(
        Example(
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
            expect=(
                Expect("IL102", 8, ("net.0",)),
                Expect("IL102", 9, ("net.2",)),
                Expect("IL102", 10, ("net.4",)),
                Expect("IL102", 11, ("net.6",)),
            ),
        ),
    ),
    valid=(
        Example(
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
        ),
        Example(
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
    ),
    thresholds=(DEEP_FACTOR, EXTREME_FACTOR),
    check=check,
)
