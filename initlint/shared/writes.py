"""Writes to a parameter and the final state they leave it in.

Shared by the recorder (full mode) and the static analyser: both describe a
parameter as where it came from plus an ordered list of writes, made from the
rows of ``knowledge.values`` the same way, and fold them the same way into a
``ParamInit``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from . import theory
from .facts import InitStep, ParamInit
from .knowledge import values
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


def init_write(
    function: str, arguments: Mapping[str, Any], shape: tuple[int, ...], step: InitStep, effect: str = values.SET
) -> Write:
    """The write ``nn.init.<function>(tensor, **arguments)`` makes on a tensor of ``shape``: what it
    draws, the gain it assumes, a kaiming call's mode (``effect``: PARTIAL when it wrote a slice)."""
    try:
        dist = theory.init_distribution(function, arguments, shape)
    except (KeyError, ValueError, TypeError, ZeroDivisionError):
        dist = None
    try:
        gain = theory.init_gain(function, arguments)
    except (ValueError, TypeError):
        gain = None
    mode = str(arguments.get("mode")) if function.startswith("kaiming") else None
    return Write(effect, step, dist, gain=gain, mode=mode)


def method_write(name: str, arguments: Mapping[str, float | None], step: InitStep) -> Write:
    """The write ``tensor.<name>(...)`` makes (a row of ``knowledge.values.TENSOR_WRITES``).

    ``arguments`` are bound by parameter name, defaults filled in, as numbers
    or None where not known; a partial step (a slice) is a partial write.
    ``copy_`` sets values this cannot see: the caller knows the source.
    """
    row = values.TENSOR_WRITES[name]
    if step.partial or row.effect == values.PARTIAL:
        return Write(values.PARTIAL, step)
    if row.effect == values.SET:
        return Write(values.SET, step, _written(row.writes, arguments))
    other = arguments.get("other")
    if row.effect == values.SCALE and other is not None and (other != 0 or not row.inverse):
        return Write(values.SCALE, step, factor=1.0 / other if row.inverse else other)
    alpha = arguments.get("alpha", 1.0)
    if row.effect == values.SHIFT and other is not None and alpha is not None:
        return Write(values.SHIFT, step, factor=(-1.0 if row.inverse else 1.0) * other * alpha)
    return Write(values.UNKNOWN, step)


def _written(writes: str | None, arguments: Mapping[str, float | None]) -> Distribution | None:
    if writes == values.NORMAL:
        mean, std = arguments.get("mean"), arguments.get("std")
        return Distribution("normal", abs(std), mean) if mean is not None and std is not None else None
    if writes == values.UNIFORM:
        low, high = arguments.get("from"), arguments.get("to")
        if low is None or high is None:
            return None
        return Distribution("uniform", theory.uniform_std(low, high), (low + high) / 2)
    if writes == values.ZEROS:
        return Distribution("constant", 0.0, 0.0)
    if writes == values.FILL:
        value = arguments.get("value")
        return Distribution("constant", 0.0, value) if value is not None else None
    return None


def created(name: str, shape: tuple[int, ...], fill_value: float | None = None) -> Distribution | None:
    """The values a tensor factory (a row of ``knowledge.values.FACTORIES``) makes, if known."""
    kind = values.FACTORIES[name].values
    if kind == values.UNINITIALIZED:
        return UNINITIALIZED
    if kind == values.STANDARD_NORMAL:
        return Distribution("normal", 1.0)
    if kind == values.STANDARD_UNIFORM:
        return Distribution("uniform", theory.uniform_std(0.0, 1.0), 0.5)
    if kind == values.ZEROS:
        return Distribution("constant", 0.0, 0.0)
    if kind == values.ONES:
        return Distribution("constant", 0.0, 1.0)
    if kind == values.FILL and fill_value is not None:
        return Distribution("constant", 0.0, fill_value)
    if kind == values.IDENTITY and len(shape) == 2:
        return Distribution("identity", 1.0 / math.sqrt(max(shape[1], 1)))
    return None


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


SiteKey = tuple[str, int, int, str]  # (path, line, column, function) of a call site


def site_key(step: InitStep) -> SiteKey | None:
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
        step, is_generic = w.step, generic(w.step)
        if (step.effect, step.generic) != (w.effect, is_generic):
            step = replace(step, effect=w.effect, generic=is_generic)
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
