"""The values the static interpreter computes with, besides plain Python constants.

Constants (numbers, strings, None, tuples of constants) are kept as Python
values. Everything the source does not let us know is ``UNKNOWN``; it
propagates, so a decision that depends on it is never taken.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class _Unknown:
    """A value static analysis cannot know (a config object, a tensor's size...)."""

    _instance = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
MISSING: Any = object()  # a name no scope binds


@dataclass(eq=False)
class ListVal:
    """A Python list (mutable, so aliases see appends). ``known`` is False once its items are not."""

    items: list[Any]
    known: bool = True


@dataclass(eq=False)
class DictVal:
    """A Python dict with constant keys (``OrderedDict([...])``, ``**kwargs``); ``known`` as for ``ListVal``."""

    items: dict[Any, Any]
    known: bool = True


@dataclass(eq=False)
class Scope:
    """Names visible to running code: its own, then the enclosing function's, then the module's."""

    names: dict[str, Any]
    parent: Scope | None = None

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return MISSING


@dataclass(eq=False)
class ClassInfo:
    """A class defined in the analysed file."""

    name: str
    node: ast.ClassDef
    bases: list[Any]  # evaluated base expressions: Qual, ClassInfo or UNKNOWN
    scope: Scope  # the module scope its methods run in
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)  # class-level constants (expansion = 4)
    _mro: tuple[ClassInfo | Any, ...] | None = field(default=None, init=False, repr=False)

    def mro(self) -> tuple[ClassInfo | Any, ...]:
        """The class and its bases in lookup order (left-to-right depth-first, first seen wins)."""
        if self._mro is None:  # bases never change once the class statement ran: computed once
            order: list[ClassInfo | Any] = []
            stack: list[ClassInfo | Any] = [self]
            while stack:
                item = stack.pop(0)
                if any(item is seen for seen in order):
                    continue
                order.append(item)
                if isinstance(item, ClassInfo):
                    stack[0:0] = item.bases
            self._mro = tuple(order)
        return self._mro


@dataclass(eq=False)
class Instance:
    """An object of one of the file's plain classes (a config dataclass, a NamedTuple, a class of
    attributes; ``instances`` makes them), or an ``argparse.Namespace`` (``cls`` None)."""

    cls: ClassInfo | None
    attrs: dict[str, Any] = field(default_factory=dict)
    known: bool = True  # False once code we do not follow was handed it: its attributes may have changed


@dataclass(eq=False)
class FuncRef:
    """A function or lambda from the file, with the scope it closes over."""

    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    scope: Scope
    owner: ClassInfo | None = None  # the class a method is defined in (for super())


@dataclass(frozen=True)
class Bound:
    """A method bound to its receiver: ``self._init_weights``."""

    func: FuncRef
    receiver: Any


@dataclass(frozen=True)
class MethodOf:
    """A method the interpreter implements itself: ``layers.append``, ``self.apply``, ``w.normal_``."""

    receiver: Any
    name: str


@dataclass(frozen=True)
class SuperRef:
    """``super()`` inside a method of ``owner``, called on ``receiver``."""

    owner: ClassInfo
    receiver: Any


@dataclass(frozen=True)
class Args:
    """Evaluated call arguments. ``complete`` is False when a ``*x``/``**x`` could not be expanded."""

    positional: tuple[Any, ...]
    keywords: dict[str, Any]
    complete: bool = True

    def all_values(self) -> list[Any]:
        return [*self.positional, *self.keywords.values()]

    def bind(self, params: tuple[str, ...], defaults: Mapping[str, Any]) -> dict[str, Any] | None:
        """Arguments by parameter name, defaults filled in; None if they do not fit the signature."""
        if not self.complete or len(self.positional) > len(params):
            return None
        bound = dict(zip(params, self.positional))
        for name, value in self.keywords.items():
            if name not in params or name in bound:
                return None
            bound[name] = value
        for name in params:
            if name not in bound:
                if name not in defaults:
                    return None
                bound[name] = defaults[name]
        return {name: bound[name] for name in params}
