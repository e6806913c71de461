"""IL102 default-init: PyTorch's default init left where the signal then vanishes."""

from __future__ import annotations

from collections.abc import Iterator

from ..fix.intent import UNSAFE, FixIntent, GainInit, InsertInit, NewInit, NoFix, Target
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
    view: ModelView, layer: LayerFacts, new: NewInit | GainInit | None, fixes: dict[int, FixIntent | None]
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
        shared = _shared_init(view, together)
        targets = tuple(Target(layer.name, layer.layer_type, layer.site, layer.assigned) for layer in together)
        fixes[id(together)] = (
            view.rejudged(InsertInit(view.model.path, view.model.name, targets, shared, anchor, UNSAFE))
            if not isinstance(shared, str)
            else NoFix(shared)
        )
    return fixes[id(together)]


def _shared_init(view: ModelView, together: list[LayerFacts]) -> NewInit | GainInit | str:
    """The init that fits every one of these layers (the one most of them need, first), or why none
    does. The same for each of them, so their findings' fixes agree: a ReLU stack's logits layer
    takes He-ReLU too (its input is ReLU'd: right under fan_in)."""

    def need(layer: LayerFacts) -> NewInit | GainInit | None:
        if layer.weight.last is None or layer.weight.last.origin != DEFAULT:
            return None
        return view.new_init(layer, "normal", None)

    needs = [need(layer) for layer in together]
    if all(n is not None for n in needs):
        named = [n for n in needs if n is not None]
        for candidate in sorted(dict.fromkeys(named), key=lambda n: -named.count(n)):
            if all(view.fits(layer, candidate) for layer in together):
                return candidate

    def shown(wanted: NewInit | GainInit | None, layer: LayerFacts) -> str:
        if wanted is not None:
            return wanted.describe()
        return (
            "its own explicit init"
            if layer.weight.last is not None and layer.weight.last.origin != DEFAULT
            else ("an init torch cannot name")
        )

    first = together[0]
    other = next((layer for layer, n in zip(together, needs) if n != needs[0]), together[-1])
    return (
        f"{first.name} and {other.name}, assigned by one statement, need different inits "
        f"({shown(needs[0], first)} and {shown(needs[together.index(other)], other)}): write their inits by hand"
    )


# The fix of the example: one loop for the whole Sequential, its logits layer included (He-ReLU is
# right for a layer whose input is ReLU'd, under fan_in).
_LOOP = """\
        for module in self.net.modules():
            if isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
"""

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
predicted factor over the chain; severity is error beyond 1e4x when the whole
model's signal moves as far (see IL201).
""",
    fix_safety="""
Unsafe (applied with `--unsafe-fixes`): the fix adds an explicit
`kaiming_normal_(..., nonlinearity=...)` right after the statement that
assigned the layers, in the same block (inside the `if` or loop that built
them, and after the same assignment in the `if`'s other branch): one call for
a layer held by an attribute, a loop over the container's `.modules()` with an
`isinstance` check for layers built in a `Sequential`/`ModuleList` (also by a
comprehension), `getattr(self, <name>)` inside a `setattr` loop. It is valid
for every constructor argument (no indices or sizes of one instance are
written). The layers assigned together get the init most of them need when it
fits all of them (a logits layer after a ReLU takes He-ReLU too); GELU and Mish
get He-ReLU (their gain is within 10% of sqrt(2)), SiLU
`normal_(w, std=SILU_GAIN / math.sqrt(w[0].numel()))` with the gain as a
named constant. The fix is judged again on the facts it produces and offered
only if no rule then reports those layers. No fix is offered when the layers
assigned together need inits no one call fits, when layers join the container
later (`.append`), or for models built by factory functions. It changes the
model's starting point, so it is offered, not assumed.
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
                Expect("IL102", 8, ("net.0",), fix=_LOOP),
                Expect("IL102", 9, ("net.2",), fix=_LOOP),
                Expect("IL102", 10, ("net.4",), fix=_LOOP),
                Expect("IL102", 11, ("net.6",), fix=_LOOP),
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
