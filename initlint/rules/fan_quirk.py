"""IL202 fan-quirk: a fan-based init that relied on PyTorch's wrong fans."""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction

from ..fix.intent import SAFE, UNSAFE, ExplicitInit, FixIntent, NoFix, RewriteCall, SetMode
from ..shared import theory
from ..shared.facts import DEFAULT, USER, LayerFacts
from .base import (
    EXTREME_FACTOR,
    INFO,
    SCALE_TOLERANCE,
    WARNING,
    Example,
    Expect,
    ModelView,
    Rule,
    Verdict,
    fmt,
    std_for_gain,
)


def _why(layer: LayerFacts) -> str:
    if layer.kind == "attention":
        return "packed q/k/v in_proj_weight (3E, E): torch counts fan_out as 3E"
    if layer.kind == "conv_transpose":
        return "transposed conv, weight (in, out/groups, k...): torch swaps fan_in and fan_out and ignores the stride"
    if layer.kind == "custom":
        return "weight stored as (in, out): torch reads its fans swapped"
    return f"grouped conv (groups={layer.get('groups')}): torch's fan_out is {layer.get('groups')}x too large"


def check(view: ModelView) -> Iterator[Verdict]:
    tolerance = view.settings[SCALE_TOLERANCE]
    for layer in view.model.layers:
        if layer.kind not in ("conv", "conv_transpose", "attention", "custom"):
            continue
        if layer.kind == "custom" and not layer.layout_known:
            continue
        w = layer.weight
        step = w.last
        if step is None or w.gain is None or not w.std or not step.function.startswith(("init.xavier", "init.kaiming")):
            continue
        if step.origin == DEFAULT and layer.kind != "attention":
            continue
        torch_fans = theory.torch_fans(w.shape)
        if (torch_fans.fan_in, torch_fans.fan_out) == (layer.fan_in, layer.fan_out):
            continue
        intended = std_for_gain(step.function, w.gain, layer.fan_in, layer.fan_out, w.mode)
        ratio = w.std / intended
        if abs(math.log(ratio)) <= math.log(tolerance):
            continue
        message = (
            f"{w.display} computed its std from torch's fans (fan_in={torch_fans.fan_in}, "
            f"fan_out={torch_fans.fan_out}); this is a {_why(layer)}. With the true fans "
            f"(fan_in={layer.fan_in}, fan_out={layer.fan_out}) the same init gives std {fmt(intended)}, "
            f"not {fmt(w.std)} ({fmt(ratio)}x){view.depth_note(layer)}"
        )
        if layer.kind == "attention":
            severity = INFO  # PyTorch's own MultiheadAttention default (pytorch#166378)
        else:
            severity = view.severity(WARNING, layer, layer.downstream, absorbed=view.norm_nearby(layer))
        yield Verdict(
            message,
            severity,
            step.site or layer.site,
            layer,
            activation=layer.downstream,
            expected_std=intended,
            actual_std=w.std,
            fix=_fix(view, layer),
        )


# -- the fix: the same init, with the true fans ---------------------------------------------


def _mode(view: ModelView, layer: LayerFacts) -> str | None:
    """The kaiming mode the fix keeps: fan_out only where it does not move the forward signal
    (IL203's judgement: its fix drops it, so one --fix run is final)."""
    mode = _mode_written(layer)
    if mode == "fan_out" and view.targets(layer) and view.fan_out_moves_signal(layer):
        return None
    return mode


def _mode_written(layer: LayerFacts) -> str | None:
    return "fan_out" if layer.weight.mode == "fan_out" else None


def _true_fan(layer: LayerFacts, mode: str | None) -> int:
    return layer.fan_out if mode == "fan_out" else layer.fan_in


def _torch_fan(layer: LayerFacts, mode: str | None) -> int:
    fans = theory.torch_fans(layer.weight.shape)
    return fans.fan_out if mode == "fan_out" else fans.fan_in


def _fix(view: ModelView, layer: LayerFacts) -> FixIntent | None:
    """For every layer the call initialises: the std its init meant, from the true fans.

    A kaiming call whose other torch mode reads exactly the fan it meant gets that mode (safe:
    the function and gain stay, and no number is written); otherwise
    the call becomes ``normal_``/``uniform_`` with the number written out (unsafe: the number
    holds for the sizes the model was built with, not for other constructor arguments).
    """
    step = layer.weight.last
    if step is None or step.origin != USER or step.site is None:
        return None
    mixed = view.mixed_calls(layer)
    if mixed is not None:
        return mixed
    sharing = view.initialised_at(step.site) or [layer]
    if any(other.weight.gain is None or other.fan_in <= 0 or other.fan_out <= 0 for other in sharing):
        return None  # a layer of the call with no fan-based std to compute
    mode = _mode(view, layer)
    off = next((other for other in sharing if not _fits_its_activation(view, other, mode)), None)
    if off is not None:
        return NoFix(
            f"with the true fans this init gives {off.name} std {fmt(_intended(off, mode))}, still far from the "
            f"{fmt(view.expected_std(off))} its activation needs: choose the init for the activation first"
        )
    method = step.function.removeprefix("init.")
    if method.startswith("kaiming"):
        for swapped in (None, "fan_out"):
            if all(_swap_fits(view, other, mode, swapped) for other in sharing):
                kept = mode == _mode_written(layer)  # not dropping a fan_out IL203 rejects
                return RewriteCall(step.site, SetMode(swapped), SAFE if kept else UNSAFE)
    written = {_explicit(method, other, mode) for other in sharing}
    if len(written) > 1:
        shown = ", ".join(other.name for other in sharing[:3]) + (", ..." if len(sharing) > 3 else "")
        return NoFix(f"this call initialises layers whose true fans differ ({shown}): split it by layer")
    return RewriteCall(step.site, written.pop(), UNSAFE)


def _intended(layer: LayerFacts, mode: str | None) -> float:
    """The std the layer's init gives with its true fans, in the mode the fix keeps."""
    w, step = layer.weight, layer.weight.last
    assert w.gain is not None and step is not None  # only judged inits come here
    return std_for_gain(step.function, w.gain, layer.fan_in, layer.fan_out, mode)


def _fits_its_activation(view: ModelView, layer: LayerFacts, mode: str | None) -> bool:
    """IL201 accepts the std the fix writes: within ``scale-tolerance`` of the layer's variance-
    preserving band (a layer with no activation to keep has no band)."""
    band = view.std_band(layer)
    if band is None or not layer.paired:
        return True
    tolerance = view.settings[SCALE_TOLERANCE]
    std = _intended(layer, mode) * abs(layer.scale)
    return band[0] / tolerance <= std <= band[1] * tolerance


def _swap_fits(view: ModelView, layer: LayerFacts, mode: str | None, swapped: str | None) -> bool:
    """torch's fan under ``swapped`` is exactly the true fan ``mode`` means, and that mode is right
    for the layer: IL202 (its true fan is torch's within tolerance), IL203 and IL101 stay silent."""
    if _torch_fan(layer, swapped) != _true_fan(layer, mode):
        return False
    gain = layer.weight.gain
    if view.targets(layer) and layer.paired:
        if swapped == "fan_out" and view.fan_out_moves_signal(layer):
            return False
        if gain is None or not view.accepts_gain(layer, gain, swapped):
            return False  # fan_out also accepts the backward gain; fan_in does not (IL101)
    tolerance = math.log(view.settings[SCALE_TOLERANCE])
    return abs(math.log(_torch_fan(layer, swapped) / _true_fan(layer, swapped))) / 2 <= tolerance


def _explicit(method: str, layer: LayerFacts, mode: str | None) -> ExplicitInit:
    """``normal_(w, std=(g^2 / fan) ** 0.5)`` or ``uniform_(w, a=-b, b=b)`` with ``b = (3 g^2 / fan) ** 0.5``,
    the fans written out so the reader sees which ones; Xavier's fan is ``(fan_in + fan_out) / 2``."""
    gain = layer.weight.gain
    assert gain is not None  # only judged inits come here
    if method.startswith("xavier"):
        variance_times_fan, fan = 2 * gain**2, f"({layer.fan_in} + {layer.fan_out})"
    else:
        variance_times_fan, fan = gain**2, str(_true_fan(layer, mode))
    if method.endswith("uniform_"):
        bound = f"({_number(3 * variance_times_fan)} / {fan}) ** 0.5"
        return ExplicitInit("uniform_", (("a", f"-{bound}"), ("b", bound)))
    return ExplicitInit("normal_", (("std", f"({_number(variance_times_fan)} / {fan}) ** 0.5"),))


def _number(value: float) -> str:
    """A short exact spelling: ``2``, ``25 / 9`` (tanh's gain squared), else ten significant digits."""
    ratio = Fraction(value).limit_denominator(100)
    if math.isclose(float(ratio), value, rel_tol=1e-9):
        return str(ratio.numerator) if ratio.denominator == 1 else f"{ratio.numerator} / {ratio.denominator}"
    return f"{value:.10g}"


RULE = Rule(
    code="IL202",
    name="fan-quirk",
    severity=WARNING,
    summary=(
        "A Xavier/Kaiming init computed with PyTorch's fans where they are wrong "
        "(grouped, transposed, packed, transposed-layout weights)."
    ),
    what="""
PyTorch derives fans from the weight's shape as if it were a plain Linear/Conv
weight. For grouped and depthwise convs its fan_out is `groups` times too
large; for transposed convs (weight (in, out/g, k..)) it swaps fan_in and
fan_out and ignores the stride overlap; for MultiheadAttention's packed
in_proj_weight (3E, E) it counts fan_out as 3E; for layers that store their
weight as (in, out), like transformers' Conv1D, it swaps them. This rule
recomputes the fans from the layer and reports a fan-based init whose std is
more than 1.25x off what the same init gives with the true fans.
""",
    why="""
`kaiming_normal_(mode='fan_out')` on a depthwise Conv2d(32, 32, 3, groups=32)
uses fan_out 288 where each input feeds 9 outputs: std sqrt(2/288) instead of
sqrt(2/9), 5.7x too small (pytorch#23854). MultiheadAttention's Xavier on the
packed projection gives q, k, v half the variance of separate Xavier
(pytorch#166378). Next to a normalization the finding is info; the packed
attention case, PyTorch's own default, is always info.
""",
    fix_safety="""
The fix gives the call the std its init means, computed from the true fans, and
keeps whatever else the call says. Safe when one of torch's two fans is exactly
the fan meant (a depthwise conv's fan_in is its true fan_out): the fix only sets
`mode=`, keeping the function and the gain, and writes no number. Otherwise
unsafe (applied with `--unsafe-fixes`): the call becomes
`normal_(w, std=(g^2 / fan) ** 0.5)` or `uniform_(w, a=-b, b=b)` with
`b = (3 g^2 / fan) ** 0.5` (Xavier: `fan_in + fan_out` and twice the numerator),
the true fan written out; that number holds for the sizes the model was built
with, not for other constructor arguments. `mode='fan_out'` that IL203 rejects
becomes fan_in (its fix, so one `--fix` run is final; unsafe too). No fix when
the call initialises layers whose true fans differ (split the call), or when
even the true fans leave the std off for the activation (a wrong gain: IL101).
""",
    references=(
        "pytorch/pytorch#23854 (grouped conv fans)",
        "pytorch/pytorch#166378 (packed in_proj fan)",
        "Dumoulin & Visin, A guide to convolution arithmetic, 2016 (transposed convs)",
    ),
    invalid=(
        Example(
            """
import torch
import torch.nn as nn


class DepthwiseStack(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.pw = nn.Conv2d(32, 32, 1)
        nn.init.kaiming_normal_(self.dw.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.pw(torch.relu(self.dw(x)))
""",
            expect=(Expect("IL202", 10, ("dw",), fix='nn.init.kaiming_normal_(self.dw.weight, nonlinearity="relu")'),),
        ),
        Example(
            """
import torch
import torch.nn as nn


class Upsample(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
        self.out = nn.Conv2d(32, 3, 3, padding=1)
        nn.init.kaiming_normal_(self.up.weight, nonlinearity="relu")

    def forward(self, x):
        return self.out(torch.relu(self.up(x)))
""",
            expect=(Expect("IL202", 10, ("up",), fix="nn.init.normal_(self.up.weight, std=(2 / 256) ** 0.5)"),),
        ),
    ),
    valid=(
        Example(
            """
import torch
import torch.nn as nn


class DepthwiseStack(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.pw = nn.Conv2d(32, 32, 1)
        nn.init.kaiming_normal_(self.dw.weight, mode="fan_in", nonlinearity="relu")  # fan_in is right

    def forward(self, x):
        return self.pw(torch.relu(self.dw(x)))
""",
        ),
    ),
    thresholds=(SCALE_TOLERANCE, EXTREME_FACTOR),
    check=check,
)
