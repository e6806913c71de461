"""torch's transformer composites as their constructors build them and their forwards run.

``nn.TransformerEncoderLayer`` registers ``self_attn`` (a MultiheadAttention),
``linear1``, ``dropout``, ``linear2``, ``norm1``, ``norm2``, ``dropout1`` and
``dropout2`` (``nn.TransformerDecoderLayer`` a ``multihead_attn`` after
``self_attn``, and a third norm and dropout), all built from the layer's own
call; ``activation`` is F.relu or F.gelu for "relu"/"gelu", else the callable
given (a module given is registered last). ``nn.TransformerEncoder`` and
``nn.TransformerDecoder`` register ``layers``, a ModuleList of ``num_layers``
deep copies of the layer given, then ``norm``; a copied decoder layer whose
activation was a module runs F.relu (torch's ``__setstate__`` quirk). A copy's parameter starts from
what the original holds: its values, made by the original's last write (as
full mode records a ``clone``), so its init reads as the original's.

The forwards are torch's as full mode's graph has them: post-norm
``x = norm1(x + sa(x))``, or pre-norm (``norm_first``) ``x = x + sa(norm1(x))``,
each block followed by its dropout; ``ff(x) = linear2(dropout(activation(linear1(x))))``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..shared.knowledge.modules import TorchFunction
from ..shared.writes import fold
from .inits import Origin, ParamState
from .literals import truth
from .names import Qual
from .objects import ModuleObj
from .values import UNKNOWN, Args

if TYPE_CHECKING:
    from .forward import FlowBuilder

# The stacks and the argument holding the layer they copy.
STACKS = {"TransformerEncoder": "encoder_layer", "TransformerDecoder": "decoder_layer"}
_DECODERS = frozenset({"TransformerDecoderLayer", "TransformerDecoder"})
_ACTIVATIONS = {"relu": "torch.nn.functional.relu", "gelu": "torch.nn.functional.gelu"}
# Instance attributes that hide a registered child of the same name (attribute -> value).
SHADOWING = "shadowing"
# More copies than any model stacks: a literal this large is a typo, not layers to list one by one.
_MAX_LAYERS = 1024


# -- construction -----------------------------------------------------------------------------


def layer_children(class_name: str, bound: dict[str, Any]) -> list[tuple[str, str, Args]]:
    """A layer's children in registration order: (attribute, torch.nn class, its constructor's arguments)."""
    d_model, width, dropout, bias = bound["d_model"], bound["dim_feedforward"], bound["dropout"], bound["bias"]
    attention = Args((d_model, bound["nhead"]), {"dropout": dropout, "bias": bias, "batch_first": bound["batch_first"]})
    blocks = 3 if class_name in _DECODERS else 2
    children = [("self_attn", "MultiheadAttention", attention)]
    if class_name in _DECODERS:
        children.append(("multihead_attn", "MultiheadAttention", attention))
    children += [
        ("linear1", "Linear", Args((d_model, width), {"bias": bias})),
        ("dropout", "Dropout", Args((dropout,), {})),
        ("linear2", "Linear", Args((width, d_model), {"bias": bias})),
    ]
    norm = Args((d_model,), {"eps": bound["layer_norm_eps"], "bias": bias})
    children += [(f"norm{i}", "LayerNorm", norm) for i in range(1, blocks + 1)]
    children += [(f"dropout{i}", "Dropout", Args((dropout,), {})) for i in range(1, blocks + 1)]
    return children


def activation(given: Any) -> Any:
    """What ``self.activation`` holds: F.relu or F.gelu for their names, the callable given, or UNKNOWN
    (a name torch rejects)."""
    if isinstance(given, TorchFunction):
        return Qual(given.path)
    if isinstance(given, str):
        return Qual(_ACTIVATIONS[given]) if given in _ACTIVATIONS else UNKNOWN
    return given


def clones(layer: Any, count: Any) -> list[Any] | None:
    """``_get_clones``: ``count`` deep copies of ``layer``; None when the count is not a literal."""
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= _MAX_LAYERS:
        return None
    if not isinstance(layer, ModuleObj):
        return [UNKNOWN] * count
    copies = []
    for _ in range(count):
        copy = deep_copy(layer, {})
        copy.assigned = None  # attached where the stack registers it
        if isinstance(copy.cls, Qual) and copy.cls.last == "TransformerDecoderLayer" and "activation" in copy.children:
            # torch's __setstate__ sets `activation = F.relu` when the copied instance dict has none, and a
            # module activation lives in _modules: the copy's forward runs F.relu, its module unused.
            copy.attrs[SHADOWING] = {"activation": Qual(_ACTIVATIONS["relu"])}
        copies.append(copy)
    return copies


def deep_copy(module: ModuleObj, memo: dict[int, ModuleObj]) -> ModuleObj:
    """``copy.deepcopy(module)``: new modules and parameters, a module shared inside it copied once."""
    if id(module) in memo:
        return memo[id(module)]
    copy = memo[id(module)] = ModuleObj(
        module.cls, module.spec, module.site, attrs=dict(module.attrs), assigned=module.assigned,
        activation=module.activation, kind=module.kind, extra=module.extra, uncertain=module.uncertain,
        open_tail=module.open_tail,
    )  # fmt: skip
    copy.children = {
        name: deep_copy(child, memo) if isinstance(child, ModuleObj) else child
        for name, child in module.children.items()
    }
    copy.params = {name: _copied(state) if state is not None else None for name, state in module.params.items()}
    return copy


def _copied(state: ParamState) -> ParamState:
    """A parameter's copy: made holding what the original holds, by its last write (``record``'s ``clone``)."""
    if not state.writes:
        return ParamState(state.shape, origin=state.origin)
    dist, _, _, known = fold(state.origin.dist if state.origin else None, state.writes)
    return ParamState(state.shape, origin=Origin(dist if known else None, state.writes[-1].step, state.shape))


# -- forward ----------------------------------------------------------------------------------


def forward(builder: FlowBuilder, module: ModuleObj, args: Args, node: ast.AST) -> Any:
    """Calling the composite in a forward; opaque when what it holds is not known."""
    class_name = module.cls.last if isinstance(module.cls, Qual) else None
    inputs = _inputs(class_name in _DECODERS, args)
    if class_name is None or inputs is None:
        return builder.opaque(args)
    if class_name in STACKS:
        return _stack(builder, module, inputs, args, node)
    return _layer(builder, module, inputs, args, node)


def _inputs(decoder: bool, args: Args) -> tuple[Any, ...] | None:
    """(src,) or (tgt, memory): the tensors the call passes."""
    names = ("tgt", "memory") if decoder else ("src",)
    found = [
        args.positional[i] if i < len(args.positional) else args.keywords.get(name) for i, name in enumerate(names)
    ]
    return tuple(found) if all(v is not None for v in found) else None


def _stack(builder: FlowBuilder, module: ModuleObj, inputs: tuple[Any, ...], args: Args, node: ast.AST) -> Any:
    stack, norm = module.children.get("layers"), module.children.get("norm", UNKNOWN)
    if not isinstance(stack, ModuleObj) or stack.open_tail or norm is UNKNOWN:
        return builder.opaque(args)
    output, rest = inputs[0], inputs[1:]
    for _, layer in stack.named_children():
        output = builder.module_call(layer, Args((output, *rest), {}), node)
    return builder.module_call(norm, Args((output,), {}), node) if isinstance(norm, ModuleObj) else output


def _layer(builder: FlowBuilder, module: ModuleObj, inputs: tuple[Any, ...], args: Args, node: ast.AST) -> Any:
    children = dict(module.named_children())
    decoder = "multihead_attn" in children
    names = ["self_attn", "linear1", "dropout", "linear2", *(["multihead_attn"] if decoder else [])]
    blocks = 3 if decoder else 2
    names += [f"{kind}{i}" for kind in ("norm", "dropout") for i in range(1, blocks + 1)]
    norm_first = truth(module.attrs.get("norm_first"))
    shadowing = module.attrs.get(SHADOWING, {})
    act = shadowing.get("activation") or children.get("activation", module.attrs.get("activation", UNKNOWN))
    if any(name not in children for name in names) or norm_first is None:
        return builder.opaque(args)

    def call(name: str, *values: Any, **keywords: Any) -> Any:
        return builder.module_call(children[name], Args(values, keywords), node)

    def attention(name: str, x: Any, memory: Any, dropout: str) -> Any:
        result = call(name, x, memory, memory, need_weights=False)
        return call(dropout, result[0] if isinstance(result, tuple) else result)

    def feed_forward(x: Any) -> Any:
        hidden = call("linear1", x)
        if isinstance(act, ModuleObj):
            hidden = builder.module_call(act, Args((hidden,), {}), node)
        elif isinstance(act, Qual):
            hidden = builder.activation_call(act.name, Args((hidden,), {}))
        else:
            hidden = builder.opaque(hidden)
        return call(f"dropout{blocks}", call("linear2", call("dropout", hidden)))

    steps: list[Callable[[Any], Any]] = [lambda x: attention("self_attn", x, x, "dropout1")]
    if decoder:
        steps.append(lambda x: attention("multihead_attn", x, inputs[1], "dropout2"))
    steps.append(feed_forward)
    x = inputs[0]
    for index, block in enumerate(steps, start=1):
        if norm_first:
            x = builder.arithmetic("add", x, block(call(f"norm{index}", x)))
        else:
            x = call(f"norm{index}", builder.arithmetic("add", x, block(x)))
    return x
