"""Turn one file's fix intents into text edits.

Nodes are located with the standard library's ``ast`` (fast, exact end
positions); only the snippet being rewritten goes through libcst, which keeps
its comments, spacing and quoting. Edits are minimal: a rewritten call
changes only its function's name and the arguments whose meaning changes
(every comment and line break of the call kept), an insertion adds whole
lines right after the statement that assigned the layers, an import is added
or extended only when no spelling of ``torch.nn.init`` is available.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeGuard

import libcst as cst

from ..discover import parse_source
from ..findings import Edit
from ..shared.facts import Span
from ..shared.knowledge.values import INIT_ALIASES, init_function
from ..shared.positions import Positions, first_line_break
from .intent import (
    DeleteStatement,
    ExplicitInit,
    GainInit,
    InsertInit,
    NewInit,
    RewriteCall,
    SetMode,
    Target,
)


class CannotFix(Exception):
    """The source does not look like what the intent expects; the message says why."""


@dataclass(frozen=True)
class _Imports:
    """How this file can spell torch.nn.init, and what it imported by name from it."""

    prefix: str | None  # "nn.init", "init", "torch.nn.init"
    by_name: dict[str, ast.ImportFrom]  # init function name -> the statement importing it
    init_from: ast.ImportFrom | None  # a `from torch.nn.init import ...` to extend
    last_import: ast.stmt | None  # top-level statement to add an import after
    math: str | None  # the local name of the math module, if imported


def _imports(tree: ast.Module) -> _Imports:
    aliases: dict[str, str] = {}  # local name -> what it is
    by_name: dict[str, ast.ImportFrom] = {}
    init_from: ast.ImportFrom | None = None
    last: ast.stmt | None = None
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            last = statement
            for alias in statement.names:
                local = alias.asname or alias.name.split(".")[0]
                aliases[local] = alias.name if alias.asname else local
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0:
            last = statement
            source = statement.module or ""
            for alias in statement.names:
                local = alias.asname or alias.name
                aliases[local] = f"{source}.{alias.name}"
                if source == "torch.nn.init":
                    by_name[local] = statement
            if source == "torch.nn.init":
                init_from = statement
    prefix = next((local for local, target in aliases.items() if target == "torch.nn.init"), None)
    if prefix is None:
        prefix = next((f"{local}.init" for local, target in aliases.items() if target == "torch.nn"), None)
    if prefix is None and aliases.get("torch") == "torch":
        prefix = "torch.nn.init"
    math = next((local for local, target in aliases.items() if target == "math"), None)
    return _Imports(prefix, by_name, init_from, last, math)


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _quote(call: cst.Call) -> str:
    for arg in call.args:
        if isinstance(arg.value, cst.SimpleString):
            return arg.value.quote[-1]
    return '"'


_NO_SPACE = cst.SimpleWhitespace("")


def _equal() -> cst.AssignEqual:
    return cst.AssignEqual(_NO_SPACE, _NO_SPACE)


def _keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(value, keyword=cst.Name(name), equal=_equal())


# -- the arguments of a rewritten call --------------------------------------------------
# Only what changes is touched: the other arguments, the comments and the layout are
# libcst nodes carried over as they were, so they print back byte for byte.


def _wanted(new: NewInit | SetMode | ExplicitInit | GainInit, quote: str, tensor: str, math: str) -> dict[str, str]:
    """The keyword arguments the new call must carry, as source, in the order they are added
    (``tensor``: how the call names its tensor; ``math``: how the file names the math module)."""
    if isinstance(new, ExplicitInit):
        return dict(new.arguments)
    if isinstance(new, GainInit):
        return {"std": f"{new.constant} / {math}.sqrt({tensor}[0].numel())"}
    wanted = {"mode": f"{quote}{new.mode}{quote}"} if new.mode else {}
    if isinstance(new, SetMode):
        return wanted
    wanted["nonlinearity"] = f"{quote}{new.nonlinearity}{quote}"
    if new.a is not None:
        wanted["a"] = f"{new.a:g}"
    return wanted


def _parameters(function: str) -> tuple[str, ...]:
    """torch.nn.init.<function>'s parameters in positional order."""
    found = init_function(INIT_ALIASES.get(function, function))
    if found is None:
        raise CannotFix(f"unknown init function {function}")
    return ("tensor", *found.arguments, "generator")


def _bound(args: list[cst.Arg], parameters: tuple[str, ...]) -> list[str]:
    """The parameter each argument binds to."""
    bound = []
    for index, arg in enumerate(args):
        if arg.star:
            raise CannotFix("the call passes *args or **kwargs")
        if arg.keyword is not None:
            bound.append(arg.keyword.value)
        elif index < len(parameters):
            bound.append(parameters[index])
        else:
            raise CannotFix("the call has more arguments than the function takes")
    return bound


def _same_value(node: cst.BaseExpression, source: str) -> bool:
    try:
        return bool(ast.literal_eval(cst.Module([]).code_for_node(node).strip()) == ast.literal_eval(source))
    except (ValueError, SyntaxError):
        return False


def _reworked(
    args: list[cst.Arg],
    bound: list[str],
    target: tuple[str, ...],
    wanted: dict[str, str],
    before_args: cst.BaseParenthesizableWhitespace,
    unchanged: frozenset[str] = frozenset(),
) -> list[cst.Arg]:
    """The arguments for a call of a function with parameters ``target``: the tensor,
    ``generator`` and the ``unchanged`` ones kept, ``wanted`` values set where an argument
    names them and added after the last argument where none does, every other argument
    removed. A positional argument stays positional only while every one before it stays;
    later ones become keywords."""
    kept: list[cst.Arg] = []
    removed: list[int] = []
    for index, (arg, name) in enumerate(zip(args, bound)):
        if name not in ("tensor", "generator", *unchanged) and name not in wanted:
            removed.append(index)
            kept.append(arg)
            continue
        if arg.keyword is None and (removed or index >= len(target) or target[index] != name):
            arg = arg.with_changes(keyword=cst.Name(name), equal=_equal())
        if name in wanted and not _same_value(arg.value, wanted[name]):
            arg = arg.with_changes(value=cst.parse_expression(wanted[name]))
        kept.append(arg)
    if removed and removed[0] == 0:
        raise CannotFix("the tensor is not the call's first argument")
    for name, value in wanted.items():
        if name not in bound:
            kept = _appended(kept, _keyword(name, cst.parse_expression(value)), before_args)
    # Removed last, so an added argument can take the place (and layout) of a removed one.
    for index in reversed(removed):
        kept = _without(kept, index)
    return kept


def _has_comment(space: cst.BaseParenthesizableWhitespace) -> bool:
    return isinstance(space, cst.ParenthesizedWhitespace) and (
        space.first_line.comment is not None or any(line.comment is not None for line in space.empty_lines)
    )


def _comma(arg: cst.Arg) -> cst.Comma:
    """The comma after an argument that has one (every argument of a call but the last)."""
    if not isinstance(arg.comma, cst.Comma):
        raise CannotFix("an argument of the call has no comma after it")
    return arg.comma


def _without(args: list[cst.Arg], index: int) -> list[cst.Arg]:
    """The arguments without ``args[index]`` (never the first); the comments on its line
    stay, on a line of their own, and the layout around it is kept."""
    previous, gone = args[index - 1], args[index]
    closing = not isinstance(gone.comma, cst.Comma)  # it was the last argument, with no trailing comma
    before = _comma(previous).whitespace_after
    after = gone.comma.whitespace_after if isinstance(gone.comma, cst.Comma) else gone.whitespace_after_arg
    if isinstance(before, cst.ParenthesizedWhitespace) and isinstance(after, cst.ParenthesizedWhitespace):
        moved = [cst.EmptyLine(before.indent, before.last_line, after.first_line.comment, after.first_line.newline)]
        lines = [*before.empty_lines, *(moved if after.first_line.comment else []), *after.empty_lines]
        between: cst.BaseParenthesizableWhitespace = after.with_changes(first_line=before.first_line, empty_lines=lines)
    elif isinstance(before, cst.ParenthesizedWhitespace) and (_has_comment(before) or not closing):
        between = before
    else:
        between = after
    if closing:
        previous = previous.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=between)
    else:
        previous = previous.with_changes(comma=_comma(previous).with_changes(whitespace_after=between))
    return [*args[: index - 1], previous, *args[index + 1 :]]


def _plain(space: cst.ParenthesizedWhitespace) -> cst.ParenthesizedWhitespace:
    """The same line break and indentation, without comments."""
    return space.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])


def _appended(args: list[cst.Arg], arg: cst.Arg, before_args: cst.BaseParenthesizableWhitespace) -> list[cst.Arg]:
    """``arg`` after the last argument, laid out like it: on a line of its own when the
    arguments are one per line, the trailing comma and the closing line kept."""
    if not args:
        return [arg]
    last = args[-1]
    trailing = last.comma if isinstance(last.comma, cst.Comma) else None
    tail = trailing.whitespace_after if trailing is not None else last.whitespace_after_arg
    separator = _comma(args[-2]).whitespace_after if len(args) > 1 else before_args
    between: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace(" ")
    end = tail
    if isinstance(separator, cst.ParenthesizedWhitespace) and isinstance(tail, cst.ParenthesizedWhitespace):
        # The last argument's comment stays on its line; the new one takes the closing line break.
        between = tail.with_changes(indent=separator.indent, last_line=separator.last_line)
        end = _plain(tail)
    elif isinstance(separator, cst.ParenthesizedWhitespace):
        between = _plain(separator)
    if trailing is not None:
        last = last.with_changes(comma=trailing.with_changes(whitespace_after=between))
        arg = arg.with_changes(comma=cst.Comma(whitespace_after=end))
    else:
        last = last.with_changes(comma=cst.Comma(whitespace_after=between), whitespace_after_arg=_NO_SPACE)
        arg = arg.with_changes(whitespace_after_arg=end)
    return [*args[:-1], last, arg]


def _prepended(args: list[cst.Arg], arg: cst.Arg, before_args: cst.BaseParenthesizableWhitespace) -> list[cst.Arg]:
    """``arg`` as the first argument, separated from the next one like the call opens."""
    if not args:
        return [arg]
    space = _plain(before_args) if isinstance(before_args, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace(" ")
    return [arg.with_changes(comma=cst.Comma(whitespace_after=space)), *args]


def _names_with(statement: str, function: str) -> str:
    """``from torch.nn.init import a`` -> ``from torch.nn.init import a, b`` (libcst keeps its layout)."""
    node = cst.parse_statement(statement)
    small = node.body[0] if isinstance(node, cst.SimpleStatementLine) else None
    if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
        raise CannotFix(f"cannot add {function} to `{statement}`")
    names = [*small.names, cst.ImportAlias(cst.Name(function))]
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    names = [n.with_changes(comma=comma) for n in names[:-1]] + [
        names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    ]
    return cst.Module([]).code_for_node(small.with_changes(names=names))


class SourcePlanner:
    """Edits for one file's intents. Raises CannotFix when a node is not where it should be."""

    def __init__(self, path: str, text: str, parse: Callable[[str, str], ast.Module] = parse_source):
        self.path = path
        self.text = text
        self.positions = Positions(path, text)
        self.tree = parse(path, text)  # the tree the analysis read, if it was this text
        self.imports = _imports(self.tree)
        self.newline = first_line_break(text)
        self._deleted: set[int] = set()  # statements removed by planned deletions: a block keeps one

    # -- positions ---------------------------------------------------------------------

    def _span(self, node: ast.AST) -> tuple[int, int, int, int]:
        span = self.positions.span(node)
        return span.line, span.column, span.end_line, span.end_column

    def _source(self, node: ast.AST) -> str:
        span = self.positions.span(node)
        offset = self.positions.offset
        return self.text[offset(span.line, span.column) : offset(span.end_line, span.end_column)]

    def _edit(self, node: ast.AST, content: str) -> Edit:
        line, column, end_line, end_column = self._span(node)
        return Edit(self.path, line, column, end_line, end_column, content)

    def _insert_after(self, node: ast.stmt, lines: list[str], indent: str) -> Edit:
        line = _last_line(node) + 1
        content = "".join(f"{indent}{text}{self.newline}" for text in lines)
        return Edit(self.path, line, 1, line, 1, content)

    def _call_at(self, site: Span) -> ast.Call:
        """The call at ``site``, looked for only in the nodes whose lines hold it."""
        wanted = (site.line, site.column, site.end_line, site.end_column)
        nodes: list[ast.AST] = [self.tree]
        while nodes:
            node = nodes.pop()
            if isinstance(node, ast.Call) and self._span(node) == wanted:
                return node
            for child in ast.iter_child_nodes(node):
                start, end = getattr(child, "lineno", None), getattr(child, "end_lineno", None)
                if start is None or end is None or start <= site.line and site.end_line <= end:
                    nodes.append(child)
        raise CannotFix(f"no call at {site.line}:{site.column} (the file may have changed)")

    # -- the init function's spelling ---------------------------------------------------

    def _init_callee(self, function: str) -> tuple[str, list[Edit]]:
        """How to call ``torch.nn.init.<function>`` here, and any import that needs."""
        if self.imports.prefix:
            return f"{self.imports.prefix}.{function}", []
        if function in self.imports.by_name:
            return function, []
        if self.imports.init_from is not None:
            return function, [self._extend_import(self.imports.init_from, function)]
        return f"torch.nn.init.{function}", [self._import_torch()]

    def _extend_import(self, statement: ast.ImportFrom, function: str) -> Edit:
        return self._edit(statement, _names_with(self._source(statement), function))

    def _import_torch(self) -> Edit:
        anchor = self.imports.last_import
        if anchor is not None:
            return self._insert_after(anchor, ["import torch"], "")
        body = self.tree.body
        line = 1
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            line = _last_line(body[0]) + 1  # after the module docstring
        return Edit(self.path, line, 1, line, 1, f"import torch{self.newline}")

    # -- intents ----------------------------------------------------------------------------

    def rewrite_call(self, intent: RewriteCall) -> list[Edit]:
        """The call with only what changes changed: the function's name, the arguments the new
        function does not take, the values that differ, and the arguments it lacks (added last)."""
        node = self._call_at(intent.site)
        try:
            call = cst.parse_expression(self._source(node))
        except cst.ParserSyntaxError as error:
            raise CannotFix("libcst cannot parse the call") from error
        if not isinstance(call, cst.Call):
            raise CannotFix("the init is not a plain call")
        new = intent.new
        unchanged: frozenset[str] = frozenset()
        if intent.tensor_method:
            if isinstance(new, SetMode):
                raise CannotFix("a tensor method has no mode")
            func, args, bound, edits = self._from_tensor_method(call, _function(new))
            function = _function(new)
        else:
            if not call.args:
                raise CannotFix("the init call has no tensor argument")
            args = list(call.args)
            called = self._init_function(call.func)
            bound = _bound(args, _parameters(called))
            if isinstance(new, SetMode):  # the same function: its spelling and other arguments stay
                func, edits, function = call.func, [], called
                unchanged = frozenset(_parameters(called)) - {"mode"}
            else:
                func, edits = self._renamed(call.func, _function(new))
                function = _function(new)
        tensor = cst.Module([]).code_for_node(args[bound.index("tensor")].value) if "tensor" in bound else ""
        if isinstance(new, GainInit):
            if not tensor or not _pure(ast.parse(tensor, mode="eval").body):
                raise CannotFix("the tensor is not a plain name or attribute: its fan_in cannot be written")
            edits += self._gain_constant(new)
        wanted = _wanted(new, _quote(call), tensor, self._math())
        args = _reworked(args, bound, _parameters(function), wanted, call.whitespace_before_args, unchanged)
        new_call = call.with_changes(func=func, args=args)
        edits += self._overrides(node, intent) if intent.overrides else []
        return list(dict.fromkeys([self._edit(node, cst.Module([]).code_for_node(new_call)), *edits]))

    # -- a gain torch cannot name ------------------------------------------------------------

    def _math(self) -> str:
        return self.imports.math or "math"

    def _gain_constant(self, new: GainInit) -> list[Edit]:
        """``import math`` if needed and the gain's named constant after the imports, unless the file
        defines it already (identical edits of several fixes are made once)."""
        defined = any(
            isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == new.constant for t in s.targets)
            for s in self.tree.body
        )
        lines = [] if self.imports.math else ["import math"]
        if not defined:
            lines += [
                "",
                f"# {new.activation}'s gain, 1 / sqrt(E[{new.activation}(z)^2]) for z ~ N(0, 1): keeps the "
                "signal's scale (torch.nn.init.calculate_gain has none)",
                f"{new.constant} = {new.gain:g}",
            ]
        if not lines:
            return []
        anchor = self.imports.last_import
        if anchor is None:
            raise CannotFix("the file has no import to add the gain's constant after")
        return [self._insert_after(anchor, lines, "")]

    # -- overrides after the statement that runs a shared call --------------------------------------

    def _overrides(self, call: ast.Call, intent: RewriteCall) -> list[Edit]:
        """An init for each layer the shared call does not fit, in ``intent.model.__init__`` right after
        the statement that runs the call (the loop holding it, ``self.apply(fn)``, ``helper(self)``)."""
        init = next(
            (f for f in self._class(intent.model).body if isinstance(f, ast.FunctionDef) and f.name == "__init__"),
            None,
        )
        if init is None or not init.args.args:
            raise CannotFix(f"{intent.model} has no __init__ to add the other layers' inits to")
        anchor = self._running(init, call)
        receiver = init.args.args[0].arg
        lines: list[str] = []
        edits: list[Edit] = []
        for override in intent.overrides:
            tensor = f"{receiver}.{override.layer}.weight"
            callee, imported = self._init_callee(_function(override.new))
            if isinstance(override.new, GainInit):
                imported += self._gain_constant(override.new)
            wanted = _wanted(override.new, '"', tensor, self._math())
            lines.append(f"{callee}({tensor}, {', '.join(f'{k}={v}' for k, v in wanted.items())})")
            edits += imported
        line = self.positions.line(anchor.lineno)
        return [self._insert_after(anchor, lines, line[: len(line) - len(line.lstrip())]), *edits]

    def _running(self, init: ast.FunctionDef, call: ast.Call) -> ast.stmt:
        """The statement of ``__init__``'s body that runs ``call``: the one holding it, or the one naming
        the function that holds it (``self.apply(self._init_weights)``, ``init_mlp(self)``)."""
        for statement in init.body:
            if any(node is call for node in ast.walk(statement)):
                return statement
        holder = max(
            (
                f
                for f in ast.walk(self.tree)
                if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.lineno <= call.lineno <= _last_line(f)
            ),
            key=lambda f: f.lineno,
            default=None,
        )
        if holder is not None:
            for statement in reversed(init.body):
                if any(
                    isinstance(n, ast.Name)
                    and n.id == holder.name
                    or isinstance(n, ast.Attribute)
                    and n.attr == holder.name
                    for n in ast.walk(statement)
                ):
                    if not self._alone(statement):
                        break
                    return statement
        raise CannotFix("cannot tell which statement of __init__ runs the init call")

    def delete_statement(self, intent: DeleteStatement) -> list[Edit]:
        """The statement that is the call at the site, gone with its lines; ``pass`` in its place
        when nothing else of its block is left (its line's other statements stay, then)."""
        call = self._call_at(intent.site)
        block, statement = self._statement_of(call)
        self._deleted.add(id(statement))
        if all(id(other) in self._deleted for other in block):
            return [self._edit(statement, "pass")]
        if not self._alone(statement):
            raise CannotFix(f"the call at line {statement.lineno} shares its line with another statement")
        first, after = statement.lineno, _last_line(statement) + 1
        return [Edit(self.path, first, 1, after, 1, "")]

    def _statement_of(self, call: ast.Call) -> tuple[list[ast.stmt], ast.Expr]:
        """The block holding the expression statement that is ``call``, and that statement."""
        for node in ast.walk(self.tree):
            for field in ("body", "orelse", "finalbody"):
                block = getattr(node, field, None)
                if not isinstance(block, list):
                    continue
                for statement in block:
                    if isinstance(statement, ast.Expr) and statement.value is call:
                        return block, statement
        raise CannotFix(f"the call at line {call.lineno} is not a statement of its own (its result is used)")

    def _from_tensor_method(
        self, call: cst.Call, function: str
    ) -> tuple[cst.BaseExpression, list[cst.Arg], list[str], list[Edit]]:
        """``w.data.normal_(0, 0.01)`` as a call of ``function`` on ``w``: (callee, arguments,
        the parameter each binds to, import edits). Only ``generator`` means the same in both."""
        if not isinstance(call.func, cst.Attribute):
            raise CannotFix("expected a tensor method call such as w.data.normal_(...)")
        receiver = call.func.value
        if isinstance(receiver, cst.Attribute) and receiver.attr.value == "data":
            receiver = receiver.value
        if any(arg.star for arg in call.args):
            raise CannotFix("the call passes *args or **kwargs")
        args = _prepended(list(call.args), cst.Arg(receiver), call.whitespace_before_args)
        bound = ["tensor", *("generator" if a.keyword and a.keyword.value == "generator" else "" for a in call.args)]
        callee, edits = self._init_callee(function)
        return cst.parse_expression(callee), args, bound, edits

    def _init_function(self, func: cst.BaseExpression) -> str:
        """Which torch.nn.init function a callee names (through ``import ... as``)."""
        if isinstance(func, cst.Attribute):
            return func.attr.value
        name = _dotted(func)
        statement = self.imports.by_name.get(name)
        if statement is not None:
            return next((a.name for a in statement.names if (a.asname or a.name) == name), name)
        return name

    def _renamed(self, func: cst.BaseExpression, function: str) -> tuple[cst.BaseExpression, list[Edit]]:
        """The same call spelled for another init function: ``nn.init.x`` -> ``nn.init.y``;
        a name imported from torch.nn.init gets its new name added to that import."""
        if isinstance(func, cst.Attribute):
            return func.with_changes(attr=cst.Name(function)), []
        if function in self.imports.by_name:
            return cst.Name(function), []
        statement = self.imports.by_name.get(_dotted(func))
        if statement is not None:
            return cst.Name(function), [self._extend_import(statement, function)]
        callee, edits = self._init_callee(function)
        return cst.parse_expression(callee), edits

    def insert_init(self, intent: InsertInit) -> list[Edit]:
        """Inits right after the statement that assigned the layers, in its block (inside the
        branch or loop that built them), valid whatever sizes the model is built with: a call
        for a layer held by an attribute, a loop over ``.modules()`` for layers in a container."""
        statement, function = self._assigning_statement(intent)
        holder = self._holder(statement, intent)
        callee, import_edits = self._init_callee(_function(intent.new))
        if isinstance(intent.new, GainInit):
            import_edits += self._gain_constant(intent.new)
        module = _fresh_name(self.tree)

        def arguments(tensor: str) -> str:
            return ", ".join(
                f"{name}={value}" for name, value in _wanted(intent.new, '"', tensor, self._math()).items()
            )

        if all("." not in name for name in intent.layers):
            lines = [f"{callee}({holder}.weight, {arguments(f'{holder}.weight')})"]
        elif all("." in name for name in intent.layers):
            classes = self._class_names(intent)
            spelled = classes[0] if len(classes) == 1 else f"({', '.join(classes)})"
            unit = self._indent_unit(function)
            lines = [
                f"for {module} in {holder}.modules():",
                f"{unit}if isinstance({module}, {spelled}):",
                f"{unit}{unit}{callee}({module}.weight, {arguments(f'{module}.weight')})",
            ]
        else:
            raise CannotFix(f"the statement at line {statement.lineno} assigns both layers and containers of layers")
        edits = [
            self._insert_after(place, lines, self._indent(place)) for place in (statement, *self._twins(statement))
        ]
        return [*edits, *import_edits]

    def _indent(self, statement: ast.stmt) -> str:
        line = self.positions.line(statement.lineno)
        return line[: len(line) - len(line.lstrip())]

    def _twins(self, statement: ast.stmt) -> list[ast.stmt]:
        """The statements of the other branch of the ``if``/``else`` holding ``statement`` that assign the
        same attribute with the same constructor (``self.body = nn.ModuleList(...)`` for another width):
        the branch a constructor argument picks gets the same init."""
        if not isinstance(statement, ast.Assign) or not isinstance(statement.value, ast.Call):
            return []
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.If):
                continue
            other = node.orelse if statement in node.body else node.body if statement in node.orelse else None
            if other is None:
                continue
            return [
                twin
                for twin in other
                if isinstance(twin, ast.Assign)
                and isinstance(twin.value, ast.Call)
                and ast.dump(twin.value.func) == ast.dump(statement.value.func)
                and [ast.dump(t) for t in twin.targets] == [ast.dump(t) for t in statement.targets]
                and self._alone(twin)
            ]
        return []

    def _assigning_statement(self, intent: InsertInit) -> tuple[ast.stmt, ast.FunctionDef | ast.AsyncFunctionDef]:
        """The statement at the intent's anchor, alone on its lines, having attached every
        layer of the intent; and the function it is in."""
        anchor, first = intent.anchor, intent.layers[0]
        if anchor is None:
            raise CannotFix(f"cannot tell which statement assigned {first}")
        if not _same_file(anchor.path, self.path):
            raise CannotFix(f"{first} is assigned in another file ({os.path.basename(anchor.path)})")
        scope = self._class(intent.model)
        statement = next(
            (
                node
                for node in ast.walk(scope)
                if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)) and _within(anchor, self._span(node))
            ),
            None,
        )
        if statement is None:
            raise CannotFix(f"{first} is assigned outside {intent.model} (line {anchor.line})")
        self._check_attached(statement, intent)
        if not self._alone(statement):
            raise CannotFix(f"the statement at line {statement.lineno} shares its line with another")
        functions = [
            f
            for f in ast.walk(scope)
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.lineno < statement.lineno <= _last_line(f)
        ]
        if not functions:
            raise CannotFix(f"the statement at line {statement.lineno} is not in a method")
        return statement, max(functions, key=lambda f: f.lineno)

    def _check_attached(self, statement: ast.stmt, intent: InsertInit) -> None:
        """Every layer joined its parent during ``statement``: right after it, all are in place
        (not so for layers appended to a container later, or built inside another class)."""
        for target in intent.targets:
            attached = target.attached
            if (
                attached is None
                or not _same_file(attached.path, self.path)
                or not _within(attached, self._span(statement))
            ):
                where = f"line {attached.line}" if attached else "an unknown place"
                raise CannotFix(
                    f"{target.name} is attached at {where}, not by the statement at line "
                    f"{statement.lineno} that assigned {intent.layers[0].split('.')[0]}"
                )

    def _class(self, model: str) -> ast.ClassDef:
        for statement in self.tree.body:
            if isinstance(statement, ast.ClassDef) and statement.name == model:
                return statement
        raise CannotFix(f"{model} is not a class defined in this file")

    def _alone(self, statement: ast.stmt) -> bool:
        """Nothing but indentation before it on its first line, and nothing but a comment after it."""
        line, column, end_line, end_column = self._span(statement)
        before = self.positions.line(line)[: column - 1]
        after = self.positions.line(end_line)[end_column - 1 :].strip()
        return not before.strip() and (not after or after.startswith("#"))

    def _holder(self, statement: ast.stmt, intent: InsertInit) -> str:
        """How the code right after ``statement`` reaches what it assigned: ``self.body``, or
        ``getattr(self, f"l{i}")`` after ``setattr(self, f"l{i}", ...)``."""
        tops = sorted({name.split(".")[0] for name in intent.layers})
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and len(tops) == 1:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for node in (n for t in targets for n in ast.walk(t)):
                if isinstance(node, ast.Attribute) and node.attr == tops[0] and isinstance(node.value, ast.Name):
                    return f"{node.value.id}.{tops[0]}"
        if isinstance(statement, ast.Expr) and _is_setattr(statement.value):
            receiver, name = statement.value.args[:2]
            constant = name.value if isinstance(name, ast.Constant) else None
            if isinstance(receiver, ast.Name) and _pure(name) and (constant is None or [constant] == tops):
                return f"getattr({receiver.id}, {self._source(name)})"
        raise CannotFix(f"the statement at line {statement.lineno} does not assign {', '.join(tops)} to an attribute")

    def _class_names(self, intent: InsertInit) -> list[str]:
        """How this file names the layers' classes: as the calls that built them do."""
        names: dict[str, str] = {}
        for target in intent.targets:
            if target.layer_type not in names:
                names[target.layer_type] = self._constructor(target)
        return list(names.values())

    def _constructor(self, target: Target) -> str:
        """The callee of the call that built the layer, if it names the class from module level."""
        unknown = CannotFix(f"cannot tell how this file names {target.layer_type}")
        if target.built is None or not _same_file(target.built.path, self.path):
            raise unknown
        try:
            dotted = _ast_dotted(self._call_at(target.built).func)
        except CannotFix:
            raise unknown from None
        if (
            dotted is None
            or dotted.split(".")[-1] != target.layer_type
            or dotted.split(".")[0] not in _module_names(self.tree)
        ):
            raise unknown
        return dotted

    def _indent_unit(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        """One level of indentation as this function writes it."""
        outer = self.positions.line(function.lineno)
        inner = self.positions.line(function.body[0].lineno)
        outer, inner = outer[: len(outer) - len(outer.lstrip())], inner[: len(inner) - len(inner.lstrip())]
        return inner[len(outer) :] if inner.startswith(outer) and len(inner) > len(outer) else "    "


def _function(new: NewInit | ExplicitInit | GainInit) -> str:
    """The torch.nn.init function a new init calls."""
    return "normal_" if isinstance(new, GainInit) else new.function


def _same_file(one: str, other: str) -> bool:
    return os.path.normcase(os.path.abspath(one)) == os.path.normcase(os.path.abspath(other))


def _within(inner: Span, outer: tuple[int, int, int, int]) -> bool:
    line, column, end_line, end_column = outer
    return (line, column) <= (inner.line, inner.column) and (inner.end_line, inner.end_column) <= (end_line, end_column)


def _last_line(node: ast.stmt) -> int:
    """The statement's last line (``ast.parse`` always sets it; a hand-built node ends where it starts)."""
    return node.end_lineno if node.end_lineno is not None else node.lineno


def _is_setattr(node: ast.expr) -> TypeGuard[ast.Call]:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "setattr"
        and len(node.args) == 3
        and not node.keywords
    )


def _pure(node: ast.expr) -> bool:
    """Evaluating it again gives the same value: no calls, no assignments."""
    effects = (ast.Call, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)
    return not any(isinstance(n, effects) for n in ast.walk(node))


def _ast_dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _ast_dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _module_names(tree: ast.Module) -> set[str]:
    """Names bound at the top of the module: what any function of it can use."""
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in statement.names)
        elif isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
    return names


def _fresh_name(tree: ast.Module) -> str:
    """A loop variable no code of the file uses, so the loop changes nothing else."""
    used = {n.id if isinstance(n, ast.Name) else n.arg for n in ast.walk(tree) if isinstance(n, (ast.Name, ast.arg))}
    return next(
        name
        for name in ("module", "layer", "submodule", *(f"module{i}" for i in range(1, len(used) + 2)))
        if name not in used
    )
