"""Running a model's ``__init__`` from source: the module tree it builds and every init it makes.

``Builder`` follows ``__init__`` and what it calls (helper functions, methods,
``self.apply(fn)``, ``for m in self.modules()`` loops, the file's own module
classes) and records each write to a parameter where the source makes it. Calls
it does not know that receive a module or a parameter may change it: their
parameters get an ``unknown`` write, so no rule judges them.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

from ..shared import graph
from ..shared.facts import USER, InitStep, Span
from ..shared.knowledge.modules import CONTAINER
from ..shared.knowledge.values import FACTORIES, INIT_ALIASES, SIZES
from ..shared.positions import Positions
from ..shared.theory import Distribution
from ..shared.writes import UNINITIALIZED, Write, created
from . import inits, instances, layers
from .inits import (
    INIT_SIGNATURES,
    Origin,
    ParamState,
    default_bias_write,
    default_weight_write,
    describe,
    fmt,
    init_write,
    method_call_text,
    method_write,
)
from .interp import Interpreter
from .literals import is_number
from .names import Qual
from .objects import ModuleObj, TensorRef, apply_order, named_modules, named_parameters, slice_region, unique_children
from .runtime import Frame, GiveUp, Raises
from .values import UNKNOWN, Args, Bound, ClassInfo, DictVal, FuncRef, Instance, ListVal, MethodOf

# nn.Module methods that neither change the module tree nor write parameters.
_HARMLESS = frozenset({
    "to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval", "requires_grad_",
    "zero_grad", "register_buffer", "register_forward_hook", "register_forward_pre_hook",
    "register_backward_hook", "register_full_backward_hook", "register_full_backward_pre_hook",
    "extra_repr", "__repr__", "type", "share_memory",
})  # fmt: skip
# Tensor factories told their sizes as arguments, and the distribution of what they return (full: its value).
_FACTORIES = {name: created(name, ()) for name, row in FACTORIES.items() if row.form == SIZES}
_ARITHMETIC = {ast.Mult: "*", ast.Div: "/", ast.Add: "+", ast.Sub: "-"}
_IN_PLACE = {ast.Mult: "mul_", ast.Div: "div_", ast.Add: "add_", ast.Sub: "sub_"}
NO_ARGUMENTS = Args((), {})
# What torch layers' constructors call to initialise their parameters: a subclass overriding one inits its own way.
_RESETS = frozenset({"reset_parameters", "_reset_parameters"})


def is_module_class(cls: ClassInfo) -> bool:
    """The class derives (here or through the file's classes) from an nn.Module class."""
    return any(isinstance(c, Qual) and (c.name == "torch.nn.Module" or layers.spec_of(c.name)) for c in cls.mro())


def torch_base(cls: ClassInfo) -> Qual | None:
    """The torch.nn class a class of the file derives from (nn.Module if nothing more specific)."""
    for c in cls.mro():
        if isinstance(c, Qual) and (c.name == "torch.nn.Module" or layers.spec_of(c.name)):
            return c
    return None


class Builder(Interpreter):
    """Builds one model's module tree by running its constructor over abstract values."""

    def __init__(self, positions: Positions):
        super().__init__()
        self.positions = positions
        self._spans: dict[ast.AST, Span] = {}  # a loop or a block built N times asks N times

    def span(self, node: ast.AST) -> Span:
        found = self._spans.get(node)
        if found is None:
            found = self._spans[node] = self.positions.span(node)
        return found

    # -- the model and its submodules --------------------------------------------------

    def build(self, cls: ClassInfo, args: Args = NO_ARGUMENTS, node: ast.AST | None = None) -> ModuleObj:
        """The model ``cls(*args)`` (called at ``node``: a script's construction; the class itself if none)."""
        root = ModuleObj(cls, attrs={"training": True})
        self._run_init(root, cls, args, node or cls.node)
        return root

    def instantiate(self, cls: ClassInfo, args: Args, node: ast.Call, frame: Frame) -> Any:
        if not is_module_class(cls):
            made = instances.make(self, cls, args, node)
            return made if made is not None else self.call_unknown(cls, args, node)
        module = ModuleObj(cls, site=self.span(node), attrs={"training": True}, uncertain=bool(self.maybe))
        self._run_init(module, cls, args, node)
        return module

    def _run_init(self, module: ModuleObj, cls: ClassInfo, args: Args, node: ast.AST) -> None:
        init = self.module_attribute(module, "__init__")
        if isinstance(init, Bound):
            self.call_function(init.func, args, node, receiver=init.receiver)
        elif self.knows_bases(cls):
            self._torch_init(module, torch_base(cls), args, node)
        else:
            raise GiveUp(f"{cls.name} inherits its constructor from another file", node)

    def _torch_init(self, module: ModuleObj, base: Qual | None, args: Args, node: ast.AST) -> None:
        """``super().__init__(...)`` reaching a torch.nn class: give the module what that class builds."""
        if base is None or base.name == "torch.nn.Module":
            return
        spec = layers.spec_of(base.name)
        if spec is None:  # a private base (``nn.modules.conv._ConvNd``) reached through super()
            raise GiveUp(f"inherits from {base.name}, whose constructor static mode does not know", node)
        self._check_not_none(base, spec, args, node)
        built = layers.construct(base, spec, args, self.span(node))  # torch's own code runs from this call
        if spec.role == CONTAINER:
            module.spec, module.children, module.open_tail = spec, built.children, built.open_tail
        elif spec.role == graph.LAYER and not self._file_methods(module) & _RESETS:
            module.spec, module.kind = spec, built.kind
            module.params.update(built.params)
            module.children.update(built.children)  # MultiheadAttention's out_proj
        elif spec.role == graph.LAYER:
            raise GiveUp("overrides reset_parameters of a torch layer", node)
        else:
            module.spec, module.activation = spec, built.activation
        module.attrs.update({k: v for k, v in built.attrs.items() if k not in module.attrs})

    def _check_not_none(self, qual: Qual, spec: layers.Spec, args: Args, node: ast.AST) -> None:
        """torch raises for a required size given None (a script's required argument, None when run bare)."""
        missing = layers.given_none(spec, args)
        if missing is not None and not self.maybe:
            raise Raises(f"nn.{qual.last}() gets None for {missing}", node)

    @staticmethod
    def _file_methods(module: ModuleObj) -> set[str]:
        if not isinstance(module.cls, ClassInfo):
            return set()
        return {name for c in module.cls.mro() if isinstance(c, ClassInfo) for name in c.methods}

    # -- calls --------------------------------------------------------------------------

    def call_qual(self, func: Qual, args: Args, node: ast.Call, frame: Frame) -> Any:
        name = func.name
        spec = layers.spec_of(name)
        if spec is not None:
            self._check_not_none(func, spec, args, node)
            module = layers.construct(func, spec, args, self.span(node))
            module.uncertain = bool(self.maybe)
            return module
        if name.startswith("torch.nn.init."):
            function = INIT_ALIASES.get(func.last, func.last)
            if function in INIT_SIGNATURES:
                return self.init_call(function, args, node)
        if name in ("torch.nn.Parameter", "torch.nn.parameter.Parameter"):
            return self._parameter(args, node)
        if name.startswith("torch.") and func.last in _FACTORIES and name.count(".") == 1:
            return self._factory(func.last, args, node)
        if name.endswith(".__init__") and args.positional and isinstance(args.positional[0], ModuleObj):
            base = Qual(name.rpartition(".")[0])
            if base.name == "torch.nn.Module" or layers.spec_of(base.name):
                self._torch_init(
                    args.positional[0], base, Args(args.positional[1:], args.keywords, args.complete), node
                )
                return None
        return super().call_qual(func, args, node, frame)

    def call_method(self, receiver: Any, name: str, args: Args, node: ast.Call, frame: Frame) -> Any:
        if isinstance(receiver, ModuleObj):
            return self.module_method(receiver, name, args, node, frame)
        if isinstance(receiver, TensorRef):
            return self.tensor_method(receiver, name, args, node)
        return super().call_method(receiver, name, args, node, frame)

    def call_unknown(self, func: Any, args: Args, node: ast.Call) -> Any:
        """A call we cannot follow may change any module or parameter it is handed."""
        targets = [*args.all_values(), func.receiver] if isinstance(func, MethodOf) else args.all_values()
        self.taint(targets, node)
        return UNKNOWN

    def unknown_selection(self, candidates: Any, node: ast.AST) -> Any:
        """``getattr(self, name)``, ``layers[i]`` with an unknown key may be any of them: taint them all."""
        self.taint([candidates], node)
        return UNKNOWN

    def unknown_item(self, iterable: Any, node: ast.AST) -> Any:
        self.taint([iterable], node)  # a loop over items we cannot list may reach any known one
        return UNKNOWN

    def taint(self, values: list[Any], node: ast.AST) -> None:
        reached: list[ParamState] = []
        seen: set[int] = set()
        stack = list(values)
        while stack:
            value = stack.pop()
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, ModuleObj):
                reached.extend(state for _, state in named_parameters(value))
            elif isinstance(value, TensorRef):
                reached.append(value.state)
            elif isinstance(value, ListVal):
                value.known = False
                stack.extend(value.items)
            elif isinstance(value, DictVal):
                value.known = False
                stack.extend(value.items.values())
            elif isinstance(value, tuple):
                stack.extend(value)
            elif isinstance(value, Bound):
                stack.append(value.receiver)
            elif isinstance(value, Instance):
                value.known = False
                stack.extend(value.attrs.values())
        if reached:
            step = InitStep(_source(node), "unknown", USER, self.span(node), effect="unknown")
            for state in reached:
                state.add(Write("unknown", step))

    # -- module methods ----------------------------------------------------------------------

    def module_method(self, module: ModuleObj, name: str, args: Args, node: ast.Call, frame: Frame) -> Any:
        if name.startswith("super:"):
            _, base, method = name.split(":")
            if method == "__init__":
                self._torch_init(module, Qual(base), args, node)
                return None
            name = method
        handler = _MODULE_METHODS.get(name)
        if handler is not None:
            return handler(self, module, args, node, frame)
        if name in _HARMLESS:
            return module
        if name == "reset_parameters" and module.kind is not None:
            self._reset(module, node)
            return None
        return self.call_unknown(MethodOf(module, name), args, node)

    def _reset(self, module: ModuleObj, node: ast.AST) -> None:
        """An explicit ``layer.reset_parameters()``: PyTorch's default again, from this line."""
        weight, bias = module.params.get("weight"), module.params.get("bias")
        site = self.span(node)
        if weight is None or weight.shape is None:
            return
        for state, write in (
            (weight, default_weight_write(weight.shape, site)),
            (bias, default_bias_write(weight.shape, bias.shape, site) if bias and bias.shape else None),
        ):
            if state is not None and write is not None:
                state.add(write if not self.maybe else Write("unknown", write.step))

    def register(self, parent: ModuleObj, name: str, value: Any, node: ast.AST) -> None:
        """``parent.name = value`` / ``add_module``: nn.Module.__setattr__'s bookkeeping."""
        if self.maybe:
            old = parent.children.get(name)
            for module in (old, value):
                if isinstance(module, ModuleObj):
                    module.uncertain = True
        parent.attrs.pop(name, None)
        parent.params.pop(name, None)
        layers.add_child(parent, name, value, self.span(node))

    def container_add(self, container: ModuleObj, values: list[Any], node: ast.AST) -> None:
        if self.maybe:
            container.uncertain = True
        for value in values:
            layers.add_child(container, str(len(container.children)), value, self.span(node))

    # -- tensors ---------------------------------------------------------------------------

    def init_call(self, function: str, args: Args, node: ast.Call) -> Any:
        """``nn.init.<function>(tensor, ...)``."""
        tensor = args.positional[0] if args.positional else args.keywords.get("tensor", UNKNOWN)
        rest = Args(
            args.positional[1:],
            {k: v for k, v in args.keywords.items() if k not in ("tensor", "generator")},
            args.complete,
        )
        if not isinstance(tensor, TensorRef):
            self.taint([tensor], node)
            return tensor
        params, defaults = INIT_SIGNATURES[function]
        bound = rest.bind(params, defaults)
        if bound is None:
            raise GiveUp(f"cannot read the arguments of {function}", node)
        step = InitStep(
            describe(function, bound, lambda name: _argument_source(node, params, name)),
            f"init.{function}",
            USER,
            self.span(node),
            partial=tensor.partial,
        )
        write = init_write(function, bound, tensor.state.shape, step)
        tensor.state.add(write if not self.maybe else Write("unknown", step))
        return tensor

    def tensor_method(self, tensor: TensorRef, name: str, args: Args, node: ast.AST) -> Any:
        """``tensor.<name>(*args)`` at ``node``: a call, or an augmented assignment (``w *= 2``)."""
        shape = tensor.state.shape
        if name in inits.WRITES:
            given = node.args if isinstance(node, ast.Call) else []
            step = InitStep(
                method_call_text(name, args.positional, lambda i: _source(given[i]) if i < len(given) else "?"),
                f"Tensor.{name}",
                USER,
                self.span(node),
                partial=tensor.partial,
            )
            if tensor.partial:
                written = (
                    args.positional[0] if name == "fill_" and args.positional else 0.0 if name == "zero_" else None
                )
                step = replace(step, region=tensor.region, value=float(written) if is_number(written) else None)
            if name == "copy_" and args.positional and isinstance(args.positional[0], TensorRef):
                write = self._copied(args.positional[0], step)
            else:
                write = method_write(name, args.positional, args.keywords, step)
            tensor.state.add(write if not self.maybe else Write("unknown", step))
            return tensor
        if name in ("detach", "requires_grad_"):
            return tensor
        if name == "dim" and shape is not None:
            return len(shape)
        if name == "size" and shape is not None:
            if not args.positional:
                return shape
            index = args.positional[0]
            return shape[index] if isinstance(index, int) and -len(shape) <= index < len(shape) else UNKNOWN
        if name == "numel" and shape is not None:
            return _product(shape)
        if name.endswith("_") or name in (
            "view",
            "view_as",
            "t",
            "transpose",
            "reshape",
            "permute",
            "squeeze",
            "unsqueeze",
            "flatten",
            "chunk",
            "split",
            "unbind",
            "narrow",
            "select",
        ):
            self.taint([tensor], node)  # an in-place op we do not model, or a view that may be written through
            return UNKNOWN
        return UNKNOWN

    def _copied(self, source: TensorRef, step: InitStep) -> Write:
        origin = source.state.origin
        if origin is not None and not source.state.writes:
            return Write("set", step, origin.dist if origin.dist is not UNINITIALIZED else None)
        return Write("set", step)

    def _factory(self, name: str, args: Args, node: ast.Call) -> Any:
        sizes = args.positional[:1] if name == "full" else args.positional
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, ListVal)):
            sizes = tuple(sizes[0].items) if isinstance(sizes[0], ListVal) else sizes[0]
        if "size" in args.keywords:
            sizes = args.keywords["size"]
        shape = tuple(sizes) if isinstance(sizes, tuple) and all(isinstance(s, int) and s >= 0 for s in sizes) else None
        dist = _FACTORIES[name]
        if name == "full":
            value = args.positional[1] if len(args.positional) > 1 else args.keywords.get("fill_value")
            dist = Distribution("constant", 0.0, float(value)) if is_number(value) else None
        step = (
            InitStep(f"torch.{name}(...)", f"torch.{name}", USER, self.span(node))
            if shape and len(shape) >= 2
            else None
        )
        return TensorRef(ParamState(shape, origin=Origin(dist, step, shape)), parameter=False)

    def _parameter(self, args: Args, node: ast.Call) -> Any:
        data = args.positional[0] if args.positional else args.keywords.get("data", UNKNOWN)
        if isinstance(data, TensorRef) and not data.partial:
            return replace(data, parameter=True)
        return TensorRef(
            ParamState(None, [Write("unknown", InitStep(_source(node), "unknown", USER, self.span(node)))])
        )

    def binop(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        fresh = left if _is_fresh(left) else right if _is_fresh(right) else None
        if fresh is None:
            if isinstance(left, TensorRef) or isinstance(right, TensorRef):
                return UNKNOWN
            return super().binop(op, left, right, node)
        value = right if fresh is left else left
        symbol = _ARITHMETIC.get(type(op))
        if not is_number(value) or symbol is None or (fresh is right and symbol in "/-"):
            return UNKNOWN
        origin = fresh.state.origin
        dist = origin.dist
        if dist is not None and dist is not UNINITIALIZED:
            if symbol in "*/" and (value != 0 or symbol == "*"):
                dist = dist.scaled(value if symbol == "*" else 1.0 / value)
            elif symbol in "+-":
                dist = dist.shifted(value if symbol == "+" else -value)
        step = origin.step
        if step is not None:
            step = InitStep(
                f"{step.call} {symbol} {fmt(float(value) if isinstance(value, float) else value)}",
                step.function,
                step.origin,
                step.site,
            )
        return TensorRef(ParamState(origin.shape, origin=Origin(dist, step, origin.shape)), parameter=False)

    def augmented(self, op: ast.operator, old: Any, right: Any, node: ast.AST) -> Any:
        if isinstance(old, TensorRef) and type(op) in _IN_PLACE:
            name = _IN_PLACE[type(op)]
            return self.tensor_method(old, name, Args((right,), {}), node)
        return super().augmented(op, old, right, node)

    # -- attribute and item assignment ----------------------------------------------------------

    def set_attribute(self, obj: Any, name: str, value: Any, node: ast.AST) -> None:
        if isinstance(obj, TensorRef):
            if name == "data" and not (isinstance(value, TensorRef) and value.state is obj.state):
                self._data_set(obj, value, node)
            return
        if isinstance(obj, Instance):
            obj.attrs[name] = value if not self.maybe else self.join([obj.attrs.get(name, UNKNOWN), value], node)
            return
        if not isinstance(obj, ModuleObj):
            if isinstance(obj, (ListVal, DictVal)) or obj is UNKNOWN:
                self.taint([value], node)  # stored somewhere we do not follow
            return
        if isinstance(value, ModuleObj) or name in obj.children and value is UNKNOWN:
            self.register(obj, name, value, node)
        elif isinstance(value, TensorRef) and value.parameter or name in obj.params:
            self.set_param(obj, name, value, node)
        else:
            obj.children.pop(name, None)
            obj.attrs[name] = value if not self.maybe else self.join([obj.attrs.get(name, UNKNOWN), value], node)

    def set_param(self, module: ModuleObj, name: str, value: Any, node: ast.AST) -> None:
        old = module.params.get(name)
        if self.maybe:
            step = InitStep(_source(node), "unknown", USER, self.span(node))
            for state in (old, value.state if isinstance(value, TensorRef) else None):
                if state is not None:
                    state.add(Write("unknown", step))
            return
        module.children.pop(name, None)
        module.attrs.pop(name, None)
        if isinstance(value, TensorRef) and not value.parameter:
            raise GiveUp(f"assigns a plain tensor to parameter {name}", node)  # torch raises a TypeError
        if isinstance(value, TensorRef):
            module.params[name] = value.state
        elif value is None:
            module.params[name] = None
        else:
            step = InitStep(_source(node), "unknown", USER, self.span(node))
            module.params[name] = ParamState(None, [Write("unknown", step)])

    def _data_set(self, tensor: TensorRef, value: Any, node: ast.AST) -> None:
        """``p.data = t``: p takes t's values (``record`` keeps p's history)."""
        step = InitStep("data = ...", "Tensor.data", USER, self.span(node))
        dist = None
        if _is_fresh(value) and value.state.origin.dist is not UNINITIALIZED:
            origin = value.state.origin
            dist = origin.dist
            if origin.step is not None:
                step = InitStep(f"data = {origin.step.call}", origin.step.function, USER, origin.step.site)
        tensor.state.add(Write("set", step, dist) if not self.maybe else Write("unknown", step))

    def set_item(self, container: Any, key: Any, value: Any, node: ast.AST) -> None:
        if isinstance(container, TensorRef):
            region = slice_region(container.state.shape, key) if not container.partial else None
            index = _source(node.slice) if isinstance(node, ast.Subscript) else "..."
            shown = fmt(value) if is_number(value) else "..."
            step = InitStep(
                f"[{index}] = {shown}",
                "Tensor.__setitem__",
                USER,
                self.span(node),
                partial=True,
                region=region,
                value=float(value) if is_number(value) else None,
            )
            container.state.add(Write("partial", step))
        elif isinstance(container, ModuleObj):
            container.uncertain = True  # replaced children: we stop naming its layers
            self.taint([value], node)
        else:
            super().set_item(container, key, value, node)


def _is_fresh(value: Any) -> bool:
    """A tensor just made by a factory, not yet written: arithmetic on it is followed."""
    return isinstance(value, TensorRef) and value.state.origin is not None and not value.state.writes


def _product(shape: tuple[int, ...]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total


def _argument_source(call: ast.Call, params: tuple[str, ...], name: str) -> str:
    """The source text of the argument ``call`` gives for ``name`` (``params`` follow the tensor), "?" if none."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return _source(keyword.value)
    for param, argument in zip(params, call.args[1:]):
        if param == name:
            return _source(argument)
    return "?"


def _source(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # a node ast cannot print back: show nothing rather than fail
        return "..."


# -- nn.Module methods the builder implements ----------------------------------------------------


def _apply(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    fn = args.positional[0] if len(args.positional) == 1 else UNKNOWN
    if not isinstance(fn, (FuncRef, Bound, Instance)):
        return builder.call_unknown(MethodOf(module, "apply"), args, node)
    for target in apply_order(module):
        builder.call(fn, Args((target,), {}), node, frame)
    return module


def _modules(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    return ListVal([m for _, m in named_modules(module)])


def _named_modules(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    return ListVal(list(named_modules(module)))


def _children(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    return ListVal([c for _, c in unique_children(module)])


def _named_children(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    return ListVal(list(unique_children(module)))


def _own_only(args: Args) -> bool:
    recurse = args.positional[0] if args.positional else args.keywords.get("recurse", True)
    return recurse is False


def _parameters(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    found = list(module.own_params()) if _own_only(args) else named_parameters(module)
    return ListVal([TensorRef(state) for _, state in found])


def _named_parameters(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    found = list(module.own_params()) if _own_only(args) else named_parameters(module)
    return ListVal([(name, TensorRef(state)) for name, state in found])


def _add_module(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    bound = args.bind(("name", "module"), {})
    if bound is None or not isinstance(bound["name"], str):
        return builder.call_unknown(MethodOf(module, "add_module"), args, node)
    builder.register(module, bound["name"], bound["module"], node)
    return None


def _register_parameter(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    bound = args.bind(("name", "param"), {})
    if bound is None or not isinstance(bound["name"], str):
        return builder.call_unknown(MethodOf(module, "register_parameter"), args, node)
    builder.set_param(module, bound["name"], bound["param"], node)
    return None


def _append(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    if module.spec is None or module.spec.role != CONTAINER or len(args.positional) != 1:
        return builder.call_unknown(MethodOf(module, "append"), args, node)
    builder.container_add(module, list(args.positional), node)
    return module


def _extend(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    items = builder.iterate(args.positional[0]) if len(args.positional) == 1 else None
    if module.spec is None or module.spec.role != CONTAINER or items is None:
        return builder.call_unknown(MethodOf(module, "extend"), args, node)
    builder.container_add(module, items, node)
    return module


def _dict_view(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    """``module_dict.items()`` / ``keys()`` / ``values()``."""
    view = node.func.attr if isinstance(node.func, ast.Attribute) else ""
    if module.type_name != "ModuleDict" or module.open_tail or view not in ("items", "keys", "values"):
        return builder.call_unknown(MethodOf(module, view), args, node)
    return tuple(getattr(module.children, view)())


def _get_submodule(builder: Builder, module: ModuleObj, args: Args, node: ast.Call, frame: Frame) -> Any:
    target = args.positional[0] if len(args.positional) == 1 else None
    if not isinstance(target, str):
        return builder.unknown_selection(module, node)
    found: Any = module
    for part in target.split(".") if target else ():
        found = found.children.get(part, UNKNOWN) if isinstance(found, ModuleObj) else UNKNOWN
    return found


_MODULE_METHODS = {
    "apply": _apply, "modules": _modules, "named_modules": _named_modules, "children": _children,
    "named_children": _named_children, "parameters": _parameters, "named_parameters": _named_parameters,
    "add_module": _add_module, "register_module": _add_module, "register_parameter": _register_parameter,
    "append": _append, "extend": _extend, "get_submodule": _get_submodule, "items": _dict_view,
    "keys": _dict_view, "values": _dict_view,
}  # fmt: skip
