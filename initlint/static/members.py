"""Attributes, items and isinstance on the interpreter's values, as Python and nn.Module resolve them.

A mixin of ``interp.Interpreter``: ``self.fc``, ``self.body[0]``, ``m.weight``,
``super().__init__``, ``isinstance(m, nn.Linear)``.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..shared.knowledge.modules import CONTAINER
from . import literals
from .layers import spec_of, torch_isinstance
from .names import Qual
from .objects import ModuleObj, TensorRef, slice_region
from .runtime import GiveUp
from .values import MISSING, UNKNOWN, Bound, ClassInfo, DictVal, FuncRef, Instance, ListVal, MethodOf, SuperRef


class Members:
    """Member and item lookup; see ``interp.Interpreter``."""

    if TYPE_CHECKING:  # provided by ``interp.Interpreter``, which this mixes into

        def unknown_selection(self, candidates: Any, node: ast.AST) -> Any: ...

    def attribute(self, value: Any, name: str, node: ast.AST) -> Any:
        if isinstance(value, Qual):
            if name == "__name__":
                return value.last
            qual = value.attr(name)
            return literals.PURE_CONSTANTS.get(qual.name, qual)
        if isinstance(value, ModuleObj):
            return self.module_attribute(value, name)
        if isinstance(value, TensorRef):
            return self.tensor_attribute(value, name)
        if isinstance(value, ClassInfo):
            return self.class_attribute(value, name)
        if isinstance(value, SuperRef):
            return self.super_attribute(value, name)
        if isinstance(value, Instance):
            return self.instance_attribute(value, name)
        if isinstance(value, (ListVal, DictVal, str)):
            return MethodOf(value, name)
        return UNKNOWN

    def module_attribute(self, module: ModuleObj, name: str) -> Any:
        """``module.name`` as Python and nn.Module.__getattr__ resolve it."""
        if name in module.attrs:
            return module.attrs[name]
        if name == "__class__":
            return module.cls
        if isinstance(module.cls, ClassInfo):
            found = self._class_member(module.cls.mro(), name, module)
            if found is not MISSING:
                return found
        if name in module.params:
            state = module.params[name]
            return TensorRef(state) if state is not None else None
        if name in module.children:
            return module.children[name]
        if isinstance(module.cls, ClassInfo) and not self.knows_bases(module.cls):
            return UNKNOWN  # a base class from another file may define it
        return MethodOf(module, name)

    def _class_member(self, mro: Sequence[Any], name: str, receiver: Any) -> Any:
        for cls in mro:
            if not isinstance(cls, ClassInfo):
                continue
            if name in cls.methods:
                func = FuncRef(cls.methods[name], cls.scope, cls)
                return Bound(func, receiver) if receiver is not MISSING else func
            if name in cls.attrs:
                return cls.attrs[name]
        return MISSING

    def instance_attribute(self, obj: Instance, name: str) -> Any:
        """``obj.name``: its own attributes, then its class's (methods bound to it)."""
        if name == "__class__" and obj.cls is not None:
            return obj.cls
        if not obj.known:
            return UNKNOWN
        if name in obj.attrs:
            return obj.attrs[name]
        found = self._class_member(obj.cls.mro(), name, obj) if obj.cls is not None else MISSING
        return UNKNOWN if found is MISSING else found

    def class_attribute(self, cls: ClassInfo, name: str) -> Any:
        if name == "__name__":
            return cls.name
        found = self._class_member(cls.mro(), name, MISSING)
        return UNKNOWN if found is MISSING else found

    def super_attribute(self, ref: SuperRef, name: str) -> Any:
        mro = (
            ref.receiver.cls.mro()
            if isinstance(ref.receiver, ModuleObj) and isinstance(ref.receiver.cls, ClassInfo)
            else ref.owner.mro()
        )
        after = next((i for i, c in enumerate(mro) if c is ref.owner), 0) + 1
        for cls in mro[after:]:
            if isinstance(cls, ClassInfo):
                found = self._class_member([cls], name, ref.receiver)
                if found is not MISSING:
                    return found
            elif isinstance(cls, Qual) and cls.name.startswith("torch.nn."):
                return MethodOf(ref.receiver, f"super:{cls.name}:{name}")
            else:
                return UNKNOWN
        return UNKNOWN

    def tensor_attribute(self, ref: TensorRef, name: str) -> Any:
        if name == "data":
            return replace(ref, parameter=False)  # the same values, but a plain tensor
        if name == "shape" and ref.state.shape is not None:
            return ref.state.shape
        if name == "ndim" and ref.state.shape is not None:
            return len(ref.state.shape)
        return MethodOf(ref, name)

    def knows_bases(self, cls: ClassInfo) -> bool:
        """Every base class of ``cls`` is in the file or is a torch.nn class."""
        return all(
            isinstance(c, ClassInfo) or isinstance(c, Qual) and (c.name == "torch.nn.Module" or spec_of(c.name))
            for c in cls.mro()
        )

    def subscript(self, value: Any, index: Any, node: ast.AST) -> Any:
        if isinstance(value, (tuple, str)) and isinstance(index, (int, slice)):
            try:
                return value[index]
            except IndexError:
                raise GiveUp("index out of range", node) from None
        if isinstance(value, ListVal) and value.known and isinstance(index, (int, slice)):
            try:
                item = value.items[index]
            except IndexError:
                raise GiveUp("index out of range", node) from None
            return ListVal(item) if isinstance(index, slice) else item
        if isinstance(value, DictVal) and value.known and literals.is_constant(index):
            return value.items.get(index, UNKNOWN)
        if isinstance(value, TensorRef):
            region = slice_region(value.state.shape, index) if not value.partial else None
            return replace(value, partial=True, region=region)
        if isinstance(value, ModuleObj) and (isinstance(index, (int, slice, str))):
            return self.module_item(value, index)
        if isinstance(value, (tuple, ListVal, DictVal, ModuleObj)):
            return self.unknown_selection(value, node)
        return UNKNOWN

    def module_item(self, module: ModuleObj, index: Any) -> Any:
        """``seq[i]``, ``seq[a:b]``, ``module_dict[key]``."""
        if module.spec is None or module.spec.role != CONTAINER:
            return UNKNOWN
        if module.type_name == "ModuleDict":
            return module.children.get(index, UNKNOWN) if isinstance(index, str) else UNKNOWN
        children = list(module.children.values())
        if isinstance(index, int):
            if module.open_tail and (index < 0 or index >= len(children)):
                return UNKNOWN
            try:
                return children[index]
            except IndexError:
                raise GiveUp("index out of range") from None
        if isinstance(index, slice) and not module.open_tail:
            part = ModuleObj(module.cls, module.spec, module.site, attrs=dict(module.attrs))
            part.children = {str(i): c for i, c in enumerate(children[index])}
            return part
        return UNKNOWN

    def isinstance_of(self, value: Any, cls: Any) -> Any:
        """isinstance(value, cls): True, False or UNKNOWN."""
        if isinstance(cls, tuple):
            answers = [self.isinstance_of(value, c) for c in cls]
            if True in answers:
                return True
            return False if all(a is False for a in answers) else UNKNOWN
        if isinstance(value, ModuleObj):
            return self._module_isinstance(value, cls)
        if isinstance(value, Instance) and value.cls is not None and isinstance(cls, ClassInfo):
            return True if any(c is cls for c in value.cls.mro()) else UNKNOWN
        if isinstance(cls, Qual) and cls.name in _PYTHON_TYPES:
            if literals.is_constant(value) or isinstance(value, (ListVal, DictVal)):
                kind = list if isinstance(value, ListVal) else dict if isinstance(value, DictVal) else type(value)
                return issubclass(kind, _PYTHON_TYPES[cls.name])
        if isinstance(cls, (Qual, ClassInfo)) and (
            literals.is_constant(value) or isinstance(value, (ListVal, DictVal))
        ):
            return False
        return UNKNOWN

    def _module_isinstance(self, module: ModuleObj, cls: Any) -> Any:
        if isinstance(cls, ClassInfo):
            if isinstance(module.cls, ClassInfo):
                mro = module.cls.mro()
                if any(c is cls for c in mro):
                    return True
                return False if self.knows_bases(module.cls) else UNKNOWN
            return False
        if not isinstance(cls, Qual):
            return UNKNOWN
        target = cls.name
        if isinstance(module.cls, Qual):
            return _torch_answer(torch_isinstance(module.cls.name, module.spec, target))
        answers = []
        for base in module.cls.mro():
            if isinstance(base, ClassInfo):
                continue
            if isinstance(base, Qual) and base.name == "torch.nn.Module":
                answers.append(
                    True
                    if target == "torch.nn.Module"
                    else _torch_answer(False if target.startswith(("torch.", "builtins.")) else None)
                )
            elif isinstance(base, Qual) and (base_spec := spec_of(base.name)) is not None:
                answers.append(_torch_answer(torch_isinstance(base.name, base_spec, target)))
            else:
                answers.append(UNKNOWN)
        if True in answers:
            return True
        return False if all(a is False for a in answers) else UNKNOWN


def _torch_answer(answer: bool | None) -> Any:
    return UNKNOWN if answer is None else answer


_PYTHON_TYPES = {
    "builtins.int": int, "builtins.float": float, "builtins.str": str, "builtins.bool": bool,
    "builtins.list": list, "builtins.tuple": tuple, "builtins.dict": dict,
}  # fmt: skip
