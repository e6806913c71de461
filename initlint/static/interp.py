"""The interpreter both static passes share: functions, statements, control flow and calls.

Runs function bodies over abstract values: Python constants, ``UNKNOWN``, and
the objects of ``values`` and ``objects`` (expressions are evaluated by the
``Expressions`` mixin, members by ``Members``). Control flow that can be decided
(literal conditions, loops over known lists) runs as Python would run it. A
branch that cannot be decided runs in *maybe* mode (``self.maybe > 0``), where
subclasses record their effects as uncertain; the names it bound are joined
afterwards (``join``). So does one pass of a loop that cannot be counted, unless
a subclass runs it its own way (``uncounted_for``, ``uncounted_while``). Whatever cannot be followed raises ``GiveUp``.
"""

from __future__ import annotations

import ast
from typing import Any

from . import literals
from .builtin_calls import BUILTIN_CALLS
from .expressions import MAX_ITEMS, Expressions
from .members import Members
from .names import Qual, import_bindings
from .runtime import BreakLoop, ContinueLoop, Frame, GiveUp, Raises, Returned
from .values import MISSING, UNKNOWN, Args, Bound, ClassInfo, DictVal, FuncRef, Instance, ListVal, MethodOf, Scope

MAX_STEPS = 200_000  # statements per model: beyond, the code is not worth following
MAX_DEPTH = 32  # nested calls of the file's functions


class Interpreter(Expressions, Members):
    """Runs code over abstract values; subclasses give calls and objects their meaning."""

    def __init__(self) -> None:
        self.maybe = 0
        self.steps = 0
        self.depth = 0
        self._handlers: dict[type, Any] = {}  # node type -> bound exec_/eval_ method (dispatch is hot)

    def _handler(self, node: ast.AST, prefix: str) -> Any:
        kind = type(node)
        handler = self._handlers.get(kind)
        if handler is None:
            handler = self._handlers[kind] = getattr(self, f"{prefix}{kind.__name__}", False)
        return handler

    # -- running functions -----------------------------------------------------------

    def call_function(self, func: FuncRef, args: Args, node: ast.AST, receiver: Any = MISSING) -> Any:
        """Run one of the file's functions with these arguments; its return value."""
        if self.depth >= MAX_DEPTH:
            raise GiveUp("calls nest too deep", node)
        if receiver is not MISSING:
            args = Args((receiver, *args.positional), args.keywords, args.complete)
        scope = Scope(self._bind_parameters(func, args, node), func.scope)
        frame = Frame(scope, func.owner, receiver if receiver is not MISSING else None, self.maybe)
        if isinstance(func.node, ast.Lambda):
            return self.eval(func.node.body, frame)
        self.depth += 1
        result = None
        try:
            self.run_body(func.node.body, frame)
        except Returned as done:
            result = done.value
        finally:
            self.depth -= 1
            if frame.degraded:
                self.maybe -= 1
        if frame.returns:
            result = self.returned(frame.returns, result, node)
        return result

    def returned(self, maybe_values: list[Any], result: Any, node: ast.AST) -> Any:
        """The value of a call whose function may have returned early (``maybe_values``)."""
        return self.join([*maybe_values, result], node)

    def _bind_parameters(self, func: FuncRef, args: Args, node: ast.AST) -> dict[str, Any]:
        spec = func.node.args
        positional_params = [a.arg for a in (*spec.posonlyargs, *spec.args)]
        defaults = [self.eval(d, Frame(func.scope)) for d in spec.defaults]
        values: dict[str, Any] = dict(zip(positional_params[len(positional_params) - len(defaults) :], defaults))
        for kwonly, default in zip(spec.kwonlyargs, spec.kw_defaults):
            if default is not None:
                values[kwonly.arg] = self.eval(default, Frame(func.scope))
        values.update(zip(positional_params, args.positional))
        extra = args.positional[len(positional_params) :]
        if spec.vararg is not None:
            values[spec.vararg.arg] = tuple(extra) if args.complete else UNKNOWN
        elif extra:
            raise GiveUp("too many arguments", node)
        rest = {}
        for name, value in args.keywords.items():
            if name in positional_params or any(p.arg == name for p in spec.kwonlyargs):
                values[name] = value
            else:
                rest[name] = value
        if spec.kwarg is not None:
            values[spec.kwarg.arg] = DictVal(rest, known=args.complete)
        elif rest:
            raise GiveUp("unexpected keyword arguments", node)
        for param in (*positional_params, *(p.arg for p in spec.kwonlyargs)):
            if param not in values:
                if args.complete:
                    raise GiveUp(f"missing argument {param}", node)
                values[param] = UNKNOWN
        return values

    # -- statements -------------------------------------------------------------------

    def run_body(self, body: list[ast.stmt], frame: Frame) -> None:
        for stmt in body:
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise GiveUp("too much code to follow", stmt)
            handler = self._handlers.get(type(stmt))
            if handler is None:
                handler = self._handler(stmt, "exec_")
            if not handler:
                raise GiveUp(f"cannot follow a {type(stmt).__name__} statement", stmt)
            handler(stmt, frame)

    def degrade(self, frame: Frame) -> None:
        """The rest of the running function may not run: follow it in maybe mode."""
        if not frame.degraded:
            frame.degraded = True
            self.maybe += 1

    def exec_Expr(self, stmt: ast.Expr, frame: Frame) -> None:
        self.eval(stmt.value, frame)

    def exec_Assign(self, stmt: ast.Assign, frame: Frame) -> None:
        value = self.eval(stmt.value, frame)
        for target in stmt.targets:
            self.assign(target, value, frame)

    def exec_AnnAssign(self, stmt: ast.AnnAssign, frame: Frame) -> None:
        if stmt.value is not None:
            self.assign(stmt.target, self.eval(stmt.value, frame), frame)

    def exec_AugAssign(self, stmt: ast.AugAssign, frame: Frame) -> None:
        old = self.eval(stmt.target, frame)
        new = self.augmented(stmt.op, old, self.eval(stmt.value, frame), stmt)
        self.assign(stmt.target, new, frame)

    def exec_For(self, stmt: ast.For, frame: Frame) -> None:
        iterable = self.eval(stmt.iter, frame)
        items = self.iterate(iterable)
        if items is None or len(items) > MAX_ITEMS:
            self.uncounted_for(stmt, iterable, frame)
        else:
            self.run_for(stmt, items, frame)

    exec_AsyncFor = exec_For

    def uncounted_for(self, stmt: ast.For | ast.AsyncFor, iterable: Any, frame: Frame) -> None:
        """A loop over items we cannot list: its body may run or not; one pass of it runs in maybe mode."""
        self.assign(stmt.target, self.unknown_item(iterable, stmt), frame)
        self.undecided([stmt.body + stmt.orelse, []], frame, stmt, loop=True)

    def run_for(self, stmt: ast.For | ast.AsyncFor, items: list[Any], frame: Frame) -> None:
        """The loop over these items, as Python runs it."""
        frame.loops.append(self.maybe)
        try:
            for item in items:
                self.assign(stmt.target, item, frame)
                if not self.run_pass(stmt.body, frame):
                    return
        finally:
            frame.loops.pop()
        self.run_body(stmt.orelse, frame)

    def exec_While(self, stmt: ast.While, frame: Frame) -> None:
        frame.loops.append(self.maybe)
        try:
            for _ in range(MAX_ITEMS):
                test = self.truth(self.eval(stmt.test, frame))
                if test is None:
                    self.uncounted_while(stmt, frame)
                    return
                if not test:
                    break
                if not self.run_pass(stmt.body, frame):
                    return
            else:
                raise GiveUp("loop does not end", stmt)
        finally:
            frame.loops.pop()
        self.run_body(stmt.orelse, frame)

    def run_pass(self, body: list[ast.stmt], frame: Frame) -> bool:
        """One pass of a loop's body; False when it breaks out of the loop."""
        try:
            self.run_body(body, frame)
        except BreakLoop:
            return False
        except ContinueLoop:
            pass
        return True

    def uncounted_while(self, stmt: ast.While, frame: Frame) -> None:
        """The rest of a while loop whose test cannot be decided: one pass in maybe mode, as for a ``for``."""
        self.undecided([stmt.body + stmt.orelse, []], frame, stmt, loop=True)

    def exec_If(self, stmt: ast.If, frame: Frame) -> None:
        test = self.truth(self.eval(stmt.test, frame))
        if test is None:
            self.undecided([stmt.body, stmt.orelse], frame, stmt)
        else:
            self.run_body(stmt.body if test else stmt.orelse, frame)

    def exec_With(self, stmt: ast.With, frame: Frame) -> None:
        for item in stmt.items:
            self.eval(item.context_expr, frame)
            if item.optional_vars is not None:
                self.assign(item.optional_vars, UNKNOWN, frame)
        self.run_body(stmt.body, frame)

    exec_AsyncWith = exec_With

    def exec_Try(self, stmt: ast.Try, frame: Frame) -> None:
        # Handlers are assumed not to run: construction that raises fails in full mode too.
        self.run_body(stmt.body, frame)
        self.run_body(stmt.orelse, frame)
        self.run_body(stmt.finalbody, frame)

    exec_TryStar = exec_Try

    def exec_Return(self, stmt: ast.Return, frame: Frame) -> None:
        value = self.eval(stmt.value, frame) if stmt.value is not None else None
        if self.maybe > frame.entry_maybe:
            frame.returns.append(value)
            self.degrade(frame)
        else:
            raise Returned(value)

    def exec_Break(self, stmt: ast.Break, frame: Frame) -> None:
        if frame.loops and self.maybe > frame.loops[-1]:
            self.degrade(frame)
        else:
            raise BreakLoop()

    def exec_Continue(self, stmt: ast.Continue, frame: Frame) -> None:
        if frame.loops and self.maybe > frame.loops[-1]:
            self.degrade(frame)
        else:
            raise ContinueLoop()

    def exec_Raise(self, stmt: ast.Raise, frame: Frame) -> None:
        if self.maybe > frame.entry_maybe:
            self.degrade(frame)
        else:
            raise Raises("the code raises", stmt)

    def exec_Pass(self, stmt: ast.Pass, frame: Frame) -> None:
        pass

    def exec_Assert(self, stmt: ast.Assert, frame: Frame) -> None:
        pass

    def exec_FunctionDef(self, stmt: ast.FunctionDef, frame: Frame) -> None:
        frame.scope.names[stmt.name] = UNKNOWN if stmt.decorator_list else FuncRef(stmt, frame.scope)

    exec_AsyncFunctionDef = exec_FunctionDef

    def exec_ClassDef(self, stmt: ast.ClassDef, frame: Frame) -> None:
        frame.scope.names[stmt.name] = UNKNOWN

    def exec_Import(self, stmt: ast.Import | ast.ImportFrom, frame: Frame) -> None:
        frame.scope.names.update(import_bindings(stmt))

    exec_ImportFrom = exec_Import

    def exec_Delete(self, stmt: ast.Delete, frame: Frame) -> None:
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                frame.scope.names[target.id] = UNKNOWN
                continue
            container = self.eval(target.value, frame) if isinstance(target, ast.Subscript) else None
            index = self.eval(target.slice, frame) if isinstance(target, ast.Subscript) else None
            if not (
                isinstance(container, ListVal)
                and container.known
                and isinstance(index, (int, slice))
                and not self.maybe
            ):
                raise GiveUp("deletes an attribute or item", stmt)
            del container.items[index]

    # -- branches that cannot be decided ------------------------------------------------

    def undecided(self, bodies: list[list[ast.stmt]], frame: Frame, node: ast.AST, loop: bool = False) -> None:
        """Run each body in maybe mode from the same start, then join the names they bound."""
        self.enter_undecided(frame)
        start = dict(frame.scope.names)
        outcomes = []
        self.maybe += 1
        if loop:
            frame.loops.append(self.maybe)
        try:
            for body in bodies:
                frame.scope.names = dict(start)
                try:
                    self.run_body(body, frame)
                except (BreakLoop, ContinueLoop):
                    pass  # one pass of a loop we cannot count: it ends there
                outcomes.append(frame.scope.names)
        finally:
            self.maybe -= 1
            if loop:
                frame.loops.pop()
        joined = {}
        for name in dict.fromkeys(k for outcome in outcomes for k in outcome):
            joined[name] = self.join([outcome.get(name, UNKNOWN) for outcome in outcomes], node)
        frame.scope.names = joined

    def enter_undecided(self, frame: Frame) -> None:
        """Hook: before running branches that may not run."""

    def join(self, values: list[Any], node: ast.AST) -> Any:
        """One value for a name bound differently by branches that may or may not run."""
        first = values[0]
        if all(v is first for v in values):
            return first
        if all(literals.is_constant(v) and type(v) is type(first) and v == first for v in values):
            return first
        return UNKNOWN

    # -- assignment -------------------------------------------------------------------

    def assign(self, target: ast.expr, value: Any, frame: Frame) -> None:
        if isinstance(target, ast.Name):
            frame.scope.names[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            self._unpack_into(target, value, frame)
        elif isinstance(target, ast.Attribute):
            self.set_attribute(self.eval(target.value, frame), target.attr, value, target)
        elif isinstance(target, ast.Subscript):
            self.set_item(self.eval(target.value, frame), self.eval(target.slice, frame), value, target)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, ListVal(list(value)) if isinstance(value, (tuple, list)) else UNKNOWN, frame)
        else:
            raise GiveUp("cannot follow an assignment", target)

    def _unpack_into(self, target: ast.Tuple | ast.List, value: Any, frame: Frame) -> None:
        targets = target.elts
        starred = [i for i, t in enumerate(targets) if isinstance(t, ast.Starred)]
        items = self.iterate(value)
        if items is not None and not starred and len(items) != len(targets):
            raise GiveUp("unpacks the wrong number of values", target)
        if items is not None and starred:
            i = starred[0]
            after = len(targets) - i - 1
            if len(items) < len(targets) - 1:
                raise GiveUp("unpacks the wrong number of values", target)
            items = [*items[:i], list(items[i : len(items) - after]), *items[len(items) - after :]]
        if items is None:
            items = [self.unknown_item(value, target)] * len(targets)
        for sub, item in zip(targets, items):
            self.assign(sub, item, frame)

    def set_attribute(self, obj: Any, name: str, value: Any, node: ast.AST) -> None:
        """Hook: ``obj.name = value``. Only construction gives it meaning."""

    def set_item(self, container: Any, key: Any, value: Any, node: ast.AST) -> None:
        if isinstance(container, ListVal):
            if (
                self.maybe
                or not isinstance(key, int)
                or not container.known
                or not -len(container.items) <= key < len(container.items)
            ):
                container.known = False
            else:
                container.items[key] = value
        elif isinstance(container, DictVal):
            if self.maybe or not literals.is_constant(key):
                container.known = False
            else:
                container.items[key] = value

    # -- expressions ------------------------------------------------------------------

    # -- operations on values -------------------------------------------------------------

    def unknown_item(self, iterable: Any, node: ast.AST) -> Any:
        """Hook: the loop variable of a loop over unknown items."""
        return UNKNOWN

    def unknown_selection(self, candidates: Any, node: ast.AST) -> Any:
        """Hook: an item or attribute of ``candidates`` picked by a key we do not know."""
        return UNKNOWN

    def unknown_result(self, inputs: list[Any], node: ast.AST) -> Any:
        """Hook: the value of an operation that cannot be computed."""
        return UNKNOWN

    # -- attributes and items ----------------------------------------------------------------

    # -- calls ---------------------------------------------------------------------------

    def call(self, func: Any, args: Args, node: ast.Call, frame: Frame) -> Any:
        if isinstance(func, FuncRef):
            return self.call_function(func, args, node)
        if isinstance(func, Bound):
            return self.call_function(func.func, args, node, receiver=func.receiver)
        if isinstance(func, Qual):
            return self.call_qual(func, args, node, frame)
        if isinstance(func, MethodOf):
            return self.call_method(func.receiver, func.name, args, node, frame)
        if isinstance(func, ClassInfo):
            return self.instantiate(func, args, node, frame)
        if isinstance(func, Instance):
            method = self.instance_attribute(func, "__call__")  # an init functor: apply(NormalInit(0.02))
            if isinstance(method, Bound):
                return self.call_function(method.func, args, node, receiver=func)
        return self.call_unknown(func, args, node)

    def call_unknown(self, func: Any, args: Args, node: ast.Call) -> Any:
        """Hook: a call of something the interpreter does not know."""
        return UNKNOWN

    def instantiate(self, cls: ClassInfo, args: Args, node: ast.Call, frame: Frame) -> Any:
        return self.call_unknown(cls, args, node)

    def call_qual(self, func: Qual, args: Args, node: ast.Call, frame: Frame) -> Any:
        name = func.name
        handler = BUILTIN_CALLS.get(name)
        if handler is not None:
            return handler(self, args, node)
        if name in literals.PURE:
            positional = tuple(tuple(v.items) if isinstance(v, ListVal) and v.known else v for v in args.positional)
            return literals.fold_call(name, positional, args.keywords) if args.complete else UNKNOWN
        return self.call_unknown(func, args, node)

    def call_method(self, receiver: Any, name: str, args: Args, node: ast.Call, frame: Frame) -> Any:
        if isinstance(receiver, ListVal):
            return self.list_method(receiver, name, args, node)
        if isinstance(receiver, DictVal):
            return self.dict_method(receiver, name, args)
        if isinstance(receiver, str):
            method = getattr(str, name, None)
            if (
                method is not None
                and name in _STR_METHODS
                and args.complete
                and all(literals.is_constant(v) for v in args.all_values())
            ):
                return literals.fold_method(method, receiver, args.positional, args.keywords)
            return UNKNOWN
        return self.call_unknown(MethodOf(receiver, name), args, node)

    def list_method(self, target: ListVal, name: str, args: Args, node: ast.Call) -> Any:
        if name == "append" and len(args.positional) == 1:
            if self.maybe:
                target.known = False
            else:
                target.items.append(args.positional[0])
            return None
        if name == "extend" and len(args.positional) == 1:
            self.list_extend(target, args.positional[0])
            return None
        if name == "insert" and len(args.positional) == 2 and isinstance(args.positional[0], int) and not self.maybe:
            target.items.insert(args.positional[0], args.positional[1])
            return None
        if name == "pop" and target.known and not self.maybe and not args.keywords and len(args.positional) <= 1:
            index = args.positional[0] if args.positional else -1
            if isinstance(index, int) and -len(target.items) <= index < len(target.items):
                return target.items.pop(index)
        if name in ("index", "count") and target.known:
            return UNKNOWN
        target.known = False  # pop, remove, reverse, sort...: we stop following its items
        return self.call_unknown(MethodOf(target, name), args, node)

    def dict_method(self, target: DictVal, name: str, args: Args) -> Any:
        if not target.known:
            return UNKNOWN
        if name == "items":
            return tuple(target.items.items())
        if name == "keys":
            return tuple(target.items)
        if name == "values":
            return tuple(target.items.values())
        if name == "get" and args.positional and literals.is_constant(args.positional[0]):
            default = args.positional[1] if len(args.positional) > 1 else None
            return target.items.get(args.positional[0], default)
        target.known = False
        return UNKNOWN

    # -- isinstance ----------------------------------------------------------------------------


_STR_METHODS = frozenset({"format", "join", "startswith", "endswith", "lower", "upper", "split", "replace",
                          "find", "strip", "count", "rfind", "isdigit"})  # fmt: skip
