"""IL301 overwritten-init: an explicit init that a later one silently replaced."""

from __future__ import annotations

from collections.abc import Iterator

from ..fix.intent import UNSAFE, DeleteStatement, FixIntent, NoFix
from ..shared.facts import DEFAULT, LIBRARY, USER, InitStep, Span
from .base import INFO, WARNING, Example, Expect, ModelView, Rule, Verdict


def _where(step: InitStep) -> str:
    if step.origin == LIBRARY and step.library:
        return f"{step.library}' init"
    if step.site is None:
        return "a later init"
    return f"line {step.site.line}"


def check(view: ModelView) -> Iterator[Verdict]:
    reach = _reach(view)
    for layer in view.model.layers:
        for parameter, init in (("weight", layer.weight), ("bias", layer.bias)):
            if init is None:
                continue
            full = [s for s in init.steps if s.effect == "set"]
            for earlier, later in zip(full, full[1:]):
                if earlier.origin != USER or earlier.site is None or earlier.site == later.site:
                    continue
                if earlier.generic and later.origin == USER and not later.generic:
                    continue  # a loop over all layers, then a deliberate special case
                if earlier.generic and later.generic and reach.get(later.site, set()) < reach.get(earlier.site, set()):
                    continue  # ...or a second loop picking some of them (GPT-2's scaled c_proj)
                if later.call == earlier.call:
                    continue  # the same init again (a tied weight reached twice): nothing is lost
                clobbered = not earlier.generic and (later.generic or later.origin in (LIBRARY, DEFAULT))
                message = f"{earlier.call} here is overwritten by {later.call} ({_where(later)}), so it has no effect"
                yield Verdict(
                    message=message,
                    severity=WARNING if clobbered else INFO,
                    span=earlier.site,
                    layer=layer,
                    parameter=parameter,
                    fix=_fix(earlier),
                )


def _fix(dead: InitStep) -> FixIntent | None:
    """Remove the dead call, when it is one call on one parameter (a site that wrote several may
    also have written parameters no rule follows, such as a norm's). Unsafe: the call drew random
    numbers, so every later random init draws different values, and it may do more than init."""
    if dead.site is None:
        return None
    if dead.generic:
        return NoFix("the call also initialises other parameters, which may not all be overwritten")
    return DeleteStatement(dead.site, UNSAFE)


def _reach(view: ModelView) -> dict[Span | None, set[str]]:
    """The layers each init call site wrote to: which loop covers which."""
    reach: dict[Span | None, set[str]] = {}
    for layer in view.model.layers:
        for init in (layer.weight, layer.bias):
            for step in init.steps if init is not None else ():
                reach.setdefault(step.site, set()).add(layer.name)
    return reach


RULE = Rule(
    code="IL301",
    name="overwritten-init",
    severity=WARNING,
    summary="An explicit init of a parameter is replaced later in construction, so it never takes effect.",
    what="""
Follows every write to each parameter during construction and reports an
explicit init that a later full write replaced. A warning when a specific
init (one line, one layer) is clobbered by a generic one (an `apply`/`modules()`
loop, or a library's `_init_weights`); info when two specific or two generic
inits replace each other. A generic loop followed by a specific override is
the usual deliberate pattern and is not reported.
""",
    why="""
The init the code shows is not the init the model gets: a typical case is a
careful `kaiming_normal_` in `__init__` followed by `self.apply(self._init_weights)`
(or transformers' `post_init()`), which resets it to N(0, 0.02).
""",
    fix_safety="""
Unsafe (applied with `--unsafe-fixes`): the fix deletes the statement of the
overwritten call (its whole lines; surrounding lines and comments stay, and a
block left empty gets `pass`). The model's final values have the same
distribution, but the deleted call drew random numbers, so every later random
init draws different ones, and a call may do more than initialise. Offered only
for a call that initialises that one parameter (not a loop's or a helper's call,
which may also set parameters no rule follows) and that is a statement of its
own.
""",
    references=("pytorch/examples#791: an init function that changed the wrong object",),
    invalid=(
        Example(
            """
import torch
import torch.nn as nn


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, std=0.02)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        self.apply(init_weights)  # resets fc1 too

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
            expect=(
                Expect("IL201", 7, ("fc1",), fix='nn.init.kaiming_normal_(m.weight, nonlinearity="relu")'),
                Expect("IL301", 15, ("fc1",), fix=""),
            ),
        ),
    ),
    valid=(
        Example(
            """
import torch
import torch.nn as nn


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        self.apply(init_weights)
        nn.init.zeros_(self.fc2.weight)  # a deliberate special case after the loop

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
""",
        ),
    ),
    check=check,
)
