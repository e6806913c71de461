"""What each torch module, function and method is, for init purposes.

Maps the pieces of a traced forward onto ``graph`` node kinds: weight layers,
activations (with their parameters), normalizations, shape-only ops, merges,
gates. torch.nn classes are looked up in ``knowledge.modules``; unknown
elementwise modules are measured numerically. einops, when the user's code
imported it, is a reshape library: its functions and layers pass the signal on.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from ..shared import activations, graph, theory
from ..shared.activations import make_activation
from ..shared.facts import Activation
from ..shared.knowledge.modules import ModuleClass, row_of

# -- weight layers -------------------------------------------------------------


def torch_class(module: nn.Module) -> ModuleClass | None:
    """The knowledge row of the nearest torch.nn class the module is an instance of."""
    return row_of(type(module).__mro__)


def layer_kind(module: nn.Module) -> str | None:
    """The kind of weight layer a module is (``custom``: a childless module with a 2-D weight), or None."""
    row = torch_class(module)
    if row is not None and row.role == graph.LAYER:
        return row.kind
    if not any(True for _ in module.children()):
        weight = getattr(module, "weight", None)
        if isinstance(weight, nn.Parameter) and weight.dim() >= 2:
            return "custom"
    return None


# -- activations ---------------------------------------------------------------


def module_activation(module: nn.Module) -> Activation | None:
    """The activation a known activation module computes."""
    t = type(module)
    if type(module) is nn.GELU:  # exact classes (a subclass may compute something else); narrows ``module``
        return activations.gelu(module.approximate, "nn.GELU")
    if type(module) is nn.PReLU:
        slope = float(getattr(module, "init", 0.25))
        return make_activation("leaky_relu", f"nn.PReLU(init={slope:g})", negative_slope=slope)
    if type(module) is nn.RReLU:
        slope = (module.lower + module.upper) / 2.0
        return make_activation("leaky_relu", f"nn.RReLU(mean slope={slope:g})", negative_slope=slope)
    entry = activations.MODULES.get(t.__name__)
    if entry is None or getattr(nn, t.__name__, None) is not t:
        return None
    name, param_names = entry
    params = {p: float(getattr(module, p)) for p in param_names}
    return make_activation(name, activations.label(f"nn.{t.__name__}", params), **params)


def _resolve(dotted: str) -> object | None:
    owner, _, attr = dotted.rpartition(".")
    root = {"torch": torch, "torch.nn.functional": F}.get(owner)
    return getattr(root, attr, None) if root is not None else None


# function object -> its dotted name in activations.FUNCTIONS
_FUNCTION_NAMES = {fn: dotted for dotted in activations.FUNCTIONS for fn in [_resolve(dotted)] if fn is not None}
_FUNCTION_NAMES[F.gelu] = "torch.nn.functional.gelu"
_CLAMP_FUNCTIONS = {torch.clamp, torch.clamp_min, torch.clip}


def _short(dotted: str) -> str:
    return dotted.replace("torch.nn.functional.", "F.")


def function_activation(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Activation | None:
    """The activation a call_function node computes, with its parameters."""
    if fn in _CLAMP_FUNCTIONS:
        low = kwargs.get("min", args[1] if len(args) > 1 else None)
        high = kwargs.get("max", args[2] if len(args) > 2 else None)
        return activations.relu_clamp(low, high, "torch.clamp(min=0)")
    dotted = _FUNCTION_NAMES.get(fn)
    if dotted is None:
        return None
    return activations.from_call(dotted, tuple(args[1:]), dict(kwargs), _short(dotted))


def method_activation(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Activation | None:
    """The activation a call_method node (``x.relu()``) computes."""
    if method in activations.CLAMPS:
        low = kwargs.get("min", args[1] if len(args) > 1 else None)
        high = None if method.startswith("clamp_min") else kwargs.get("max", args[2] if len(args) > 2 else None)
        return activations.relu_clamp(low, high, f"x.{method}(min=0)")
    name = activations.METHODS.get(method)
    return make_activation(name, f"x.{method}()") if name else None


# -- modules that are not activations -----------------------------------------------


def is_norm(module: nn.Module) -> bool:
    row = torch_class(module)
    if row is not None and row.role == graph.NORM:
        return True
    # Library norms (LlamaRMSNorm, T5LayerNorm): a childless "...Norm" with gains only.
    childless = not any(True for _ in module.children())
    small = all(p.dim() <= 1 for p in module.parameters(recurse=False))
    return childless and small and "norm" in type(module).__name__.lower()


def _held_activation(module: nn.Module) -> Activation | None:
    found = (module_activation(child) for child in module.children())
    return next((act for act in found if act is not None), None)


@dataclass(frozen=True)
class ModuleRole:
    kind: str  # a graph node kind
    activation: Activation | None = None  # an activation's; a norm's that applies one after normalizing


def module_role(module: nn.Module) -> ModuleRole | None:
    """The graph kind of a module the tracer keeps as a leaf; None: trace into it."""
    if layer_kind(module) is not None:
        return ModuleRole(graph.LAYER)
    act = module_activation(module)
    if act is not None:
        return ModuleRole(graph.ACTIVATION, act)
    if is_norm(module):
        # A norm that applies its own activation (model zoos' BatchNormAct2d): the norm, then that activation.
        return ModuleRole(graph.NORM, _held_activation(module))
    row = torch_class(module)
    if row is not None and row.role in (graph.PASS, graph.OPAQUE, graph.SOFTMAX):
        return ModuleRole(row.role)
    if is_einops_layer(module):
        return ModuleRole(graph.PASS)
    if not any(True for _ in module.children()) and not any(True for _ in module.parameters(recurse=False)):
        measured = measure_activation(module)
        if measured is not None:
            return ModuleRole(graph.ACTIVATION, measured)
    return None


def measure_activation(module: Callable[[torch.Tensor], Any], label: str | None = None) -> Activation | None:
    """Treat a parameter-free callable as an activation if it is elementwise.

    It must map every entry independently (checked by permuting the input) and
    not be the identity; its gains are then computed from samples, and it is
    named after a known activation when its values match one.
    """
    label = label or type(module).__name__
    try:
        with torch.no_grad():
            x = torch.randn(3, 5, 7, generator=torch.Generator().manual_seed(0))
            y = module(x)
            if not isinstance(y, torch.Tensor) or y.shape != x.shape or not torch.isfinite(y).all():
                return None
            perm = torch.randperm(x.numel(), generator=torch.Generator().manual_seed(1))
            y_perm = module(x.reshape(-1)[perm].reshape(x.shape))
            if not torch.allclose(y_perm.reshape(-1), y.reshape(-1)[perm], atol=1e-5):
                return None
            if torch.allclose(y, x, atol=1e-6):
                return None
            grid = torch.tensor(theory.SAMPLE_POINTS, dtype=torch.float64).reshape(1, -1)
            values = module(grid).reshape(-1).tolist()
    except Exception:
        return None
    if _is_affine(values):
        return None  # x + c, 2 * x: not a nonlinearity
    name = theory.match_activation(values)
    if name is not None:
        return make_activation(name, label)
    slope = _leaky_slope(values)
    if slope is not None:
        return make_activation("leaky_relu", f"{label}(negative_slope={slope:g})", negative_slope=slope)
    g = theory.gains_from_samples(values)
    homogeneous = _is_homogeneous(values)
    return Activation(
        name=label,
        second_moment=g.second_moment,
        derivative_moment=g.derivative_moment,
        family=theory.RECTIFIER if homogeneous else theory.CUSTOM,
        label=label,
    )


def _sample(values: list[float], z: float) -> float:
    index = round((z + theory.SAMPLE_POINTS[-1]) / theory.SAMPLE_STEP)
    return values[index]


def _leaky_slope(values: list[float]) -> float | None:
    """The negative slope if the samples are a leaky ReLU."""
    if abs(_sample(values, 1.0) - 1.0) > 1e-6 or abs(_sample(values, 2.0) - 2.0) > 1e-6:
        return None
    slope = _sample(values, -1.0) / -1.0
    if abs(_sample(values, -3.0) - slope * -3.0) > 1e-6:
        return None
    return round(slope, 6)


def _is_affine(values: list[float]) -> bool:
    """f(a) + f(b) - f(0) == f(a + b) on a few points: a scaling or shift, not an activation."""
    pairs = ((-1.0, 2.0), (1.0, -3.0), (0.5, 0.5), (-2.0, -1.0))
    return all(
        abs(_sample(values, a) + _sample(values, b) - _sample(values, 0.0) - _sample(values, a + b)) < 1e-6
        for a, b in pairs
    )


def _is_homogeneous(values: list[float]) -> bool:
    """f(2z) == 2 f(z): one gain holds at every scale."""
    return all(
        abs(_sample(values, 2 * z) - 2 * _sample(values, z)) <= 1e-4 * max(1.0, abs(_sample(values, 2 * z)))
        for z in (-3.0, -1.5, -0.5, 0.5, 1.5, 3.0)
    )


# -- layers used as functions ------------------------------------------------------

_FUNCTIONAL_LAYERS = {
    F.linear: "dense", F.conv1d: "conv", F.conv2d: "conv", F.conv3d: "conv",
    F.conv_transpose1d: "conv_transpose", F.conv_transpose2d: "conv_transpose", F.conv_transpose3d: "conv_transpose",
}  # fmt: skip


def functional_layer(
    fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], constants: set[fx.Node]
) -> tuple[str, graph.FunctionalLayer] | None:
    """``F.linear(x, self.w, self.b)`` with a module's parameter (a node of ``constants``): (weight name, details)."""
    kind = _FUNCTIONAL_LAYERS.get(fn)
    if kind is None:
        return None
    weight = kwargs.get("weight", args[1] if len(args) > 1 else None)
    if not isinstance(weight, fx.Node) or weight not in constants:
        return None  # a computed weight: not a parameter we can follow
    bias = kwargs.get("bias", args[2] if len(args) > 2 else None)
    groups = kwargs.get("groups", args[6] if len(args) > 6 else 1)  # 7th in conv*d and conv_transpose*d
    stride = kwargs.get("stride", args[3] if len(args) > 3 and kind != "dense" else 1)
    stride = tuple(stride) if isinstance(stride, (tuple, list)) else (stride,) if isinstance(stride, int) else ()
    details = graph.FunctionalLayer(
        kind=kind,
        call=f"F.{fn.__name__}",
        bias=str(bias.target) if isinstance(bias, fx.Node) and bias in constants else None,
        groups=groups if isinstance(groups, int) else 1,
        stride=stride,
    )
    return str(weight.target), details


# -- functions and methods ---------------------------------------------------------

_PASS_FUNCTIONS = {
    operator.getitem, torch.flatten, torch.reshape, torch.cat, torch.concat, torch.stack,
    torch.squeeze, torch.unsqueeze, torch.transpose, torch.permute, torch.chunk, torch.split, torch.unbind,
    torch.roll, torch.narrow, torch.matmul, torch.bmm, torch.einsum, operator.matmul,
    torch.mean, torch.movedim, torch.swapaxes, torch.tile, torch.repeat_interleave,
    F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout,
    F.max_pool1d, F.max_pool2d, F.max_pool3d, F.avg_pool1d, F.avg_pool2d, F.avg_pool3d,
    F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d,
    F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d,
    F.interpolate, F.pad, F.pixel_shuffle, F.pixel_unshuffle, torch.nn.functional.upsample,
}  # fmt: skip
_PASS_METHODS = {
    "view", "reshape", "flatten", "unflatten", "permute", "transpose", "contiguous", "squeeze",
    "unsqueeze", "expand", "expand_as", "repeat", "chunk", "split", "narrow", "to", "float",
    "half", "double", "bfloat16", "type", "type_as", "mean", "t", "view_as", "reshape_as",
    "clone", "detach", "roll", "movedim", "swapaxes", "masked_fill", "tile", "__getitem__", "unbind",
    "matmul", "bmm",
}  # fmt: skip
_MIXING_FUNCTIONS = {torch.matmul, torch.bmm, torch.einsum, operator.matmul}
_IGNORE_METHODS = {"size", "dim", "numel", "shape", "get_device", "is_contiguous"}
_NORM_FUNCTIONS = {F.layer_norm, F.batch_norm, F.group_norm, F.instance_norm, F.normalize,
                   F.local_response_norm, *((F.rms_norm,) if hasattr(F, "rms_norm") else ())}  # fmt: skip
_ADD = {operator.add, operator.iadd, torch.add}
_SUB = {operator.sub, operator.isub, torch.sub}
_MUL = {operator.mul, operator.imul, torch.mul}
DIVISIONS = {operator.truediv, operator.itruediv, torch.div, torch.true_divide}
ARITH_METHODS = {"add": _ADD, "add_": _ADD, "sub": _SUB, "sub_": _SUB, "mul": _MUL,
                  "mul_": _MUL, "div": DIVISIONS, "div_": DIVISIONS, "__add__": _ADD, "__mul__": _MUL}  # fmt: skip
SDPA = getattr(F, "scaled_dot_product_attention", None)


def arithmetic_kind(op: Any, left_is_node: bool, right_is_node: bool, right: Any) -> tuple[str, float]:
    """(node kind, factor) for +, -, *, / between a tensor and a tensor or constant."""
    family = ARITH_METHODS.get(op, None) if isinstance(op, str) else None
    if family is None:
        for group in (_ADD, _SUB, _MUL, DIVISIONS):
            if op in group:
                family = group
    if family is None:
        return graph.OPAQUE, 1.0
    both = left_is_node and right_is_node
    if family in (_ADD, _SUB):
        return (graph.MERGE if both else graph.PASS), 1.0
    if both:
        return (graph.GATE if family is _MUL else graph.OPAQUE), 1.0
    if isinstance(right, (int, float)) and not isinstance(right, bool) and right != 0:
        return graph.SCALE, float(right) if family is _MUL else 1.0 / float(right)
    return graph.PASS, 1.0


def function_kind(fn: Any) -> str | None:
    if fn in _PASS_FUNCTIONS:
        return graph.PASS
    einops_kind = einops_functions().get(fn)
    if einops_kind is not None:
        return einops_kind
    if fn in _NORM_FUNCTIONS:
        return graph.NORM
    if fn in (F.softmax, F.log_softmax, torch.softmax, torch.log_softmax):
        return graph.SOFTMAX
    return None


def mixes_inputs(fn: Any) -> bool:
    """Whether a pass-through function carries every tensor argument (``q @ k``), not only its first."""
    return fn in _MIXING_FUNCTIONS or fn is _einops_function("einsum")


def method_kind(method: str) -> str | None:
    if method in _PASS_METHODS:
        return graph.PASS
    if method in _IGNORE_METHODS:
        return graph.IGNORE
    if method in ("softmax", "log_softmax"):
        return graph.SOFTMAX
    return None


# -- einops --------------------------------------------------------------------------

# Its functions rearrange, repeat, reduce, pack and unpack reshape (einsum mixes
# its operands, like torch.einsum); parse_shape reads shapes only. Its layers
# are its reshapes as modules.
_EINOPS_FUNCTIONS = {"rearrange": graph.PASS, "repeat": graph.PASS, "reduce": graph.PASS, "pack": graph.PASS,
                     "unpack": graph.PASS, "einsum": graph.PASS, "parse_shape": graph.IGNORE}  # fmt: skip
_EINOPS_LAYERS = frozenset({"Rearrange", "Reduce"})


def einops_functions() -> dict[Callable[..., Any], str]:
    """einops' functions, with their graph kind; none unless the user's code imported einops.

    einops is the user's dependency, not initlint's: when their model uses it,
    it is already imported, and a model that does not cannot call it.
    """
    found = {_einops_function(name): kind for name, kind in _EINOPS_FUNCTIONS.items()}
    return {fn: kind for fn, kind in found.items() if fn is not None}


def _einops_function(name: str) -> Callable[..., Any] | None:
    function = getattr(sys.modules.get("einops"), name, None)
    return function if callable(function) else None


def is_einops_layer(module: nn.Module) -> bool:
    """``Rearrange(...)``/``Reduce(...)`` from ``einops.layers``: a reshape (or pooling) as a module."""
    return any(c.__module__.startswith("einops.") and c.__name__ in _EINOPS_LAYERS for c in type(module).__mro__)
