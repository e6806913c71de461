"""Writes to a parameter and the final state they leave it in.

Shared by the recorder (full mode) and the static analyser: both describe a
parameter as where it came from plus an ordered list of writes, and fold them
the same way into a ``ParamInit``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .facts import InitStep, ParamInit
from .theory import Distribution

UNINITIALIZED = Distribution("uninitialized", math.nan)  # torch.empty: no value at all


@dataclass
class Write:
    """One write to a parameter, before folding into its final distribution."""

    effect: str  # set | scale | shift | partial | unknown
    step: InitStep
    dist: Distribution | None = None  # for set: what it wrote (None: unknown)
    factor: float = 1.0  # for scale (multiplier) and shift (offset)
    gain: float | None = None  # the gain a set's nn.init call assumed
    mode: str | None = None  # a kaiming set's mode
    init_frame: Any = None  # full mode: the nn.init frame whose inner ops made this write


def call_text(
    function: str, arguments: Mapping[str, Any], defaults: Mapping[str, Any], show: Callable[[str, Any], str]
) -> str:
    """``kaiming_normal_(mode='fan_out', nonlinearity='relu')``: the arguments that differ from the defaults.

    ``show(name, value)`` writes a value: full mode has tensors, static mode unknowns.
    """
    parts = [
        f"{name}={show(name, value)}"
        for name, value in arguments.items()
        if name not in ("tensor", "generator", "self") and not (name in defaults and _same(value, defaults[name]))
    ]
    return f"{function}({', '.join(parts)})"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # a tensor or an unknown compared to a default
        return False


def fold(
    start: Distribution | None, writes: Sequence[Write]
) -> tuple[Distribution | None, float | None, str | None, bool]:
    """Apply writes in order: (distribution, gain, mode, fully known)."""
    dist, gain, mode, known = start, None, None, start is not None
    for w in writes:
        if w.effect == "set":
            dist, gain, mode, known = w.dist, w.gain, w.mode, w.dist is not None
        elif w.effect == "scale" and dist is not None:
            dist = dist.scaled(w.factor)
            gain = gain * abs(w.factor) if gain is not None else None
        elif w.effect == "shift" and dist is not None:
            dist = dist.shifted(w.factor)
        elif w.effect == "unknown":
            dist, gain, mode, known = None, None, None, False
    return dist, gain, mode, known


def site_key(step: InitStep) -> tuple | None:
    """Which call site a step came from, to tell generic (loop) inits from specific ones."""
    s = step.site
    if s is None or step.origin == "default":
        return None
    return (s.path, s.line, s.column, step.function)


def final_state(
    shape: tuple[int, ...],
    start: Distribution | None,
    start_step: InitStep | None,
    writes: Sequence[Write],
    generic: Callable[[InitStep], bool],
    measure: Callable[[], Distribution | None] | None = None,
) -> ParamInit:
    """The ParamInit that a creation (``start``) and ``writes`` leave.

    ``measure`` gives the values' own statistics when the calls do not
    determine them (full mode, off the meta device).
    """
    dist, gain, mode, known = fold(start, writes)
    steps: list[InitStep] = []
    if start_step is not None and start is not UNINITIALIZED and not any(w.effect == "set" for w in writes):
        steps.append(start_step)
    for w in writes:
        step = replace(w.step, effect=w.effect, generic=generic(w.step))
        if not steps or steps[-1] != step:
            steps.append(step)
    measured = False
    if not known and measure is not None:
        dist, measured = measure(), True
    if dist is None:
        return ParamInit(shape, "unknown", None, None, tuple(steps))
    if dist.family == "uninitialized":
        return ParamInit(shape, "uninitialized", None, None, tuple(steps))
    return ParamInit(shape, dist.family, dist.std, dist.mean, tuple(steps), gain, mode, measured)
