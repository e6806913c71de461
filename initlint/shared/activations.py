"""Activations as PyTorch spells them, and the Activation record for each.

Torch-free: the tracer (``ops``) resolves function objects through these
names, and the static mode matches the same names in source.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import theory
from .facts import Activation


def make_activation(name: str, label: str, **params: float) -> Activation:
    """An Activation for a named activation of ``theory.ACTIVATIONS``."""
    spec = theory.ACTIVATIONS[name]
    kept = spec.params(params)
    g = theory.gains(name, **kept)
    return Activation(
        name=name,
        params=tuple(sorted(kept.items())),
        second_moment=g.second_moment,
        derivative_moment=g.derivative_moment,
        family=spec.family,
        label=label,
    )


def label(prefix: str, params: Mapping[str, float]) -> str:
    shown = ", ".join(f"{k}={v:g}" for k, v in params.items())
    return f"{prefix}({shown})" if shown else prefix


# torch.nn module class name -> (activation, constructor parameters in positional order).
# Parameters that need reading off the module (PReLU, RReLU, GELU) are handled by ops.
MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ReLU": ("relu", ()),
    "LeakyReLU": ("leaky_relu", ("negative_slope",)),
    "ReLU6": ("relu6", ()),
    "Tanh": ("tanh", ()),
    "Sigmoid": ("sigmoid", ()),
    "Hardtanh": ("hardtanh", ("min_val", "max_val")),
    "Softsign": ("softsign", ()),
    "Hardsigmoid": ("hardsigmoid", ()),
    "GELU": ("gelu", ()),
    "SiLU": ("silu", ()),
    "Mish": ("mish", ()),
    "Hardswish": ("hardswish", ()),
    "Softplus": ("softplus", ("beta", "threshold")),
    "ELU": ("elu", ("alpha",)),
    "CELU": ("celu", ("alpha",)),
    "SELU": ("selu", ()),
}

# Fully qualified function -> (activation, parameters after the input, in positional order).
FUNCTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    **{f: ("relu", ()) for f in ("torch.nn.functional.relu", "torch.nn.functional.relu_", "torch.relu", "torch.relu_")},
    **{
        f: ("leaky_relu", ("negative_slope",))
        for f in ("torch.nn.functional.leaky_relu", "torch.nn.functional.leaky_relu_")
    },
    "torch.nn.functional.relu6": ("relu6", ()),
    **{f: ("tanh", ()) for f in ("torch.tanh", "torch.nn.functional.tanh")},
    **{f: ("sigmoid", ()) for f in ("torch.sigmoid", "torch.nn.functional.sigmoid")},
    **{
        f: ("hardtanh", ("min_val", "max_val"))
        for f in ("torch.nn.functional.hardtanh", "torch.nn.functional.hardtanh_")
    },
    "torch.nn.functional.softsign": ("softsign", ()),
    "torch.nn.functional.hardsigmoid": ("hardsigmoid", ()),
    "torch.nn.functional.silu": ("silu", ()),
    "torch.nn.functional.mish": ("mish", ()),
    "torch.nn.functional.hardswish": ("hardswish", ()),
    "torch.nn.functional.softplus": ("softplus", ("beta", "threshold")),
    **{f: ("elu", ("alpha",)) for f in ("torch.nn.functional.elu", "torch.nn.functional.elu_")},
    **{f: ("celu", ("alpha",)) for f in ("torch.nn.functional.celu", "torch.nn.functional.celu_")},
    **{f: ("selu", ()) for f in ("torch.nn.functional.selu", "torch.selu", "torch.nn.functional.selu_")},
}

# Tensor method -> activation (x.relu()).
METHODS: dict[str, str] = {
    "relu": "relu", "relu_": "relu", "tanh": "tanh", "tanh_": "tanh",
    "sigmoid": "sigmoid", "sigmoid_": "sigmoid",
}  # fmt: skip

# Functions and methods that are a ReLU when called with min=0 and no max.
CLAMPS = frozenset(
    {"torch.clamp", "torch.clamp_min", "torch.clip", "clamp", "clamp_", "clip", "clamp_min", "clamp_min_"}
)


def gelu(approximate: str, label_text: str) -> Activation:
    return make_activation("gelu_tanh" if approximate == "tanh" else "gelu", label_text)


def from_call(
    name: str, positional: tuple[object, ...], keywords: Mapping[str, object], label_prefix: str
) -> Activation | None:
    """The activation a call computes, given the arguments after the input.

    ``name`` is a key of FUNCTIONS; ``positional``/``keywords`` are constants
    as written (non-numbers are ignored, defaults apply).
    """
    if name == "torch.nn.functional.gelu":
        approximate = keywords.get("approximate", positional[0] if positional else "none")
        return gelu(str(approximate), f"F.gelu(approximate='{approximate}')")
    entry = FUNCTIONS.get(name)
    if entry is None:
        return None
    activation, names = entry
    params = _numbers(names, positional, keywords)
    return make_activation(activation, label(label_prefix, params), **params)


def from_module(class_name: str, positional: tuple[object, ...], keywords: Mapping[str, object]) -> Activation | None:
    """The activation ``nn.<class_name>(*positional, **keywords)`` computes (static mode)."""
    if class_name == "GELU":
        return gelu(str(keywords.get("approximate", positional[0] if positional else "none")), "nn.GELU")
    entry = MODULES.get(class_name)
    if entry is None:
        return None
    activation, names = entry
    params = _numbers(names, positional, keywords)
    return make_activation(activation, label(f"nn.{class_name}", params), **params)


def relu_clamp(low: object, high: object, label_text: str) -> Activation | None:
    """``clamp(x, min=0)`` is a ReLU; other clamps are not activations we know."""
    if isinstance(low, (int, float)) and not isinstance(low, bool) and low == 0 and high is None:
        return make_activation("relu", label_text)
    return None


def _numbers(
    names: tuple[str, ...], positional: tuple[object, ...], keywords: Mapping[str, object]
) -> dict[str, float]:
    params: dict[str, float] = {}
    for position, pname in enumerate(names):
        value = keywords.get(pname, positional[position] if len(positional) > position else None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            params[pname] = float(value)
    return params
