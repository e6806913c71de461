"""``nn.MultiheadAttention``'s own parameters, as its constructor registers and initialises them.

torch packs the query, key and value projections into one ``in_proj_weight``
(3E, E) when keys and values are as wide as queries, and keeps
``q_proj_weight``, ``k_proj_weight`` and ``v_proj_weight`` apart when ``kdim``
or ``vdim`` differ; its ``_reset_parameters`` gives them xavier_uniform_, zeros
``in_proj_bias`` (and ``out_proj.bias``: ``out_proj_bias_zeroed``), and gives
``bias_k``/``bias_v`` xavier_normal_. ``out_proj`` itself is a Linear that
``layers`` builds, with Linear's default init. Sizes the source does not decide
leave the weights' shape unknown, so the layer is never judged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..shared import graph
from ..shared.facts import Span
from ..shared.writes import Write
from .inits import ParamState, default_write
from .literals import truth
from .objects import ModuleObj
from .values import Args

if TYPE_CHECKING:
    from .forward import FlowBuilder

OUT_PROJ = "torch.nn.NonDynamicallyQuantizableLinear"
_SEPARATE = ("q_proj_weight", "k_proj_weight", "v_proj_weight")


def own_params(bound: dict[str, Any], site: Span | None) -> dict[str, ParamState | None]:
    """Its parameters in torch's registration order (None: registered as None), with their default inits.

    ``bound`` are the constructor's arguments, ``site`` its call (where torch's init runs).
    """
    widths = _widths(bound)
    embed = widths[0] if widths is not None else None
    params: dict[str, ParamState | None] = {}
    if widths is not None and widths != (embed, embed, embed):  # kdim or vdim of their own
        for name, width in zip(_SEPARATE, widths):
            params[name] = _initialised("xavier_uniform_", {"gain": 1.0}, (widths[0], width), site)
        params["in_proj_weight"] = None
    else:
        packed = (3 * embed, embed) if embed is not None else None
        params["in_proj_weight"] = _initialised("xavier_uniform_", {"gain": 1.0}, packed, site)
        params.update(dict.fromkeys(_SEPARATE))
    bias_shape = (3 * embed,) if embed is not None else None
    params["in_proj_bias"] = _optional(bound["bias"], "constant_", {"val": 0.0}, bias_shape, site)
    kv_shape = (1, 1, embed) if embed is not None else None
    for name in ("bias_k", "bias_v"):
        params[name] = _optional(bound["add_bias_kv"], "xavier_normal_", {"gain": 1.0}, kv_shape, site)
    return params


def outputs(builder: FlowBuilder, module: ModuleObj, projections: Any, args: Args) -> tuple[Any, Any]:
    """What calling it returns, ``(output, weights)``, as full mode's graph has the one module: the packed
    projection (``projections``) feeds ``out_proj``, and all the call returns comes out of ``out_proj``
    (the weights too, None for ``need_weights=False``)."""
    name = builder.names.get(id(module.children.get("out_proj")))
    output = builder.add(graph.LAYER, [projections.node], name=name) if name is not None else projections
    need_weights = args.keywords.get("need_weights", args.positional[4] if len(args.positional) > 4 else True)
    return output, None if need_weights is False else output


def attributes(bound: dict[str, Any]) -> dict[str, Any]:
    """The widths torch keeps beside the arguments: ``kdim`` and ``vdim`` default to ``embed_dim``."""
    embed = bound["embed_dim"]
    return {name: embed if bound[name] is None else bound[name] for name in ("kdim", "vdim")}


def out_proj_bias_zeroed(site: Span | None, shape: tuple[int, ...] | None) -> Write:
    """``constant_(self.out_proj.bias, 0.0)``: what ``_reset_parameters`` does after Linear's own bias init."""
    return default_write("constant_", {"val": 0.0}, shape, site)


def _widths(bound: dict[str, Any]) -> tuple[int, int, int] | None:
    """(embed_dim, kdim, vdim) as torch sets them; None when one is not a valid literal size
    (torch raises for an embed_dim its heads do not divide)."""
    embed, heads = bound["embed_dim"], bound["num_heads"]
    kdim = embed if bound["kdim"] is None else bound["kdim"]
    vdim = embed if bound["vdim"] is None else bound["vdim"]
    sizes = (embed, heads, kdim, vdim)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in sizes) or embed % heads:
        return None
    return embed, kdim, vdim


def _initialised(
    function: str, arguments: dict[str, Any], shape: tuple[int, ...] | None, site: Span | None
) -> ParamState:
    if shape is None:
        return ParamState(None)
    return ParamState(shape, [default_write(function, arguments, shape, site)])


def _optional(
    flag: Any, function: str, arguments: dict[str, Any], shape: tuple[int, ...] | None, site: Span | None
) -> ParamState | None:
    """A parameter torch registers when ``flag`` is true; one of unknown shape when the source does not say."""
    present = truth(flag)
    if present is None:
        return ParamState(None)
    return _initialised(function, arguments, shape, site) if present else None
