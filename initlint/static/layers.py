"""The torch.nn classes as static mode builds them, from ``knowledge.modules``' rows.

``construct`` turns ``nn.Linear(64, 32)``, ``nn.Conv2d(3, 16, 3, groups=...)``,
``nn.LeakyReLU(0.2)``, ``nn.BatchNorm2d(16)``, ``nn.Sequential(...)`` with
evaluated arguments into a ``ModuleObj``: weight layers get the weight shape
torch would create and PyTorch's default init (``nn.MultiheadAttention`` its
parameters from ``attention`` and its ``out_proj``, ``nn.LSTM``/``GRU``/``RNN`` and
their cells theirs from ``recurrent``); activations their ``Activation``; the
transformer layers and stacks the children ``transformer`` lists.
Sizes that are not literal leave the shape unknown, and such a layer is never
judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..shared import activations, graph, theory
from ..shared.facts import Activation, Span
from ..shared.knowledge.modules import (
    ATTENTION,
    COMPOSITE,
    CONTAINER,
    CONV,
    CONV_TRANSPOSE,
    DENSE,
    MODULE_CLASSES,
    RECURRENT,
    ModuleClass,
    layer_fans,
    weight_shape,
)
from ..shared.knowledge.params import defaults, names
from . import attention, recurrent, transformer
from .inits import ParamState, default_bias_write, default_weight_write
from .literals import is_number, truth
from .names import Qual
from .objects import ModuleObj
from .values import UNKNOWN, Args, DictVal, ListVal


@dataclass(frozen=True)
class Spec:
    """A torch.nn class as static mode uses it: what calling it does in a forward, how to bind its constructor."""

    role: str  # graph.LAYER | ACTIVATION | NORM | PASS | OPAQUE, or CONTAINER | COMPOSITE
    params: tuple[str, ...] | None = None  # positional order (keyword-only ones last); None: any arguments
    defaults: dict[str, Any] = field(default_factory=dict)
    bases: tuple[str, ...] = ()  # torch.nn base classes, for isinstance
    known_bases: bool = True  # False for torch.nn classes whose construction static mode does not follow
    kind: str | None = None  # weight layers static mode sizes: DENSE | CONV | CONV_TRANSPOSE | ATTENTION | RECURRENT
    weight: str = "weight"  # weight layers: the parameter whose fans are judged

    def required(self) -> list[str]:
        return [p for p in self.params or () if p not in self.defaults]


def _spec(row: ModuleClass) -> Spec:
    """The knowledge row as static mode reads it.

    A weight layer whose constructor the table does not describe (Embedding,
    Bilinear, lazy layers...) and a composite it does not describe (Transformer)
    are calls static mode does not follow: a layer node, or an opaque one, with no facts.
    """
    if row.role in (COMPOSITE, graph.LAYER) and row.params is None:
        return Spec(graph.LAYER if row.role == graph.LAYER else graph.OPAQUE, None, known_bases=False)
    return Spec(
        row.role,
        names(row.params) if row.params is not None else None,
        defaults(row.params or ()),
        tuple(f"torch.nn.{b}" for b in row.bases),
        kind=row.kind if row.role == graph.LAYER else None,
        weight=row.weight or "weight",
    )


# Private bases (_ConvNd...) are never spelled in models' source as torch.nn names.
CATALOGUE = {f"torch.nn.{name}": _spec(row) for name, row in MODULE_CLASSES.items() if not name.startswith("_")}
_UNKNOWN_SPEC = Spec(graph.OPAQUE, None, known_bases=False)
_NOT_MODULES = frozenset({"Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer"})


def spec_of(name: str) -> Spec | None:
    """The catalogue entry of a torch.nn class; an opaque one for torch.nn classes it lacks."""
    spec = CATALOGUE.get(name)
    if (
        spec is None
        and name.startswith("torch.nn.")
        and name.count(".") == 2
        and name[9:10].isupper()
        and name[9:] not in _NOT_MODULES
    ):
        return _UNKNOWN_SPEC
    return spec


def torch_isinstance(name: str, spec: Spec, target: str) -> bool | None:
    """isinstance(<a torch.nn.name>, <target class>); None when the hierarchy is not known."""
    if target in (name, "torch.nn.Module") or target in spec.bases:
        return True
    if spec.known_bases and (target.startswith("torch.") or target.startswith("builtins.")):
        return False
    return None


def true_fans(module: ModuleObj, kind: str, shape: tuple[int, ...]) -> theory.Fans:
    """How many inputs each output sums and outputs each input feeds: grouped and transposed convs counted right."""
    if kind in (CONV, CONV_TRANSPOSE):
        return layer_fans(kind, shape, groups=module.attrs["groups"], stride=module.attrs["stride"])
    if kind == RECURRENT:
        return layer_fans(kind, shape, recurrent_mode=recurrent.mode(module))
    return layer_fans(kind, shape)


# -- construction ---------------------------------------------------------------------


def given_none(spec: Spec, args: Args) -> str | None:
    """The size of a weight layer given None, if one is: torch raises making its weight (``nn.Linear(16, None)``)."""
    sized = spec.role == graph.LAYER and spec.kind is not None
    bound = args.bind(spec.params, spec.defaults) if sized and spec.params is not None else None
    if bound is None:
        return None
    return next((name for name in spec.required() if bound[name] is None), None)


def construct(qual: Qual, spec: Spec, args: Args, site: Span | None) -> ModuleObj:
    """The module ``qual(*args)`` builds (a placeholder with nothing known when arguments do not bind)."""
    module = ModuleObj(qual, spec, site, attrs={"training": True})
    if spec.role == CONTAINER:
        _fill_container(module, qual.last, args, site)
        return module
    if spec.params is None:
        return module
    if spec.role == COMPOSITE:
        _composite(module, qual.last, args.bind(spec.params, spec.defaults), site)
        return module
    bound = recurrent.bind(qual.last, args) if spec.kind == RECURRENT else args.bind(spec.params, spec.defaults)
    if bound is None:
        return module
    module.attrs.update({k: v for k, v in bound.items() if k not in ("bias", "device", "dtype")})
    if spec.role == graph.LAYER and spec.kind == ATTENTION:
        _attention_layer(module, bound, site)
    elif spec.role == graph.LAYER and spec.kind == RECURRENT:
        module.kind = RECURRENT
        module.attrs.update(recurrent.attributes(bound))
        module.params.update(recurrent.own_params(qual.last, bound, site))
    elif spec.role == graph.LAYER:
        _weight_layer(module, spec, qual.last, bound, site)
    elif spec.role == graph.ACTIVATION:
        module.activation = _activation(qual.last, bound)
        if qual.last == "PReLU" and isinstance(bound["num_parameters"], int):
            module.params["weight"] = ParamState((bound["num_parameters"],))
    elif spec.role == graph.NORM:
        _norm_params(module, qual.last, bound)
    return module


def _ints(value: Any, dims: int) -> tuple[int, ...] | None:
    """An int or tuple of ints as torch's _ntuple expands it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * dims
    if (
        isinstance(value, tuple)
        and len(value) == dims
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return value
    return None


def _positive(*values: Any) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)


def _weight_layer(module: ModuleObj, spec: Spec, class_name: str, bound: dict[str, Any], site: Span | None) -> None:
    has_bias = truth(bound["bias"])
    kind = module.kind = spec.kind
    shape: tuple[int, ...] | None = None
    if kind == DENSE:
        n_in, n_out = bound["in_features"], bound["out_features"]
        if _positive(n_in, n_out):
            shape = weight_shape(DENSE, n_in, n_out)
    elif kind is not None:  # CONV | CONV_TRANSPOSE: the only other kinds whose constructor the catalogue binds
        dims = int(class_name[-2])
        n_in, n_out, groups = bound["in_channels"], bound["out_channels"], bound["groups"]
        kernel, stride = _ints(bound["kernel_size"], dims), _ints(bound["stride"], dims)
        module.attrs.update(kernel_size=kernel or UNKNOWN, stride=stride or UNKNOWN)
        if kernel and stride and _positive(n_in, n_out, groups, *kernel) and n_in % groups == 0 and n_out % groups == 0:
            shape = weight_shape(kind, n_in, n_out, groups, kernel)
    if shape is None or has_bias is None:
        module.params["weight"] = ParamState(None)  # a layer we cannot size is never judged
        return
    bias_shape: tuple[int, ...] = (n_out,)
    module.params["weight"] = ParamState(shape, [default_weight_write(shape, site)])
    module.params["bias"] = ParamState(bias_shape, [default_bias_write(shape, bias_shape, site)]) if has_bias else None


def _attention_layer(module: ModuleObj, bound: dict[str, Any], site: Span | None) -> None:
    """nn.MultiheadAttention: its own parameters (``attention``), then ``out_proj``, a Linear built
    inside it, whose bias torch zeroes after Linear's default init."""
    module.kind = ATTENTION
    module.attrs.update(attention.attributes(bound))
    module.params.update(attention.own_params(bound, site))
    embed = bound["embed_dim"]
    out_proj = construct(
        Qual(attention.OUT_PROJ), CATALOGUE[attention.OUT_PROJ], Args((embed, embed), {"bias": bound["bias"]}), site
    )
    bias = out_proj.params.get("bias")
    if bias is not None and bias.shape is not None:
        bias.add(attention.out_proj_bias_zeroed(site, bias.shape))
    add_child(module, "out_proj", out_proj, site)


def _composite(module: ModuleObj, class_name: str, bound: dict[str, Any] | None, site: Span | None) -> None:
    """A transformer stack's copies of its layer and its norm, or a transformer layer's children."""
    if bound is None:
        return
    if class_name in transformer.STACKS:
        copies = transformer.clones(bound[transformer.STACKS[class_name]], bound["num_layers"])
        listed = construct(Qual("torch.nn.ModuleList"), CATALOGUE["torch.nn.ModuleList"], Args((), {}), site)
        for index, copy in enumerate(copies or ()):
            add_child(listed, str(index), copy, site)
        listed.open_tail = copies is None
        add_child(module, "layers", listed, site)
        add_child(module, "norm", bound["norm"], site)
        module.attrs["num_layers"] = bound["num_layers"]
        return
    for name, torch_class, arguments in transformer.layer_children(class_name, bound):
        qual = Qual(f"torch.nn.{torch_class}")
        add_child(module, name, construct(qual, CATALOGUE[qual.name], arguments, site), site)
    module.attrs["norm_first"] = bound["norm_first"]
    activation = transformer.activation(bound["activation"])
    if isinstance(activation, ModuleObj):
        add_child(module, "activation", activation, site)
    else:
        module.attrs["activation"] = activation


def _activation(class_name: str, bound: dict[str, Any]) -> Activation | None:
    if class_name == "PReLU":
        slope = bound["init"]
        if is_number(slope):
            return activations.make_activation("leaky_relu", f"nn.PReLU(init={slope:g})", negative_slope=slope)
        return None
    if class_name == "RReLU":
        low, high = bound["lower"], bound["upper"]
        if is_number(low) and is_number(high):
            slope = (low + high) / 2.0
            return activations.make_activation("leaky_relu", f"nn.RReLU(mean slope={slope:g})", negative_slope=slope)
        return None
    if class_name == "GELU":
        approximate = bound["approximate"]
        return (
            activations.from_module("GELU", (), {"approximate": approximate}) if isinstance(approximate, str) else None
        )
    _, names = activations.MODULES[class_name]
    if any(not is_number(bound[n]) for n in names):
        return None  # a non-literal slope: which activation it is stays unknown
    # All parameters given, as full mode reads them off the module: the labels then match.
    return activations.from_module(class_name, (), {n: float(bound[n]) for n in names})


def _norm_params(module: ModuleObj, class_name: str, bound: dict[str, Any]) -> None:
    if class_name in ("LayerNorm", "RMSNorm"):
        size = bound["normalized_shape"]
        shape = (size,) if isinstance(size, int) else size if isinstance(size, tuple) else None
        if truth(bound["elementwise_affine"]):
            module.params["weight"] = ParamState(shape)
            if class_name == "LayerNorm" and truth(bound["bias"]):
                module.params["bias"] = ParamState(shape)
        return
    channels = bound["num_channels"] if class_name == "GroupNorm" else bound["num_features"]
    shape = (channels,) if isinstance(channels, int) else None
    if truth(bound["affine"]):
        module.params["weight"] = ParamState(shape)
        module.params["bias"] = ParamState(shape)


def _fill_container(module: ModuleObj, class_name: str, args: Args, site: Span | None) -> None:
    if class_name == "Sequential":
        if len(args.positional) == 1 and isinstance(args.positional[0], DictVal):
            items, complete = _pairs(args.positional[0]), args.positional[0].known and args.complete
        else:
            items, complete = [(str(i), v) for i, v in enumerate(args.positional)], args.complete
    else:
        given = args.positional[0] if args.positional else args.keywords.get("modules")
        complete = args.complete and len(args.positional) + len(args.keywords) <= 1
        if given is None:
            items = []
        elif class_name == "ModuleDict":
            items = _pairs(given) if isinstance(given, DictVal) else []
            complete = complete and isinstance(given, DictVal) and given.known
        elif isinstance(given, (ListVal, tuple)):
            values = given.items if isinstance(given, ListVal) else list(given)
            items = [(str(i), v) for i, v in enumerate(values)]
            complete = complete and (not isinstance(given, ListVal) or given.known)
        else:
            items, complete = [], False
    for name, value in items:
        add_child(module, name, value, site)
    module.open_tail = not complete


def _pairs(value: DictVal) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in value.items.items() if isinstance(k, str)]


def add_child(parent: ModuleObj, name: str, value: Any, site: Span | None) -> None:
    """Register ``value`` as ``parent.<name>``: what nn.Module.__setattr__/add_module do."""
    if isinstance(value, ModuleObj):
        if value.assigned is None:
            value.assigned = site
        parent.children[name] = value
    else:
        parent.children[name] = UNKNOWN if value is not None else None
