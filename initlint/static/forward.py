"""A model's forward from source, as a ``graph.FlowGraph``: the static stand-in for torch.fx.

``FlowBuilder`` runs ``forward`` over tensors that are graph nodes: calling a
weight layer adds a LAYER node, ``F.relu``/``nn.ReLU``/``x.relu()`` an
ACTIVATION, ``x + y`` a MERGE, ``x * 2.0`` a SCALE, ``x * y`` a GATE; dropout,
pooling and reshapes pass the signal through. Submodules of the file's classes
are inlined, Sequentials chained, ModuleList loops unrolled, and loops the
source cannot count (over time steps) run twice. An ``nn.MultiheadAttention``
is two layers, its packed q/k/v projection then ``out_proj``, as in full mode;
an ``nn.LSTM``/``GRU``/``RNN`` or a cell is one layer, and every tensor its call
returns (output, hidden and cell states) comes out of it; torch's transformer
layers and stacks run their forward from ``transformer``.
Anything unknown becomes an OPAQUE node, and tensors entering a branch that
cannot be decided pass through one, so no layer is paired from a path that may
not run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from ..shared import activations, graph, theory
from ..shared.facts import Activation
from ..shared.graph import FlowGraph
from ..shared.knowledge.modules import ATTENTION, COMPOSITE, CONTAINER, RECURRENT
from . import attention, recurrent, transformer
from .describe import layer_kind
from .interp import Interpreter
from .literals import is_constant, is_number
from .names import Qual
from .objects import ModuleObj, TensorRef
from .runtime import Frame, GiveUp
from .values import UNKNOWN, Args, Bound, ClassInfo, DictVal, ListVal, MethodOf


@dataclass(frozen=True)
class Tensor:
    """A tensor in the forward: the graph node that produces it."""

    node: int


_F = "torch.nn.functional."
_PASS_FUNCTIONS = frozenset({
    *(f"torch.{n}" for n in ("flatten", "reshape", "cat", "concat", "stack", "squeeze", "unsqueeze", "transpose",
                             "permute", "chunk", "split", "roll", "narrow", "matmul", "bmm", "einsum", "mean",
                             "movedim", "swapaxes", "tile", "repeat_interleave", "unbind")),
    *(_F + n for n in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
                       "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
                       "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
                       "adaptive_max_pool2d", "adaptive_max_pool3d", "interpolate", "pad", "pixel_shuffle",
                       "pixel_unshuffle", "upsample")),
})  # fmt: skip
_MIXING_FUNCTIONS = frozenset({"torch.matmul", "torch.bmm", "torch.einsum"})
_NORM_FUNCTIONS = frozenset(
    _F + n
    for n in ("layer_norm", "batch_norm", "group_norm", "instance_norm", "normalize", "local_response_norm", "rms_norm")
)
_SOFTMAX_FUNCTIONS = frozenset({_F + "softmax", _F + "log_softmax", "torch.softmax", "torch.log_softmax"})
_ARITHMETIC_FUNCTIONS = {"torch.add": "add", "torch.sub": "sub", "torch.mul": "mul", "torch.div": "div",
                         "torch.true_divide": "div"}  # fmt: skip
_PASS_METHODS = frozenset({
    "view", "reshape", "flatten", "unflatten", "permute", "transpose", "contiguous", "squeeze", "unsqueeze",
    "expand", "expand_as", "repeat", "chunk", "split", "narrow", "to", "float", "half", "double", "bfloat16",
    "type", "type_as", "mean", "t", "view_as", "reshape_as", "clone", "detach", "roll", "movedim", "swapaxes",
    "masked_fill", "tile", "__getitem__", "unbind", "matmul", "bmm",
})  # fmt: skip
_IGNORE_METHODS = frozenset({"size", "dim", "numel", "get_device", "is_contiguous"})
# Tensor attributes that are not methods: fx reads them with getattr, which carries no signal.
_TENSOR_ATTRIBUTES = frozenset({"shape", "T", "mT", "H", "mH", "dtype", "device", "ndim", "is_cuda", "data", "grad",
                                "requires_grad", "real", "imag", "layout"})  # fmt: skip
_ARITHMETIC_METHODS = {"add": "add", "add_": "add", "__add__": "add", "sub": "sub", "sub_": "sub", "mul": "mul",
                       "mul_": "mul", "__mul__": "mul", "div": "div", "div_": "div"}  # fmt: skip
_OPERATORS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div"}
# A forward's loop the source cannot count (over time steps, an unknown number of refinements) runs, as
# it does on full mode's example input; two passes are the fewest that show what one step hands the
# next: a hidden-to-hidden layer's output reaching its own next call (``Pairing.feeds_itself``).
UNROLLED_PASSES = 2


# Python-level functionals that hand every argument to __torch_function__ as a keyword, defaults
# included: fx records (and full mode labels) F.elu(x) as F.elu(alpha=1).
_DEFAULTS_SHOWN = frozenset(_F + n for n in ("leaky_relu", "elu", "hardtanh", "celu"))
# Functionals that call the tensor method: fx records x.tanh().
_AS_METHOD = {_F + "tanh": "tanh", _F + "sigmoid": "sigmoid"}


def _short(dotted: str) -> str:
    return dotted.replace(_F, "F.")


class FlowBuilder(Interpreter):
    """Runs a model's forward, building the FlowGraph of its dataflow."""

    def __init__(self, names: dict[int, str]):
        super().__init__()
        self.graph = FlowGraph()
        self.names = names  # id(module) -> qualified name, for the modules of the model

    def add(
        self, kind: str, inputs: list[int], name: str = "", activation: Activation | None = None, factor: float = 1.0
    ) -> Tensor:
        return Tensor(self.graph.add(kind, inputs, name, activation, factor))

    def data(self, *values: Any) -> list[int]:
        """The graph nodes a value carries (tensors inside tuples, lists and dicts too)."""
        found: list[int] = []
        stack = list(reversed(values))
        while stack:
            value = stack.pop()
            if isinstance(value, Tensor):
                found.append(value.node)
            elif isinstance(value, (tuple, list)):
                stack.extend(reversed(value))
            elif isinstance(value, ListVal):
                stack.extend(reversed(value.items))
            elif isinstance(value, DictVal):
                stack.extend(reversed(list(value.items.values())))
            elif isinstance(value, Args):
                stack.extend(reversed(value.all_values()))
        return found

    # -- the model -------------------------------------------------------------------

    def trace(self, root: ModuleObj, node: ast.AST) -> FlowGraph | None:
        """The root's forward called on fresh inputs; None when it has no forward we can read."""
        forward = self.module_attribute(root, "forward")
        if isinstance(forward, Bound):
            result = self.call_function(forward.func, self._inputs(forward.func.node), node, receiver=root)
        elif root.spec is not None and root.spec.role == CONTAINER and root.type_name != "ModuleDict":
            result = self.module_call(root, Args((self.add(graph.INPUT_NODE, []),), {}), node)
        else:
            return None
        self.add(graph.OUTPUT_NODE, self.data(result))
        return self.graph

    def _inputs(self, func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> Args:
        """An input node per parameter; None/bool/int defaults stay constants, as fx's concrete_args."""
        spec = func.args
        params = [*spec.posonlyargs, *spec.args][1:]
        defaults = dict(zip([p.arg for p in params][len(params) - len(spec.defaults) :], spec.defaults))
        positional = []
        for param in params:
            default = defaults.get(param.arg)
            if isinstance(default, ast.Constant) and (default.value is None or isinstance(default.value, (bool, int))):
                break
            positional.append(self.add(graph.INPUT_NODE, []))
        keywords = {
            p.arg: self.add(graph.INPUT_NODE, []) for p, d in zip(spec.kwonlyargs, spec.kw_defaults) if d is None
        }
        return Args(tuple(positional), keywords)

    # -- calls ---------------------------------------------------------------------------

    def call(self, func: Any, args: Args, node: ast.Call, frame: Frame) -> Any:
        if isinstance(func, ModuleObj):
            return self.module_call(func, args, node)
        return super().call(func, args, node, frame)

    def module_call(self, module: ModuleObj, args: Args, node: ast.AST) -> Any:
        name = self.names.get(id(module))
        if module.uncertain or name is None:
            return self.opaque(args)
        if layer_kind(module) is not None or module.spec is not None and module.spec.role == graph.LAYER:
            layer = self.add(graph.LAYER, self.data(args), name=name)
            if module.kind == ATTENTION:
                return attention.outputs(self, module, layer, args)
            return recurrent.outputs(module, layer) if module.kind == RECURRENT else layer
        first = self.data(*args.positional[:1])
        if isinstance(module.cls, ClassInfo):
            if _is_norm_like(module):
                return self.add(graph.NORM, first, name=name)
            forward = self.module_attribute(module, "forward")
            if isinstance(forward, Bound) and _is_stateless(module):
                return self.elementwise_call(module, forward, args, node)
            if isinstance(forward, Bound):
                return self.call_function(forward.func, args, node, receiver=module)
        role = module.spec.role if module.spec is not None else graph.OPAQUE
        if role == COMPOSITE:
            return transformer.forward(self, module, args, node)
        if role == graph.ACTIVATION and module.activation is not None:
            return self.add(graph.ACTIVATION, first, activation=module.activation)
        if role in (graph.NORM, graph.PASS):
            return self.add(role, first, name=name)
        if role == graph.SOFTMAX:
            return self.add(graph.SOFTMAX, first)
        if role == CONTAINER and module.type_name != "ModuleDict" and len(args.positional) == 1 and not args.keywords:
            return self.chain(module, args.positional[0], node)
        return self.opaque(args)

    def elementwise_call(self, module: ModuleObj, forward: Bound, args: Args, node: ast.AST) -> Any:
        """A parameter-free module of the file (``Swish``, ``Flatten``) on one tensor.

        Full mode measures such modules numerically when they are elementwise;
        here they are inlined only when their forward is reshapes and constant
        scalings, or one known activation; anything else is opaque.
        """
        if len(args.positional) != 1 or args.keywords or not isinstance(args.positional[0], Tensor):
            return self.opaque(args)
        trial = FlowBuilder(self.names)
        trial.depth, trial.steps = self.depth, self.steps
        try:
            trial.call_function(forward.func, Args((trial.add(graph.INPUT_NODE, []),), {}), node, receiver=module)
        except GiveUp:
            return self.opaque(args)
        kinds = [n.kind for n in trial.graph.nodes[1:]]
        if all(kind in (graph.PASS, graph.SCALE) for kind in kinds):
            return self.call_function(forward.func, args, node, receiver=module)
        act = trial.graph.nodes[1].activation if kinds == [graph.ACTIVATION] else None
        measured = _as_measured(act, module.type_name) if act is not None else None
        if measured is None:
            return self.opaque(args)
        return self.add(graph.ACTIVATION, [args.positional[0].node], activation=measured)

    def chain(self, sequential: ModuleObj, value: Any, node: ast.AST) -> Any:
        """A Sequential's forward: each child on the previous one's output."""
        for child in sequential.children.values():
            if isinstance(child, ModuleObj):
                value = self.module_call(child, Args((value,), {}), node)
            elif child is not None:
                value = self.opaque(value)
        return self.opaque(value) if sequential.open_tail else value

    def opaque(self, *values: Any) -> Any:
        inputs = self.data(*values)
        return self.add(graph.OPAQUE, inputs) if inputs else UNKNOWN

    def call_unknown(self, func: Any, args: Args, node: ast.Call) -> Any:
        receiver = func.receiver if isinstance(func, MethodOf) else None
        return self.opaque(args, receiver)

    def call_qual(self, func: Qual, args: Args, node: ast.Call, frame: Frame) -> Any:
        name = func.name
        if name in activations.FUNCTIONS or name == _F + "gelu":
            return self.activation_call(name, args)
        if name in ("torch.clamp", "torch.clamp_min", "torch.clip"):
            low = args.keywords.get("min", args.positional[1] if len(args.positional) > 1 else None)
            high = args.keywords.get("max", args.positional[2] if len(args.positional) > 2 else None)
            return self._clamp(args.positional[:1], low, high, "torch.clamp(min=0)", args)
        if name == _F + "scaled_dot_product_attention" and len(args.positional) >= 3:
            self.add(graph.SOFTMAX, self.data(*args.positional[:2]))  # the attention probabilities of q and k
            return self.add(graph.PASS, self.data(args.positional[2]))
        if name in _ARITHMETIC_FUNCTIONS and len(args.positional) == 2 and not args.keywords:
            return self.arithmetic(_ARITHMETIC_FUNCTIONS[name], *args.positional)
        if name in _PASS_FUNCTIONS:
            inputs = self.data(args) if name in _MIXING_FUNCTIONS else self.data(*args.positional[:1])
            return self.add(graph.PASS, inputs)
        if name in _NORM_FUNCTIONS:
            return self.add(graph.NORM, self.data(*args.positional[:1]))
        if name in _SOFTMAX_FUNCTIONS:
            return self.add(graph.SOFTMAX, self.data(*args.positional[:1]))
        return super().call_qual(func, args, node, frame)

    def activation_call(self, name: str, args: Args) -> Any:
        """``F.relu(x)``, ``torch.tanh(x)``...: an activation node, opaque when a parameter is not a literal."""
        rest, keywords = args.positional[1:], args.keywords
        entry = activations.FUNCTIONS.get(name)
        params = entry[1] if entry else ("approximate",)
        given = [*rest[: len(params)], *(keywords[p] for p in params if p in keywords)]
        if not args.positional or any(not is_constant(v) for v in given):
            return self.opaque(args)  # a parameter we cannot read: which activation it is stays unknown
        if name in _AS_METHOD and isinstance(args.positional[0], Tensor):
            return self.tensor_method(args.positional[0], _AS_METHOD[name], Args((), {}))
        if name in _DEFAULTS_SHOWN and entry is not None:
            keywords = {**theory.ACTIVATIONS[entry[0]].defaults, **dict(zip(params, rest)), **keywords}
            rest = ()
        act = activations.from_call(name, tuple(rest), dict(keywords), _short(name))
        if act is None:
            return self.opaque(args)
        return self.add(graph.ACTIVATION, self.data(args.positional[0]), activation=act)

    def _clamp(self, inputs: tuple[Any, ...], low: Any, high: Any, label: str, args: Args) -> Any:
        act = activations.relu_clamp(low, high, label) if is_constant(low) and is_constant(high) else None
        if act is None:
            return self.opaque(args, *inputs)
        return self.add(graph.ACTIVATION, self.data(*inputs), activation=act)

    def call_method(self, receiver: Any, name: str, args: Args, node: ast.Call, frame: Frame) -> Any:
        if isinstance(receiver, Tensor):
            return self.tensor_method(receiver, name, args)
        if isinstance(receiver, ModuleObj):
            return self.module_method(receiver, name, args, node, frame)
        if isinstance(receiver, TensorRef):
            return UNKNOWN  # a parameter is a constant of the graph, not data
        return super().call_method(receiver, name, args, node, frame)

    def module_method(self, module: ModuleObj, name: str, args: Args, node: ast.Call, frame: Frame) -> Any:
        if name in ("forward", "__call__"):
            return self.module_call(module, args, node)
        if name.startswith("super:") and name.endswith(":forward"):
            if module.spec is not None and module.spec.role == CONTAINER and len(args.positional) == 1:
                return self.chain(module, args.positional[0], node)
            return self.opaque(args)
        if module.spec is not None and module.spec.role == CONTAINER and not module.open_tail:
            if name == "children":
                return tuple(child for _, child in module.named_children())
            if name in ("values", "items", "keys") and module.type_name == "ModuleDict":
                return tuple(getattr(module.children, name)())
        return self.opaque(args)

    def tensor_method(self, tensor: Tensor, name: str, args: Args) -> Any:
        if name in activations.METHODS:
            act = activations.make_activation(activations.METHODS[name], f"x.{name}()")
            return self.add(graph.ACTIVATION, [tensor.node], activation=act)
        if name in activations.CLAMPS:
            low = args.keywords.get("min", args.positional[0] if args.positional else None)
            high = (
                None
                if name.startswith("clamp_min")
                else args.keywords.get("max", args.positional[1] if len(args.positional) > 1 else None)
            )
            return self._clamp((tensor,), low, high, f"x.{name}(min=0)", args)
        if name in _ARITHMETIC_METHODS and len(args.positional) == 1 and not args.keywords:
            return self.arithmetic(_ARITHMETIC_METHODS[name], tensor, args.positional[0])
        if name in _PASS_METHODS:
            inputs = self.data(tensor, args) if name in ("matmul", "bmm") else [tensor.node]
            return self.add(graph.PASS, inputs)
        if name in _IGNORE_METHODS:
            return UNKNOWN
        if name in ("softmax", "log_softmax"):
            return self.add(graph.SOFTMAX, [tensor.node])
        return self.opaque(tensor, args)

    # -- operators -----------------------------------------------------------------------

    def arithmetic(self, op: str, left: Any, right: Any) -> Any:
        """+, -, *, / between tensors and constants, as ``ops.arithmetic_kind`` classifies them."""
        left_t, right_t = isinstance(left, Tensor), isinstance(right, Tensor)
        if left_t and right_t:
            kind = {"add": graph.MERGE, "sub": graph.MERGE, "mul": graph.GATE}.get(op, graph.OPAQUE)
            return self.add(kind, [left.node, right.node])
        tensor, other = (left, right) if left_t else (right, left)
        if other is UNKNOWN:
            # Possibly another tensor: an add is treated as a merge, a product as unknown.
            return self.add(graph.MERGE if op in ("add", "sub") else graph.OPAQUE, [tensor.node])
        if op in ("add", "sub"):
            return self.add(graph.PASS, [tensor.node])
        if op == "div" and not left_t:
            return self.add(graph.OPAQUE, [tensor.node])  # c / x is not a scaling of x
        if is_number(other) and other != 0:
            factor = float(other) if op == "mul" else 1.0 / float(other)
            return self.add(graph.SCALE, [tensor.node], factor=factor)
        return self.add(graph.PASS, [tensor.node])

    def binop(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        if not (isinstance(left, Tensor) or isinstance(right, Tensor)):
            return super().binop(op, left, right, node)
        kind = _OPERATORS.get(type(op))
        if kind is not None:
            return self.arithmetic(kind, left, right)
        if isinstance(op, ast.MatMult):
            return self.add(graph.PASS, self.data(left, right))
        return self.add(graph.OPAQUE, self.data(left, right))

    def unaryop(self, op: ast.unaryop, value: Any, node: ast.AST) -> Any:
        if isinstance(value, Tensor):
            return self.add(graph.OPAQUE, [value.node])
        return super().unaryop(op, value, node)

    def compare(self, op: ast.cmpop, left: Any, right: Any, node: ast.AST) -> Any:
        if isinstance(op, (ast.Is, ast.IsNot)) and (isinstance(left, Tensor) or isinstance(right, Tensor)):
            if left is UNKNOWN or right is UNKNOWN:
                return UNKNOWN
            return (left == right) == isinstance(op, ast.Is)  # a tensor is never None, and is itself
        if isinstance(left, Tensor) or isinstance(right, Tensor):
            return self.add(graph.OPAQUE, self.data(left, right))
        return super().compare(op, left, right, node)

    def truth(self, value: Any) -> bool | None:
        if isinstance(value, Tensor):
            return None
        return super().truth(value)

    def attribute(self, value: Any, name: str, node: ast.AST) -> Any:
        if isinstance(value, Tensor):
            return UNKNOWN if name in _TENSOR_ATTRIBUTES else MethodOf(value, name)
        return super().attribute(value, name, node)

    def subscript(self, value: Any, index: Any, node: ast.AST) -> Any:
        if isinstance(value, Tensor):
            return self.add(graph.PASS, [value.node])
        return super().subscript(value, index, node)

    def unknown_item(self, iterable: Any, node: ast.AST) -> Any:
        if isinstance(iterable, Tensor):
            return self.add(graph.PASS, [iterable.node])
        return self.opaque(iterable)

    def unknown_result(self, inputs: list[Any], node: ast.AST) -> Any:
        return self.opaque(*inputs)

    # -- loops that cannot be counted ----------------------------------------------------------

    def uncounted_for(self, stmt: ast.For | ast.AsyncFor, iterable: Any, frame: Frame) -> None:
        """A loop over items we cannot list (time steps: ``range(x.size(1))``, ``x.unbind(1)``) runs
        ``UNROLLED_PASSES`` times, for sure: see ``UNROLLED_PASSES``."""
        self.run_for(stmt, [self.unknown_item(iterable, stmt) for _ in range(UNROLLED_PASSES)], frame)

    def uncounted_while(self, stmt: ast.While, frame: Frame) -> None:
        """A while loop whose test cannot be decided runs ``UNROLLED_PASSES`` more times, its test
        evaluated between them for what it computes, then ends."""
        for index in range(UNROLLED_PASSES):
            if index:
                self.eval(stmt.test, frame)
            if not self.run_pass(stmt.body, frame):
                return
        self.run_body(stmt.orelse, frame)

    # -- branches that cannot be decided ----------------------------------------------------------

    def returned(self, maybe_values: list[Any], result: Any, node: ast.AST) -> Any:
        if self.depth == 0:  # the model's own forward: each return is an output, as in fx's per-branch traces
            for value in maybe_values:
                self.add(graph.OUTPUT_NODE, self.data(value))
            return result
        return super().returned(maybe_values, result, node)

    def enter_undecided(self, frame: Frame) -> None:
        """Tensors entering a branch that may not run go through an opaque node first."""
        for name, value in frame.scope.names.items():
            if isinstance(value, Tensor):
                frame.scope.names[name] = self.add(graph.OPAQUE, [value.node])

    def join(self, values: list[Any], node: ast.AST) -> Any:
        if any(isinstance(v, Tensor) for v in values):
            return self.add(graph.OPAQUE, self.data(*values))
        return super().join(values, node)


def _is_stateless(module: ModuleObj) -> bool:
    """No parameters and no submodules: full mode would try it as an elementwise activation."""
    return not module.params and not any(True for _ in module.named_children())


def _as_measured(act: Activation, label: str) -> Activation | None:
    """The activation full mode's numerical probe would name for a module computing ``act``."""
    spec = theory.ACTIVATIONS.get(act.name)
    if spec is None:
        return None
    if not spec.defaults:
        return activations.make_activation(act.name, label)
    if act.name == "leaky_relu":
        slope = dict(act.params)["negative_slope"]
        return activations.make_activation("leaky_relu", f"{label}(negative_slope={slope:g})", negative_slope=slope)
    return None


def _is_norm_like(module: ModuleObj) -> bool:
    """A childless ``...Norm`` of the file with 1-D parameters only (RMSNorm written by hand)."""
    shapes = [state.shape for _, state in module.own_params()]
    return (
        "norm" in module.type_name.lower()
        and not any(True for _ in module.named_children())
        and all(s is not None and len(s) <= 1 for s in shapes)
    )
