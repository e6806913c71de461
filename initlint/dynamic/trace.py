"""Trace a model with torch.fx into ``FlowGraph``s, falling back when fx cannot.

Order of attempts: a whole-model trace (einops calls kept as single nodes);
then both sides of data-dependent branches (a tracer that answers True, then
False, where fx would raise); then keeping the failing submodule as a leaf and
tracing it on its own (inlined back into the parent); then each child on its
own. When fx traced only parts that way (``int(x.shape[-1])``,
``int(x.max())``, a loop over a tensor's value), one concrete forward on random
inputs is recorded as well, if the model has real values, and kept when it
pairs more layers. Anything past the first attempt marks the model partial.
"""

from __future__ import annotations

import inspect
import operator
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves, tree_map

from ..shared import graph as g
from ..shared.facts import PARTIAL, TRACED
from ..shared.graph import FlowGraph
from . import ops

_MAX_LEAF_RETRIES = 24
# `(*x.shape[:-1], -1, d)` asks a proxy for its length. It is nearly always a
# shape prefix (batch, sequence) feeding a view; the count only changes shape
# arguments, which pairing ignores, so a guess beats giving up. (`int(x.shape[-1])`
# is not guessed: `range(int(x.shape[-1]) // 16)` would trace a loop of a guessed
# length; one concrete forward answers it.)
_GUESSED_LENGTH = 2
_METADATA_ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "is_cuda", "layout", "requires_grad"})
_ASSUMED_METADATA = {"dtype": torch.float32, "device": torch.device("cpu"), "is_cuda": False}
_LOOP_VISITS = 8
_MAX_DEPTH = 6


@dataclass(frozen=True)
class Flow:
    graphs: tuple[FlowGraph, ...]
    status: str  # TRACED or PARTIAL
    detail: str = ""
    untraced: str = ""  # why the module's own forward could not be traced, if it could not
    whole: bool = True  # every forward was traced (both sides of a data-dependent branch count); False: parts only


class _Tracer(fx.Tracer):
    """Keeps weight layers, activations and norms as leaves (einops calls as single nodes); may answer branches."""

    def __init__(self, leaves: set[int], branch: bool = True):
        super().__init__(autowrap_functions=tuple(ops.einops_functions()))
        einops = sys.modules.get("einops")
        if einops is not None:  # `einops.rearrange(x, ...)`, besides `from einops import rearrange`
            self._autowrap_search.append(einops)
        self.proxy_buffer_attributes = True  # `self.position_ids[:, :n]` slices a proxy, not a real tensor
        self._leaves = leaves
        self._branch = branch
        self._asked: Counter[tuple[str, int]] = Counter()

    @property
    def branched(self) -> bool:
        """Whether the trace met data-dependent control flow (and chose a side)."""
        return bool(self._asked)

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return id(m) in self._leaves

    def create_arg(self, a: Any) -> Any:
        try:
            return super().create_arg(a)
        except RuntimeError:  # fx: "argument of type X" is not supported
            return None  # a cache or config object in the outputs: not dataflow

    def iter(self, obj: fx.Proxy) -> Iterator[fx.Proxy]:
        # `map(f, x.chunk(3))`: fx knows the count only when unpacking; chunk's argument says it too.
        return iter([obj[i] for i in range(_length(obj))])  # type: ignore[index]  # torch adds Proxy's operators at run time

    def trace(self, root: nn.Module | Callable[..., Any], concrete_args: dict[str, Any] | None = None) -> fx.Graph:
        saved_len, saved_getattr = fx.Proxy.__len__, fx.Proxy.__getattr__

        def getattr_(proxy: fx.Proxy, name: str) -> Any:
            # `torch.finfo(x.dtype)`, `x.to(x.device)`: metadata, not dataflow.
            if name in _ASSUMED_METADATA:
                return _ASSUMED_METADATA[name]
            return saved_getattr(proxy, name)

        # Patching the class for this trace's duration is the point: mypy forbids assigning to methods.
        fx.Proxy.__len__ = _length  # type: ignore[method-assign]
        fx.Proxy.__getattr__ = getattr_  # type: ignore[method-assign]
        try:
            return super().trace(root, concrete_args)
        finally:
            fx.Proxy.__len__, fx.Proxy.__getattr__ = saved_len, saved_getattr  # type: ignore[method-assign]

    def to_bool(self, obj: fx.Proxy) -> bool:
        caller = sys._getframe(2)
        site = (caller.f_code.co_filename, caller.f_lineno)
        self._asked[site] += 1
        # The chosen side, until a site has been asked often enough to be a
        # loop; then the other, so the loop ends.
        return self._branch if self._asked[site] <= _LOOP_VISITS else not self._branch


def _length(proxy: fx.Proxy) -> int:
    """How many results ``x.chunk(3)`` or ``x.split([a, b], 1)`` gives, when its arguments say; else a guess."""
    node = proxy.node
    if node.target in ("chunk", torch.chunk):
        chunks = node.kwargs.get("chunks", node.args[1] if len(node.args) > 1 else None)
        return chunks if isinstance(chunks, int) else _GUESSED_LENGTH
    if node.target in ("split", torch.split):
        keyword = node.kwargs.get("split_size", node.kwargs.get("split_size_or_sections"))
        sizes = node.args[1] if len(node.args) > 1 else keyword
        return len(sizes) if isinstance(sizes, (list, tuple)) else _GUESSED_LENGTH
    return _GUESSED_LENGTH


def _concrete_args(forward: Callable[..., Any], specialise_none: bool = True) -> dict[str, Any]:
    """Specialise optional arguments (None/bool/int defaults): fewer branches.

    The first argument stays symbolic even when it defaults to None: it is the
    model's input (transformers' ``input_ids=None``). Some None defaults are
    inputs in practice (``position_embeddings``), hence ``specialise_none``.
    """
    try:
        params = list(inspect.signature(forward).parameters.values())[1:]  # after self
    except (TypeError, ValueError):
        return {}
    return {
        p.name: p.default
        for p in params[1:]
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and ((p.default is None and specialise_none) or isinstance(p.default, (bool, int)))
    }


def _traceable_forward(cls: type[nn.Module]) -> Callable[..., Any] | None:
    """A plain ``forward`` for fx when the class's cannot be traced as is.

    Decorated forwards are unwrapped; ``*args``/``**kwargs`` are dropped (fx's
    code patching fails on them), keeping every named parameter.
    """
    original = cls.forward
    forward = inspect.unwrap(original)
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        return None
    var = [p for p in params if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if forward is original and not var:
        return None
    named = [p for p in params if p not in var]
    defaults = {p.name: p.default for p in named if p.default is not p.empty}
    args = ", ".join(f"{p.name}=__defaults['{p.name}']" if p.name in defaults else p.name for p in named)
    calls = ", ".join(p.name if p.kind is p.POSITIONAL_ONLY else f"{p.name}={p.name}" for p in named)
    source = f"def forward({args}):\n    return __forward({calls})\n"
    namespace: dict[str, Any] = {"__defaults": defaults, "__forward": forward}
    exec(compile(source, f"<initlint forward of {cls.__qualname__}>", "exec"), namespace)
    traceable: Callable[..., Any] = namespace["forward"]
    return traceable


@contextmanager
def _plain_forward(module: nn.Module) -> Iterator[Callable[..., Any]]:
    """Trace ``module`` through a plain forward, restoring its class afterwards."""
    cls = type(module)
    forward = _traceable_forward(cls)
    if forward is None:
        yield cls.forward
        return
    module.__class__ = type(cls.__name__, (cls,), {"forward": forward, "__module__": cls.__module__})
    try:
        yield forward
    finally:
        module.__class__ = cls


_Data = Callable[..., list[int]]  # the flow nodes of the data among some fx arguments (``_Converter.convert``)


class _Converter:
    """fx graph -> FlowGraph, resolving modules by qualified name."""

    def __init__(self, root: nn.Module, roles: dict[str, ops.ModuleRole], inlined: dict[str, FlowGraph]):
        self.root = root
        self.roles = roles
        self.inlined = inlined

    def convert(self, fx_graph: fx.Graph) -> FlowGraph:
        flow = FlowGraph()
        ids: dict[fx.Node, int] = {}
        constants: set[fx.Node] = set()

        def data(*values: Any) -> list[int]:
            found: list[int] = []
            for value in values:
                for node in _nodes_in(value):
                    if node not in constants and node in ids:
                        found.append(ids[node])
            return found

        for node in fx_graph.nodes:
            if node.op == "placeholder":
                ids[node] = flow.add(g.INPUT_NODE)
            elif node.op == "get_attr":
                constants.add(node)
            elif node.op == "output":
                ids[node] = flow.add(g.OUTPUT_NODE, data(node.args))
            elif node.op == "call_module":
                ids[node] = self._module(flow, node, data)
            elif node.op == "call_function":
                ids[node] = self._function(flow, node, data, constants)
            elif node.op == "call_method":
                ids[node] = self._method(flow, node, data, constants)
        return flow

    def _module(self, flow: FlowGraph, node: fx.Node, data: _Data) -> int:
        name = str(node.target)
        if name in self.inlined:
            return _inline(flow, self.inlined[name], name, data(*node.args))
        role = self.roles.get(name)
        if role is None:
            return flow.add(g.OPAQUE, data(node.args, node.kwargs))
        if role.kind == g.LAYER:
            layer = flow.add(g.LAYER, data(node.args, node.kwargs), name=name)
            return self._output_projection(flow, name, layer)
        if role.kind == g.ACTIVATION:
            return flow.add(g.ACTIVATION, data(node.args[:1]), activation=role.activation)
        if role.kind in (g.NORM, g.PASS):
            kept = flow.add(role.kind, data(node.args[:1]), name=name)
            if role.activation is None:
                return kept
            return flow.add(g.ACTIVATION, [kept], activation=role.activation)  # BatchNormAct2d's own activation
        if role.kind == g.SOFTMAX:
            return flow.add(g.SOFTMAX, data(node.args[:1]))
        return flow.add(g.OPAQUE, data(node.args, node.kwargs))

    def _output_projection(self, flow: FlowGraph, name: str, layer: int) -> int:
        """``nn.MultiheadAttention`` is one leaf, yet two layers: q/k/v projections, attention, then ``out_proj``.

        Its ``out_proj`` feeds what follows the call; the packed projection
        feeds ``out_proj`` (through the attention's weighted sum of v).
        """
        projection = f"{name}.out_proj"
        if not isinstance(self.root.get_submodule(name), nn.MultiheadAttention) or projection not in self.roles:
            return layer
        return flow.add(g.LAYER, [layer], name=projection)

    def _function(self, flow: FlowGraph, node: fx.Node, data: _Data, constants: set[fx.Node]) -> int:
        fn, args, kwargs = node.target, node.args, node.kwargs
        layer = ops.functional_layer(fn, args, kwargs, constants)
        if layer is not None:
            name, details = layer
            flow.functional[name] = details
            return flow.add(g.LAYER, data(args[:1]), name=name)
        act = ops.function_activation(fn, args, kwargs)
        if act is not None:
            return flow.add(g.ACTIVATION, data(args[:1]), activation=act)
        if fn is ops.SDPA and len(args) >= 3:
            flow.add(g.SOFTMAX, data(args[0], args[1]))  # the attention probabilities of q and k
            return flow.add(g.PASS, data(args[2]))
        if len(args) == 2 and not kwargs and ops.function_kind(fn) is None:  # not `q @ k`: that passes v on
            arith = self._arithmetic(flow, fn, args, data, constants)
            if arith is not None:
                return arith
        if fn is getattr:
            # x.shape, x.dtype: not data; outputs.last_hidden_state: data
            attribute = g.IGNORE if len(args) > 1 and args[1] in _METADATA_ATTRIBUTES else g.PASS
            return flow.add(attribute, data(args[:1]))
        kind = ops.function_kind(fn)
        if kind == g.PASS:
            return flow.add(g.PASS, data(args, kwargs) if ops.mixes_inputs(fn) else data(args[:1]))
        if kind in (g.NORM, g.IGNORE, g.SOFTMAX):
            return flow.add(kind, data(args[:1]))
        return flow.add(g.OPAQUE, data(args, kwargs))

    def _method(self, flow: FlowGraph, node: fx.Node, data: _Data, constants: set[fx.Node]) -> int:
        method, args, kwargs = str(node.target), node.args, node.kwargs
        act = ops.method_activation(method, args, kwargs)
        if act is not None:
            return flow.add(g.ACTIVATION, data(args[:1]), activation=act)
        if len(args) == 2 and not kwargs and method in ops.ARITH_METHODS:
            arith = self._arithmetic(flow, method, args, data, constants)
            if arith is not None:
                return arith
        kind = ops.method_kind(method)
        if kind == g.PASS:
            return flow.add(g.PASS, data(args) if method in ("matmul", "bmm") else data(args[:1]))
        if kind in (g.IGNORE, g.SOFTMAX):
            return flow.add(kind, data(args[:1]))
        return flow.add(g.OPAQUE, data(args, kwargs))

    def _arithmetic(
        self, flow: FlowGraph, op: Any, args: tuple[Any, ...], data: _Data, constants: set[fx.Node]
    ) -> int | None:
        left, right = args
        left_data = isinstance(left, fx.Node) and left not in constants
        right_data = isinstance(right, fx.Node) and right not in constants
        if not (left_data or right_data):
            return None
        constant = right if left_data else left
        kind, factor = ops.arithmetic_kind(op, left_data, right_data, constant)
        if kind == g.SCALE and not left_data and op in ops.DIVISIONS:
            kind, factor = g.OPAQUE, 1.0  # c / x is not a scaling of x
        if kind == g.OPAQUE and not (left_data and right_data) and op not in ops.DIVISIONS:
            return None
        return flow.add(kind, data(left, right), factor=factor)


def _nodes_in(value: Any) -> Iterable[fx.Node]:
    if isinstance(value, fx.Node):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _nodes_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _nodes_in(v)


def _prefixed_functional(sub: FlowGraph, prefix: str) -> dict[str, g.FunctionalLayer]:
    return {
        f"{prefix}.{name}" if prefix else name: replace(
            layer, bias=f"{prefix}.{layer.bias}" if prefix and layer.bias else layer.bias
        )
        for name, layer in sub.functional.items()
    }


def _inline(flow: FlowGraph, sub: FlowGraph, prefix: str, inputs: list[int]) -> int:
    """Copy a submodule's graph into ``flow`` where the submodule is called."""
    flow.functional.update(_prefixed_functional(sub, prefix))
    mapping: dict[int, int] = {}
    pending_inputs = list(inputs)
    result = None
    for i, node in enumerate(sub.nodes):
        sources = [mapping[j] for j in node.inputs if j in mapping]
        if node.kind == g.INPUT_NODE:
            fed = [pending_inputs.pop(0)] if pending_inputs else []
            mapping[i] = flow.add(g.PASS, fed) if fed else flow.add(g.SOURCE)
        elif node.kind == g.OUTPUT_NODE:
            result = mapping[i] = flow.add(g.PASS, sources)
        else:
            name = f"{prefix}.{node.name}" if node.name else ""
            mapping[i] = flow.add(node.kind, sources, name=name, activation=node.activation, factor=node.factor)
    return result if result is not None else flow.add(g.OPAQUE, inputs)


def _detached(sub: FlowGraph, prefix: str) -> FlowGraph:
    """A separately traced submodule's graph, names prefixed, ends unknown."""
    flow = FlowGraph(functional=_prefixed_functional(sub, prefix))
    for node in sub.nodes:
        kind = {g.INPUT_NODE: g.SOURCE, g.OUTPUT_NODE: g.SINK}.get(node.kind, node.kind)
        name = f"{prefix}.{node.name}" if prefix and node.name else node.name
        flow.add(kind, node.inputs, name=name, activation=node.activation, factor=node.factor)
    return flow


def _failing_module(error: BaseException, root: nn.Module) -> nn.Module | None:
    """The innermost submodule of ``root`` whose forward raised."""
    owned = {id(m) for m in root.modules() if m is not root}
    found = None
    for frame, _ in traceback.walk_tb(error.__traceback__):
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, nn.Module) and id(candidate) in owned:
            found = candidate
    return found


def module_roles(root: nn.Module) -> dict[str, ops.ModuleRole]:
    """Roles of all submodules that the tracer keeps as leaves: those a forward can reach by attribute.

    A registered submodule can be hidden by an instance attribute of the same name: a copied
    ``nn.TransformerDecoderLayer`` (``nn.TransformerDecoder`` deep-copies its layer) given a module as
    its activation gets ``activation = F.relu`` from torch's ``__setstate__``, and runs F.relu.
    """
    roles = {}
    for name, module in root.named_modules():
        if module is root or not _reachable(root, name, module):
            continue
        role = ops.module_role(module)
        if role is not None:
            roles[name] = role
    return roles


def _reachable(root: nn.Module, name: str, module: nn.Module) -> bool:
    """Whether ``root.<name>`` (attribute by attribute) is ``module``."""
    try:
        return root.get_submodule(name) is module
    except AttributeError:
        return False


def trace_model(model: nn.Module) -> Flow:
    """Every graph that could be traced for a model, and how complete they are.

    When fx traced only parts of it, one concrete forward is recorded as well,
    and kept if it pairs more layers.
    """
    roles = module_roles(model)
    flow = _trace(model, roles, depth=0)
    if flow.whole:
        return flow
    run = run_model(model, roles)
    if run is None:
        return flow
    return _better(flow, run)


def _better(traced: Flow, run: Run) -> Flow:
    """The traced parts or the recorded forward, whichever pairs more layers.

    Parts traced on their own that the forward never reached (a head it did not
    use) stay beside the recording; the others go, for a layer paired in one
    and left unknown in the other would count as calls that disagree. On a tie
    a traced forward wins (it saw both sides of every branch), traced
    fragments lose (the recording sees across their borders).
    """
    reached = set(run.graph.layer_nodes())
    graphs = (run.graph, *(part for part in traced.graphs if reached.isdisjoint(part.layer_nodes())))
    recorded, by_tracing = _paired(graphs), _paired(traced.graphs)
    if recorded < by_tracing or (recorded == by_tracing and not traced.untraced):
        return traced
    how = f"paired along one forward on {run.inputs}"
    if traced.untraced:
        detail = f"forward not traceable ({traced.untraced}): {how}"
    else:
        detail = f"{traced.detail}; {how}: {recorded} layers paired, {by_tracing} by tracing"
    return Flow(graphs, PARTIAL, detail, whole=False)


def _paired(graphs: tuple[FlowGraph, ...]) -> int:
    """How many layers the graphs pair with something known downstream."""
    return sum(pairing.downstream is not None for pairing in g.pair_layers(graphs).values())


def _subroles(roles: dict[str, ops.ModuleRole], prefix: str) -> dict[str, ops.ModuleRole]:
    start = prefix + "."
    return {k[len(start) :]: v for k, v in roles.items() if k.startswith(start)}


class _Traces:
    """Tracing one module, with some submodules replaced by graphs traced on their own."""

    def __init__(self, module: nn.Module, roles: dict[str, ops.ModuleRole]):
        self.module = module
        self.roles = roles
        self.leaves = {id(module.get_submodule(n)) for n in roles}

    def attempt(self, branch: bool, inlined: dict[str, FlowGraph]) -> tuple[FlowGraph, bool]:
        """One trace: (graph, whether it met data-dependent control flow)."""
        leaves = self.leaves | {id(self.module.get_submodule(n)) for n in inlined}
        with _plain_forward(self.module) as forward:
            tracer = _Tracer(leaves, branch)
            try:
                fx_graph = tracer.trace(self.module, concrete_args=_concrete_args(forward) or None)
            except (TypeError, AttributeError, ValueError) as error:
                if isinstance(error, fx.proxy.TraceError):
                    raise  # not about a None argument: retrying would only skip code
                try:
                    tracer = _Tracer(leaves, branch)
                    fx_graph = tracer.trace(
                        self.module, concrete_args=_concrete_args(forward, specialise_none=False) or None
                    )
                except Exception:
                    raise error from None
        return _Converter(self.module, self.roles, inlined).convert(fx_graph), tracer.branched

    def both_sides(self, inlined: dict[str, FlowGraph]) -> tuple[list[FlowGraph], bool]:
        """Graphs of the True side of every data-dependent branch and, if there was one, of the False side."""
        graph, branched = self.attempt(True, inlined)
        if not branched:
            return [graph], False
        try:
            return [graph, self.attempt(False, inlined)[0]], True
        except Exception:
            return [graph], True


def _trace(module: nn.Module, roles: dict[str, ops.ModuleRole], depth: int) -> Flow:
    traces = _Traces(module, roles)
    try:
        graphs, branched = traces.both_sides({})
        if not branched:
            return Flow(tuple(graphs), TRACED)
        return Flow(tuple(graphs), PARTIAL, "data-dependent control flow: paired both branches")
    except Exception as error:
        first = error
    if depth >= _MAX_DEPTH:
        return Flow((), PARTIAL, f"could not trace: {_brief(first)}", untraced=_brief(first), whole=False)
    return _around_failures(traces, first, depth) or _children(module, roles, depth, _brief(first))


def _around_failures(traces: _Traces, error: BaseException, depth: int) -> Flow | None:
    """Keep each submodule whose forward fails as a leaf, traced on its own and inlined; None if that fails."""
    module, roles = traces.module, traces.roles
    names = {id(m): n for n, m in module.named_modules()}
    inlined: dict[str, FlowGraph] = {}
    detached: list[FlowGraph] = []
    first = _brief(error)
    for _ in range(_MAX_LEAF_RETRIES):
        culprit = _failing_module(error, module)
        if culprit is None or names.get(id(culprit)) in inlined:
            return None
        name = names[id(culprit)]
        sub = _trace(culprit, _subroles(roles, name), depth + 1)
        if len(sub.graphs) == 1:
            inlined[name] = sub.graphs[0]
        else:
            inlined[name] = _opaque_call()
            detached.extend(_detached(s, name) for s in sub.graphs)  # its parts stand alone
        try:
            graphs, _ = traces.both_sides(inlined)
            detail = f"traced around untraceable {', '.join(inlined)}: {first}"
            return Flow((*graphs, *detached), PARTIAL, detail, whole=False)
        except Exception as e:
            error = e
    return None


def _children(module: nn.Module, roles: dict[str, ops.ModuleRole], depth: int, why: str) -> Flow:
    """The module's own forward cannot be traced: trace each child on its own."""
    parts: list[FlowGraph] = []
    for child_name, child in module.named_children():
        if child_name not in roles:
            sub = _trace(child, _subroles(roles, child_name), depth + 1)
            parts.extend(_detached(s, child_name) for s in sub.graphs)
    detail = f"forward not traceable ({why}): paired inside submodules only"
    return Flow(tuple(parts), PARTIAL, detail, untraced=why, whole=False)


def _opaque_call() -> FlowGraph:
    """A submodule's call that nothing is known about: its input goes into an opaque node."""
    flow = FlowGraph()
    flow.add(g.OUTPUT_NODE, [flow.add(g.OPAQUE, [flow.add(g.INPUT_NODE)])])
    return flow


def _brief(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = text[:160]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# -- one concrete forward ----------------------------------------------------------

_ATTEMPTS = 6  # first inputs tried: a mismatch fails at the first layer, in milliseconds
_MAX_TENSORS = 10_000  # a loop whose count is a tensor's value may be long: a run past this is dropped
_SPATIAL = {1: 64, 2: 64, 3: 16}  # input size per convolution dimension; transposed ones start at 4
# x.__rsub__(c) is c - x: fx records operator.sub(c, x); so do we, for _Converter.
_REFLECTED = {"__rsub__": operator.sub, "__rdiv__": operator.truediv, "__rtruediv__": operator.truediv,
              "__radd__": operator.add, "__rmul__": operator.mul, "__rpow__": operator.pow,
              "__rmatmul__": operator.matmul}  # fmt: skip


@dataclass(frozen=True)
class Run:
    """The dataflow of one concrete forward, and the shapes of the inputs it ran on."""

    graph: FlowGraph
    shapes: tuple[tuple[int, ...], ...]

    @property
    def inputs(self) -> str:
        """``a random input of shape (2, 3)``, or ``random inputs of shapes (2, 3) and (2,)``."""
        if len(self.shapes) == 1:
            return f"a random input of shape {self.shapes[0]}"
        return f"random inputs of shapes {', '.join(map(str, self.shapes[:-1]))} and {self.shapes[-1]}"


def run_model(model: nn.Module, roles: dict[str, ops.ModuleRole]) -> Run | None:
    """The dataflow of one forward on random inputs: the first shaped for a weight layer, any others guessed.

    None when the model has no real values (built on meta), its forward
    requires no input, or no guessed inputs run.
    """
    names = required_inputs(model)
    if any(p.is_meta for p in model.parameters()) or not names:
        return None
    leaves = {id(model.get_submodule(name)): name for name in roles}
    for inputs in example_calls(model, len(names)):
        try:
            fx_graph = _record_forward(model, leaves, dict(zip(names, inputs, strict=True)))
        except _TooLong:
            return None  # the input fitted; another would run as long
        except Exception:
            continue
        return Run(_Converter(model, roles, {}).convert(fx_graph), tuple(tuple(x.shape) for x in inputs))
    return None


class _TooLong(Exception):
    """The forward made more tensors than one run may record."""


def required_inputs(model: nn.Module) -> list[str]:
    """The names of the forward's parameters a call must pass."""
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def example_calls(model: nn.Module, count: int) -> Iterator[tuple[torch.Tensor, ...]]:
    """Arguments for a forward taking ``count`` inputs: the first as a weight layer takes it, the others guessed."""
    for first in _example_inputs(model):
        if count == 1:
            yield (first,)
            continue
        for guess in _OTHER_INPUTS:
            yield (first, *(guess(first) for _ in range(count - 1)))


def _per_sample_index(first: torch.Tensor) -> torch.Tensor:
    """One integer per sample: a diffusion timestep, a class label."""
    return torch.arange(first.shape[0])


def _alike(first: torch.Tensor) -> torch.Tensor:
    """Another input of the same kind: a second image, a target sequence."""
    return first.clone()


_OTHER_INPUTS = (_per_sample_index, _alike)


def _example_inputs(model: nn.Module) -> list[torch.Tensor]:
    """Inputs the model's first weight layers take, best guess first (at most _ATTEMPTS)."""
    generator = torch.Generator().manual_seed(0)
    found: list[torch.Tensor] = []
    for module in model.modules():
        for shape, integer_below in _input_shapes(module):
            if integer_below:
                example = torch.arange(shape[0] * shape[1]).remainder(integer_below).reshape(shape)
            else:
                example = torch.randn(shape, generator=generator)
            if all(example.shape != f.shape or example.dtype != f.dtype for f in found):
                found.append(example)
            if len(found) == _ATTEMPTS:
                return found
    return found


def _input_shapes(module: nn.Module) -> list[tuple[tuple[int, ...], int]]:
    """(shape, 0) of float inputs, or (shape, n) of token ids below n, that a weight layer takes."""
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return [((2, 8), module.num_embeddings)]
    if isinstance(module, nn.modules.conv._ConvNd):
        dims = len(module.kernel_size)
        size = 4 if module.transposed else _SPATIAL.get(dims, 16)
        return [((2, module.in_channels, *[size] * dims), 0)]
    if isinstance(module, nn.RNNBase):
        return [((2, 8, module.input_size), 0)]
    if isinstance(module, nn.MultiheadAttention):
        return [((2, 8, module.embed_dim), 0)]
    weight = getattr(module, "weight", None)
    if ops.layer_kind(module) in ("dense", "custom") and isinstance(weight, torch.Tensor) and weight.dim() == 2:
        width = weight.shape[1] if isinstance(module, nn.Linear) else min(weight.shape)
        return [((2, width), 0), ((2, 8, width), 0)]
    return []


def _record_forward(model: nn.Module, leaves: dict[int, str], inputs: dict[str, torch.Tensor]) -> fx.Graph:
    recording = _Recording(model, leaves, inputs)
    hooks = [
        register_module_forward_pre_hook(recording.enter),
        register_module_forward_hook(recording.leave, with_kwargs=True),
    ]
    training = model.training
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]), recording:
            output = model(*inputs.values())
    finally:
        model.train(training)
        for hook in hooks:
            hook.remove()
        # torch keeps the with_kwargs flag out of the handle's reach: removed here, or it outlives the hook
        torch.nn.modules.module._global_forward_hooks_with_kwargs.pop(hooks[1].id, None)
    recording.graph.output(recording.mapped(output))
    return recording.graph


class _Recording(TorchFunctionMode):
    """A concrete forward written down as an fx graph, as a trace with leaves would have it.

    Each torch call made outside leaf modules becomes a node, and so does each
    leaf module's call; tensors are followed by identity from the node that
    made them to the nodes that use them.
    """

    def __init__(self, model: nn.Module, leaves: dict[int, str], inputs: dict[str, torch.Tensor]):
        super().__init__()
        self.graph = fx.Graph()
        self._leaves = leaves
        self._depth = 0  # inside how many leaf modules
        self._made: dict[int, fx.Node] = {id(tensor): self.graph.placeholder(name) for name, tensor in inputs.items()}
        self._kept = list(inputs.values())  # every tensor in _made, so that its id stays its own
        self._constants = {id(t): name for name, t in (*model.named_parameters(), *model.named_buffers())}

    def mapped(self, value: Any) -> Any:
        """``value`` with each tensor a node made it (or a parameter's get_attr) replaced by that node."""
        return tree_map(lambda v: self._node_of(v) if isinstance(v, torch.Tensor) else v, value)

    def _node_of(self, tensor: torch.Tensor) -> Any:
        node = self._made.get(id(tensor))
        if node is None and id(tensor) in self._constants:
            node = self._keep(tensor, self.graph.get_attr(self._constants[id(tensor)]))
        return tensor if node is None else node  # a tensor from nowhere known: a constant

    def _keep(self, value: Any, node: fx.Node) -> fx.Node:
        for tensor in tree_leaves(value):
            if isinstance(tensor, torch.Tensor):
                self._made[id(tensor)] = node
                self._kept.append(tensor)
        return node

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if self._depth == 0 and any(isinstance(t, torch.Tensor) for t in tree_leaves(result)):
            self._keep(result, self._node(func, self.mapped(args), self.mapped(kwargs)))
            if len(self._kept) > _MAX_TENSORS:
                raise _TooLong()
        return result

    def _node(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> fx.Node:
        name = getattr(func, "__name__", "")
        if name in _REFLECTED and len(args) == 2:
            return self.graph.call_function(_REFLECTED[name], (args[1], args[0]), kwargs)
        if name == "__get__":  # a property: x.T, x.data
            return self.graph.call_method(getattr(getattr(func, "__self__", None), "__name__", name), args, kwargs)
        if getattr(torch.Tensor, name, None) is func:
            return self.graph.call_method(name, args, kwargs)
        return self.graph.call_function(func, args, kwargs)

    def enter(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if id(module) in self._leaves:
            self._depth += 1

    def leave(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        if id(module) not in self._leaves:
            return
        self._depth -= 1
        if self._depth == 0:
            node = self.graph.call_module(self._leaves[id(module)], self.mapped(args), self.mapped(kwargs))
            self._keep(output, node)
