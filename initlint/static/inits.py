"""Init calls and tensor writes found in source, and the ``ParamInit`` they fold into.

Mirrors what ``record`` observes at run time: the same call texts, effects and
distributions, computed from literal arguments. An argument that is not a
literal makes the written distribution unknown, so no rule judges its scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..shared import theory
from ..shared.facts import DEFAULT, InitStep, ParamInit, Span
from ..shared.theory import Distribution
from ..shared.writes import Write, call_text, final_state, site_key
from .literals import is_number
from .values import UNKNOWN

# nn.init functions: parameters after the tensor (generator left out) and their defaults.
INIT_SIGNATURES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "uniform_": (("a", "b"), {"a": 0.0, "b": 1.0}),
    "normal_": (("mean", "std"), {"mean": 0.0, "std": 1.0}),
    "trunc_normal_": (("mean", "std", "a", "b"), {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0}),
    "constant_": (("val",), {}),
    "ones_": ((), {}),
    "zeros_": ((), {}),
    "eye_": ((), {}),
    "dirac_": (("groups",), {"groups": 1}),
    "xavier_uniform_": (("gain",), {"gain": 1.0}),
    "xavier_normal_": (("gain",), {"gain": 1.0}),
    "kaiming_uniform_": (("a", "mode", "nonlinearity"), {"a": 0, "mode": "fan_in", "nonlinearity": "leaky_relu"}),
    "kaiming_normal_": (("a", "mode", "nonlinearity"), {"a": 0, "mode": "fan_in", "nonlinearity": "leaky_relu"}),
    "orthogonal_": (("gain",), {"gain": 1}),
    "sparse_": (("sparsity", "std"), {"std": 0.01}),
}
# Deprecated spellings (nn.init.xavier_uniform) call the in-place function.
INIT_ALIASES = {name.rstrip("_"): name for name in INIT_SIGNATURES if name not in ("ones_", "zeros_", "eye_")}

# In-place tensor methods and what they do to the values.
SETTERS = {"normal_", "uniform_", "fill_", "zero_", "copy_"}
SCALERS = {"mul_": 1, "div_": -1}
SHIFTERS = {"add_": 1, "sub_": -1}
OTHER_WRITES = {
    "clamp_", "clamp_min_", "clamp_max_", "fmod_", "exponential_", "bernoulli_", "random_",
    "log_normal_", "cauchy_", "geometric_", "erfinv_", "abs_", "neg_", "sign_", "sqrt_", "tanh_",
    "sigmoid_", "relu_", "masked_fill_", "index_fill_", "scatter_", "t_", "transpose_", "set_",
    "squeeze_", "unsqueeze_", "resize_", "pow_", "exp_", "log_",
}  # fmt: skip
WRITES = SETTERS | set(SCALERS) | set(SHIFTERS) | OTHER_WRITES
# Tensor method parameter names after self, for keyword calls.
_METHOD_PARAMS = {"normal_": ("mean", "std"), "uniform_": ("from", "to"), "fill_": ("value",),
                  "mul_": ("other",), "div_": ("other",),
                  "add_": ("other", "alpha"), "sub_": ("other", "alpha")}  # fmt: skip

# PyTorch's default for Linear and Conv*: what reset_parameters() calls.
_DEFAULT_CALL = "kaiming_uniform_(a=2.23607)"


def fmt(value: Any) -> str:
    """A value as ``record`` shows it in a call: floats to 6 significant digits."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def describe(function: str, arguments: dict[str, Any], shown: dict[str, str] | None = None) -> str:
    """``kaiming_normal_(mode='fan_out', nonlinearity='relu')``, as full mode writes it;
    an argument whose value is unknown appears as written (``shown``)."""

    def show(name: str, value: Any) -> str:
        return (shown or {}).get(name, "?") if value is UNKNOWN else fmt(value)

    return call_text(function, arguments, INIT_SIGNATURES[function][1], show)


@dataclass(frozen=True)
class Origin:
    """How a tensor was made (``torch.randn(o, i) * c``, ``torch.empty(...)``) before any write."""

    dist: Distribution | None
    step: InitStep | None
    shape: tuple[int, ...] | None


@dataclass(eq=False)
class ParamState:
    """One parameter as construction leaves it: its shape and every write, in order."""

    shape: tuple[int, ...] | None
    writes: list[Write] = field(default_factory=list)
    origin: Origin | None = None

    def add(self, write: Write) -> None:
        self.writes.append(write)


def _known_args(arguments: dict[str, Any]) -> bool:
    return all(v is not UNKNOWN for v in arguments.values())


def init_write(function: str, arguments: dict[str, Any], shape: tuple[int, ...] | None, step: InitStep) -> Write:
    """The write ``nn.init.<function>(tensor, **arguments)`` makes on a tensor of ``shape``."""
    effect = "partial" if step.partial else "set"
    if shape is None or not _known_args(arguments):
        return Write(effect, step)
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


def method_call_text(name: str, positional: tuple, shown: list[str]) -> str:
    """``.normal_(0, 0.01)``: positional arguments only, as ``record`` shows them (source text if not literal)."""
    parts = [fmt(a) if a is not UNKNOWN else text for a, text in zip(positional, [*shown, *["?"] * len(positional)])]
    return f".{name}({', '.join(parts)})"


def method_write(name: str, positional: tuple, keywords: dict, step: InitStep) -> Write:
    """The write an in-place tensor method (``w.data.normal_(0, 0.01)``) makes."""
    if step.partial:
        return Write("partial", step)
    args = dict(zip(_METHOD_PARAMS.get(name, ()), positional))
    args.update(keywords)
    if name == "normal_":
        return _set(step, "normal", args.get("std", 1.0), args.get("mean", 0.0))
    if name == "uniform_":
        low, high = args.get("from", 0.0), args.get("to", 1.0)
        if is_number(low) and is_number(high):
            return Write("set", step, Distribution("uniform", theory.uniform_std(low, high), (low + high) / 2))
        return Write("set", step)
    if name == "zero_":
        return Write("set", step, Distribution("constant", 0.0, 0.0))
    elif name == "fill_":
        return _set(step, "constant", 0.0, args.get("value"))
    elif name in SCALERS:
        value = args.get("other")
        if is_number(value) and value != 0:
            return Write("scale", step, factor=float(value) ** SCALERS[name])
    elif name in SHIFTERS:
        value, alpha = args.get("other"), args.get("alpha", 1.0)
        if is_number(value) and is_number(alpha):
            return Write("shift", step, factor=SHIFTERS[name] * float(value) * float(alpha))
    elif name == "copy_":
        return Write("set", step)  # values of a tensor we do not follow
    return Write("unknown", step)


def _set(step: InitStep, family: str, std: Any, mean: Any) -> Write:
    if is_number(std) and is_number(mean):
        return Write("set", step, Distribution(family, abs(float(std)), float(mean)))
    return Write("set", step)


def default_weight_write(shape: tuple[int, ...], site: Span | None) -> Write:
    """PyTorch's reset_parameters() for Linear/Conv*: kaiming_uniform_(a=sqrt(5))."""
    step = InitStep(_DEFAULT_CALL, "init.kaiming_uniform_", DEFAULT, site)
    return init_write("kaiming_uniform_", theory.DEFAULT_INIT_ARGS, shape, step)


def default_bias_write(weight_shape: tuple[int, ...], bias_shape: tuple[int, ...], site: Span | None) -> Write:
    """The bias default: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) with torch's fan_in."""
    fan_in = theory.torch_fans(weight_shape).fan_in
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    arguments = {"a": -bound, "b": bound}
    step = InitStep(describe("uniform_", arguments), "init.uniform_", DEFAULT, site)
    return init_write("uniform_", arguments, bias_shape, step)


# -- the final state --------------------------------------------------------------------


def noted_sites(state: ParamState) -> set[tuple]:
    """The call sites that fully wrote this parameter (as ``record`` counts them)."""
    keys = {site_key(w.step) for w in state.writes if w.effect != "partial"}
    keys.discard(None)
    return keys  # type: ignore[return-value]


def param_init(state: ParamState, generic_sites: set[tuple]) -> ParamInit:
    """The final distribution of a parameter and the steps that made it."""
    origin = state.origin
    return final_state(
        state.shape or (),
        origin.dist if origin else None,
        origin.step if origin else None,
        state.writes,
        lambda step: site_key(step) in generic_sites,
    )
