"""The model under construction: module objects, their parameters and new tensors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..shared.facts import Activation, Span
from .inits import Origin, ParamState
from .names import Qual
from .values import Bound, ClassInfo, DictVal, FuncRef, Instance, ListVal, MethodOf


@dataclass(eq=False)
class ModuleObj:
    """An ``nn.Module`` instance: a torch.nn class from the catalogue, or a class of the file."""

    cls: Qual | ClassInfo
    spec: Any = None  # layers.Spec of a torch.nn class; None for the file's classes
    site: Span | None = None  # the constructor call
    children: dict[str, ModuleObj | None] = field(default_factory=dict)
    params: dict[str, ParamState | None] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    assigned: Span | None = None  # where it was first attached to a parent
    activation: Activation | None = None  # what an activation module computes
    kind: str | None = None  # weight layer kind: dense | conv | conv_transpose
    extra: tuple[tuple[str, object], ...] = ()  # conv groups and stride
    uncertain: bool = False  # may or may not exist (built in an undecidable branch)
    open_tail: bool = False  # a container whose later children are unknown

    @property
    def type_name(self) -> str:
        return self.cls.last if isinstance(self.cls, Qual) else self.cls.name

    def own_params(self) -> Iterator[tuple[str, ParamState]]:
        for name, state in self.params.items():
            if state is not None:
                yield name, state

    def named_children(self) -> Iterator[tuple[str, ModuleObj]]:
        for name, child in self.children.items():
            if isinstance(child, ModuleObj):
                yield name, child


def named_modules(root: ModuleObj, prefix: str = "") -> list[tuple[str, ModuleObj]]:
    """``root.named_modules()``: depth-first, registration order, each module once."""
    found: list[tuple[str, ModuleObj]] = []
    seen: set[int] = set()
    stack = [(prefix, root)]
    while stack:
        name, module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        found.append((name, module))
        children = [(f"{name}.{n}" if name else n, c) for n, c in module.named_children()]
        stack.extend(reversed(children))
    return found


def unique_children(module: ModuleObj) -> list[tuple[str, ModuleObj]]:
    """``module.named_children()``: each child once, under its first name."""
    seen: set[int] = set()
    found = []
    for name, child in module.named_children():
        if id(child) not in seen:
            seen.add(id(child))
            found.append((name, child))
    return found


def apply_order(root: ModuleObj) -> list[ModuleObj]:
    """The modules ``root.apply(fn)`` visits: children first, then the module itself."""
    order: list[ModuleObj] = []

    def visit(module: ModuleObj) -> None:
        for _, child in unique_children(module):
            visit(child)
        order.append(module)

    visit(root)
    return order


def named_parameters(root: ModuleObj) -> list[tuple[str, ParamState]]:
    """``root.named_parameters()``: each parameter once, under its first name."""
    found: list[tuple[str, ParamState]] = []
    seen: set[int] = set()
    for prefix, module in named_modules(root):
        for name, state in module.own_params():
            if id(state) not in seen:
                seen.add(id(state))
                found.append((f"{prefix}.{name}" if prefix else name, state))
    return found


@dataclass(frozen=True)
class TensorRef:
    """A tensor the source follows: a parameter (or ``p.data``, a slice of it), or a new tensor."""

    state: ParamState
    partial: bool = False
    region: tuple[int, int] | None = None  # elements [start, end) of a slice, when known
    parameter: bool = True  # False for a plain tensor (torch.randn(...)): assigning it registers no parameter


def slice_region(shape: tuple[int, ...] | None, index: Any) -> tuple[int, int] | None:
    """The elements ``tensor[index]`` covers, for a leading-dimension int or slice (contiguous rows)."""
    if not shape:
        return None
    row = 1
    for size in shape[1:]:
        row *= size
    if isinstance(index, int) and not isinstance(index, bool) and -shape[0] <= index < shape[0]:
        start = index % shape[0]
        return start * row, (start + 1) * row
    if isinstance(index, slice) and index.step in (None, 1):
        start, stop, _ = index.indices(shape[0])
        return start * row, max(start, stop) * row
    return None


@dataclass(frozen=True)
class NewTensor:
    """A tensor made in the source (``torch.randn(o, i) / math.sqrt(i)``), before it becomes a parameter."""

    origin: Origin


def is_object(value: Any) -> bool:
    """A value that is an object, never None: ``x is None`` is False for it."""
    if isinstance(value, Qual):
        return value.is_library_object
    return isinstance(value, (ModuleObj, TensorRef, ListVal, DictVal, FuncRef, Bound, ClassInfo, MethodOf, Instance))
