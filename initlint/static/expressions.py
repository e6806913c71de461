"""Evaluating expressions over abstract values: names, operators, displays, comprehensions, calls' arguments.

A mixin of ``interp.Interpreter``: operators fold constants (``literals``),
``truth`` says whether a condition is decided, ``iterate`` what a loop sees.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from ..shared.knowledge.modules import CONTAINER
from . import literals
from .instances import instance_truth
from .layers import spec_of
from .names import Qual, builtin
from .objects import ModuleObj, is_object
from .runtime import Frame
from .values import (
    MISSING,
    UNKNOWN,
    Args,
    Bound,
    ClassInfo,
    DictVal,
    FuncRef,
    Instance,
    ListVal,
    MethodOf,
    Scope,
    SuperRef,
)

MAX_ITEMS = 10_000  # longest loop unrolled or list built
_SUPER = Qual("builtins.super")


class Expressions:
    """Expression evaluation; the interpreter's statements and calls live in ``interp``."""

    if TYPE_CHECKING:  # provided by the classes this mixes into: ``interp.Interpreter`` and ``members.Members``
        maybe: int

        _handlers: dict[type, Any]

        def _handler(self, node: ast.AST, prefix: str) -> Any: ...
        def attribute(self, value: Any, name: str, node: ast.AST) -> Any: ...
        def subscript(self, value: Any, index: Any, node: ast.AST) -> Any: ...
        def join(self, values: list[Any], node: ast.AST) -> Any: ...
        def assign(self, target: ast.expr, value: Any, frame: Frame) -> None: ...
        def call(self, func: Any, args: Args, node: ast.Call, frame: Frame) -> Any: ...
        def unknown_result(self, inputs: list[Any], node: ast.AST) -> Any: ...

    def eval(self, node: ast.expr, frame: Frame) -> Any:
        handler = self._handlers.get(type(node))  # the hottest call: its handler is looked up here first
        if handler is None:
            handler = self._handler(node, "eval_")
        return handler(node, frame) if handler else UNKNOWN

    def eval_Constant(self, node: ast.Constant, frame: Frame) -> Any:
        return node.value

    def eval_Name(self, node: ast.Name, frame: Frame) -> Any:
        value = frame.scope.lookup(node.id)
        if value is MISSING:
            return builtin(node.id) or UNKNOWN
        return value

    def eval_Attribute(self, node: ast.Attribute, frame: Frame) -> Any:
        return self.attribute(self.eval(node.value, frame), node.attr, node)

    def eval_Subscript(self, node: ast.Subscript, frame: Frame) -> Any:
        return self.subscript(self.eval(node.value, frame), self.eval(node.slice, frame), node)

    def eval_Slice(self, node: ast.Slice, frame: Frame) -> Any:
        parts = [self.eval(p, frame) if p is not None else None for p in (node.lower, node.upper, node.step)]
        if all(p is None or isinstance(p, int) for p in parts):
            return slice(*parts)
        return UNKNOWN

    def elements(self, nodes: list[ast.expr], frame: Frame) -> tuple[list[Any], bool]:
        """Values of a display's elements, expanding ``*x``; False when an expansion is unknown."""
        found: list[Any] = []
        complete = True
        for node in nodes:
            if isinstance(node, ast.Starred):
                items = self.iterate(self.eval(node.value, frame))
                if items is None:
                    complete = False
                else:
                    found.extend(items)
            else:
                found.append(self.eval(node, frame))
        return found, complete

    def eval_Tuple(self, node: ast.Tuple, frame: Frame) -> Any:
        items, complete = self.elements(node.elts, frame)
        return tuple(items) if complete else UNKNOWN

    def eval_List(self, node: ast.List, frame: Frame) -> Any:
        items, complete = self.elements(node.elts, frame)
        return ListVal(items, complete)

    def eval_Dict(self, node: ast.Dict, frame: Frame) -> Any:
        result = DictVal({})
        for key, value in zip(node.keys, node.values):
            if key is None:
                other = self.eval(value, frame)
                if isinstance(other, DictVal) and other.known:
                    result.items.update(other.items)
                else:
                    result.known = False
                continue
            k = self.eval(key, frame)
            if literals.is_constant(k):
                result.items[k] = self.eval(value, frame)
            else:
                result.known = False
        return result

    def eval_BinOp(self, node: ast.BinOp, frame: Frame) -> Any:
        return self.binop(node.op, self.eval(node.left, frame), self.eval(node.right, frame), node)

    def eval_UnaryOp(self, node: ast.UnaryOp, frame: Frame) -> Any:
        value = self.eval(node.operand, frame)
        if isinstance(node.op, ast.Not):
            test = self.truth(value)
            return UNKNOWN if test is None else not test
        return self.unaryop(node.op, value, node)

    def eval_BoolOp(self, node: ast.BoolOp, frame: Frame) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for i, operand in enumerate(node.values):
            value = self.eval(operand, frame)
            test = self.truth(value)
            if test is None:
                self.maybe += 1  # the remaining operands may or may not be evaluated
                try:
                    for rest in node.values[i + 1 :]:
                        self.eval(rest, frame)
                finally:
                    self.maybe -= 1
                return self.unknown_result([value], node)
            if test != is_and:
                return value
        return value

    def eval_Compare(self, node: ast.Compare, frame: Frame) -> Any:
        left = self.eval(node.left, frame)
        result: Any = True
        for op, comparator in zip(node.ops, node.comparators):
            right = self.eval(comparator, frame)
            outcome = self.compare(op, left, right, node)
            if outcome is False:
                return False
            if outcome is not True:
                result = outcome
            left = right
        return result

    def eval_IfExp(self, node: ast.IfExp, frame: Frame) -> Any:
        test = self.truth(self.eval(node.test, frame))
        if test is not None:
            return self.eval(node.body if test else node.orelse, frame)
        self.maybe += 1
        try:
            values = [self.eval(node.body, frame), self.eval(node.orelse, frame)]
        finally:
            self.maybe -= 1
        return self.join(values, node)

    def eval_Call(self, node: ast.Call, frame: Frame) -> Any:
        func = self.eval(node.func, frame)
        args = self.arguments(node, frame)
        if func == _SUPER:
            if not args.positional and frame.owner is not None:
                return SuperRef(frame.owner, frame.receiver)
            if len(args.positional) == 2 and isinstance(args.positional[0], ClassInfo):
                return SuperRef(*args.positional)
            return UNKNOWN
        return self.call(func, args, node, frame)

    def eval_Lambda(self, node: ast.Lambda, frame: Frame) -> Any:
        return FuncRef(node, frame.scope)

    def eval_NamedExpr(self, node: ast.NamedExpr, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        self.assign(node.target, value, frame)
        return value

    def eval_JoinedStr(self, node: ast.JoinedStr, frame: Frame) -> Any:
        parts = []
        for part in node.values:
            value = self.eval(part, frame)
            if not isinstance(value, str):
                return UNKNOWN
            parts.append(value)
        return "".join(parts)

    def eval_FormattedValue(self, node: ast.FormattedValue, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        spec = self.eval(node.format_spec, frame) if node.format_spec is not None else ""
        if node.conversion != -1 or not literals.is_constant(value) or not isinstance(spec, str):
            return UNKNOWN
        try:
            return format(value, spec)
        except (TypeError, ValueError):
            return UNKNOWN

    def _comprehension(
        self, node: ast.ListComp | ast.GeneratorExp | ast.SetComp | ast.DictComp, frame: Frame
    ) -> list[Any] | None:
        """The comprehension's elements (pairs for dicts), or None when its loops are unknown."""
        inner = Frame(Scope({}, frame.scope), frame.owner, frame.receiver, frame.entry_maybe)
        found: list[Any] = []

        def run(generators: list[ast.comprehension]) -> bool:
            if not generators:
                if isinstance(node, ast.DictComp):
                    found.append((self.eval(node.key, inner), self.eval(node.value, inner)))
                else:
                    found.append(self.eval(node.elt, inner))
                return True
            first = generators[0]
            items = self.iterate(self.eval(first.iter, inner))
            if items is None or len(items) > MAX_ITEMS:
                return False
            for item in items:
                self.assign(first.target, item, inner)
                tests = [self.truth(self.eval(t, inner)) for t in first.ifs]
                if any(t is None for t in tests):
                    return False
                if all(tests) and not run(generators[1:]):
                    return False
            return True

        return found if run(node.generators) else None

    def eval_ListComp(self, node: ast.ListComp, frame: Frame) -> Any:
        items = self._comprehension(node, frame)
        return ListVal(items) if items is not None else ListVal([], known=False)

    eval_GeneratorExp = eval_ListComp

    eval_SetComp = eval_ListComp

    def eval_DictComp(self, node: ast.DictComp, frame: Frame) -> Any:
        pairs = self._comprehension(node, frame)
        if pairs is None or not all(literals.is_constant(k) for k, _ in pairs):
            return DictVal({}, known=False)
        return DictVal(dict(pairs))

    def arguments(self, node: ast.Call, frame: Frame) -> Args:
        positional, complete = self.elements(node.args, frame)
        keywords: dict[str, Any] = {}
        for keyword in node.keywords:
            value = self.eval(keyword.value, frame)
            if keyword.arg is not None:
                keywords[keyword.arg] = value
            elif isinstance(value, DictVal) and value.known and all(isinstance(k, str) for k in value.items):
                keywords.update(value.items)
            else:
                complete = False
        return Args(tuple(positional), keywords, complete)

    def truth(self, value: Any) -> bool | None:
        """Python truthiness, or None when it cannot be known."""
        if isinstance(value, ModuleObj):
            if value.spec is not None and value.spec.role == CONTAINER:
                return None if value.open_tail else bool(value.children)
            return True
        if isinstance(value, DictVal):
            return bool(value.items) if value.known else None
        if isinstance(value, (FuncRef, Bound, ClassInfo)):
            return True
        if isinstance(value, Instance):
            return instance_truth(value)
        if isinstance(value, MethodOf):
            return None  # code does not test a method's truth: this is likely an attribute we do not know
        if isinstance(value, Qual):
            return True if value.is_library_object else False if value.name == "typing.TYPE_CHECKING" else None
        return literals.truth(value)

    def binop(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        if isinstance(op, ast.Add) and isinstance(left, ListVal) and isinstance(right, ListVal):
            return ListVal(left.items + right.items, left.known and right.known)
        if (
            isinstance(op, ast.Mult)
            and isinstance(left, ListVal)
            and isinstance(right, int)
            and right * len(left.items) <= MAX_ITEMS
        ):
            return ListVal(left.items * right, left.known)
        return literals.binary(op, left, right)

    def augmented(self, op: ast.operator, old: Any, right: Any, node: ast.AST) -> Any:
        """``old op= right``: lists extend in place."""
        if isinstance(op, ast.Add) and isinstance(old, ListVal):
            self.list_extend(old, right)
            return old
        return self.binop(op, old, right, node)

    def unaryop(self, op: ast.unaryop, value: Any, node: ast.AST) -> Any:
        return literals.unary(op, value)

    def compare(self, op: ast.cmpop, left: Any, right: Any, node: ast.AST) -> Any:
        if isinstance(op, (ast.Is, ast.IsNot)):
            same = self._identical(left, right)
            return same if same is UNKNOWN else same == isinstance(op, ast.Is)
        if (
            isinstance(op, (ast.Eq, ast.NotEq))
            and isinstance(left, (Qual, ClassInfo))
            and isinstance(right, (Qual, ClassInfo))
        ):
            same = self._same_class(left, right)
            return same if same is UNKNOWN else same == isinstance(op, ast.Eq)
        return literals.compare(op, left, right)

    @staticmethod
    def _identical(left: Any, right: Any) -> Any:
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
            if is_object(left) or is_object(right) or literals.is_constant(left) and literals.is_constant(right):
                return left is right
            return UNKNOWN
        if is_object(left) and is_object(right):
            return left is right
        return UNKNOWN

    @staticmethod
    def _same_class(left: Any, right: Any) -> Any:
        if isinstance(left, Qual) and isinstance(right, Qual):
            if left.name == right.name:
                return True
            return False if spec_of(left.name) and spec_of(right.name) else UNKNOWN
        return left is right if isinstance(left, ClassInfo) and isinstance(right, ClassInfo) else False

    def iterate(self, value: Any) -> list[Any] | None:
        """The items a for loop over ``value`` sees, or None when they are not known."""
        if isinstance(value, (tuple, str)):
            return list(value)
        if isinstance(value, ListVal):
            return list(value.items) if value.known else None
        if isinstance(value, DictVal):
            return list(value.items) if value.known else None
        if (
            isinstance(value, ModuleObj)
            and value.spec is not None
            and value.spec.role == CONTAINER
            and not value.open_tail
        ):
            if value.type_name == "ModuleDict":
                return list(value.children)
            return [c for c in value.children.values() if c is not None]
        return None

    def list_extend(self, target: ListVal, items: Any) -> None:
        values = self.iterate(items)
        if values is None or self.maybe:
            target.known = False
        else:
            target.items.extend(values)
