"""A file's top level as the interpreter sees it: imports, functions, classes, constants.

Module-level code runs before any model is built, so functions see the final
binding of each name. A name bound inside a top-level ``if``/``try``/loop, or
declared ``global`` somewhere, is unknown; so is a list the top level mutates.
"""

from __future__ import annotations

import ast
from typing import Any

from .interp import Interpreter
from .names import import_bindings
from .runtime import Frame, GiveUp
from .values import MISSING, UNKNOWN, Args, ClassInfo, FuncRef, Scope

# Decorators that leave a function callable as written.
_TRANSPARENT_DECORATORS = frozenset({"torch.no_grad", "torch.inference_mode", "torch.jit.unused", "torch.jit.ignore"})


def read_module(tree: ast.Module, text: str) -> tuple[Scope, list[ClassInfo]]:
    """The module scope, and the top-level classes in source order."""
    scope = Scope({})
    evaluator = _TopLevel()
    frame = Frame(scope)
    classes: list[ClassInfo] = []
    _read_body(tree.body, scope, evaluator, frame, classes)
    if "global" in text or "nonlocal" in text:  # walking the whole tree is the costly part
        for name in globals_declared(tree):
            scope.names[name] = UNKNOWN
    return scope, classes


def _read_body(
    body: list[ast.stmt], scope: Scope, evaluator: Interpreter, frame: Frame, classes: list[ClassInfo]
) -> None:
    for stmt in body:
        if isinstance(stmt, ast.If):
            test = evaluator.truth(_evaluate(stmt.test, evaluator, frame))
            if test is not None:  # if TYPE_CHECKING / if False: the branch that runs
                _read_body(stmt.body if test else stmt.orelse, scope, evaluator, frame, classes)
            else:
                _compound(stmt, scope)
        elif read_definition(stmt, scope, evaluator, frame):
            if isinstance(stmt, ast.ClassDef):
                classes.append(scope.names[stmt.name])
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            _assign(stmt, scope, evaluator, frame)
        else:
            _compound(stmt, scope)


def read_definition(stmt: ast.stmt, scope: Scope, evaluator: Interpreter, frame: Frame) -> bool:
    """Bind what an import, ``def`` or ``class`` statement at the top level binds; False for other statements."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        scope.names.update(import_bindings(stmt))
    elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        plain = all(_transparent(d, evaluator, frame) for d in stmt.decorator_list)
        scope.names[stmt.name] = FuncRef(stmt, scope) if plain else UNKNOWN
    elif isinstance(stmt, ast.ClassDef):
        scope.names[stmt.name] = _class_info(stmt, scope, evaluator, frame)
    else:
        return False
    return True


class _TopLevel(Interpreter):
    """Evaluates top-level constants; it calls nothing of the file's (that code runs later)."""

    def call_function(self, func: FuncRef, args: Args, node: ast.AST, receiver: Any = MISSING) -> Any:
        return UNKNOWN

    def instantiate(self, cls: ClassInfo, args: Args, node: ast.Call, frame: Frame) -> Any:
        return UNKNOWN


def _evaluate(expr: ast.expr, evaluator: Interpreter, frame: Frame) -> Any:
    try:
        return evaluator.eval(expr, frame)
    except (GiveUp, RecursionError):
        return UNKNOWN


def _transparent(decorator: ast.expr, evaluator: Interpreter, frame: Frame) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    value = _evaluate(target, evaluator, frame)
    return getattr(value, "name", None) in _TRANSPARENT_DECORATORS


def _assign(stmt: ast.Assign | ast.AnnAssign, scope: Scope, evaluator: Interpreter, frame: Frame) -> None:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    value = _evaluate(stmt.value, evaluator, frame) if stmt.value is not None else UNKNOWN
    for target in targets:
        if isinstance(target, ast.Name):
            scope.names[target.id] = value
        elif (
            isinstance(target, ast.Tuple)
            and isinstance(value, tuple)
            and len(value) == len(target.elts)
            and len(names := [t.id for t in target.elts if isinstance(t, ast.Name)]) == len(target.elts)
        ):
            scope.names.update(zip(names, value))  # NZ, NGF = 100, 64
        else:
            for name in bound_names(target):
                scope.names[name] = UNKNOWN


def _compound(stmt: ast.stmt, scope: Scope) -> None:
    """A top-level statement that may or may not run (``if``, ``try``, a loop): what it binds is unknown."""
    for name in bound_names(stmt):
        scope.names[name] = UNKNOWN


def bound_names(node: ast.AST) -> set[str]:
    """Names a statement may bind or mutate at the top level."""
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            found.add(sub.id)
        elif isinstance(sub, (ast.Attribute, ast.Subscript)) and isinstance(sub.ctx, ast.Store):
            base = sub.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Name):
                found.add(base.id)
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and isinstance(sub.func.value, ast.Name):
            found.add(sub.func.value.id)  # CONFIG.update(...), LAYERS.append(...): may mutate
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            found.update(import_bindings(sub))
    return found


def globals_declared(tree: ast.Module) -> set[str]:
    """Names some function declares ``global`` (or ``nonlocal``): a call may rebind them."""
    return {name for node in ast.walk(tree) if isinstance(node, (ast.Global, ast.Nonlocal)) for name in node.names}


def _class_info(stmt: ast.ClassDef, scope: Scope, evaluator: Interpreter, frame: Frame) -> ClassInfo:
    bases = [_evaluate(b, evaluator, frame) for b in stmt.bases]
    cls = ClassInfo(stmt.name, stmt, bases, scope)
    body = Frame(Scope(cls.attrs, scope))  # the class body sees the names it bound before
    for item in stmt.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if all(_transparent(d, evaluator, frame) for d in item.decorator_list):
                cls.methods[item.name] = item
            else:
                cls.attrs[item.name] = UNKNOWN  # a property, staticmethod...: not followed
        elif isinstance(item, ast.AnnAssign) and item.value is None:
            continue  # `width: int` binds nothing (a dataclass field without default, a declared submodule)
        elif isinstance(item, (ast.Assign, ast.AnnAssign)):
            value = _evaluate(item.value, evaluator, body) if item.value is not None else UNKNOWN
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            for target in targets:
                for name in bound_names(target) if not isinstance(target, ast.Name) else (target.id,):
                    cls.attrs[name] = value if isinstance(target, ast.Name) else UNKNOWN
        else:
            for name in bound_names(item):
                cls.attrs[name] = UNKNOWN
    return cls
