"""Turn one file's fix intents into text edits, located in the source with libcst.

Edits are minimal: a rewritten call replaces only that call's text (its
prefix spelling, tensor argument and quote style kept), an insertion adds
whole lines after a statement, an import is added only when no spelling of
``torch.nn.init`` is available.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from ..facts import Span
from ..findings import Edit
from .intent import InsertInit, NewInit, RewriteCall


class CannotFix(Exception):
    """The source does not look like what the intent expects; the message says why."""


@dataclass(frozen=True)
class _Imports:
    """How this file can spell torch.nn.init, and what it imported by name from it."""

    prefix: str | None  # "nn.init", "init", "torch.nn.init"
    by_name: dict[str, cst.ImportFrom]  # init function name -> the statement importing it
    init_from: cst.ImportFrom | None  # a `from torch.nn.init import ...` to extend
    last_import: cst.CSTNode | None  # top-level statement to add an import after


def _dotted(node: cst.BaseExpression | None) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _imports(module: cst.Module) -> _Imports:
    aliases: dict[str, str] = {}  # local name -> what it is
    by_name: dict[str, cst.ImportFrom] = {}
    init_from = last = None
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                last = statement
                for alias in small.names:
                    target = _dotted(alias.name)
                    local = alias.asname.name.value if alias.asname else target.split(".")[0]
                    aliases[local] = target if alias.asname else local
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                last = statement
                source = _dotted(small.module)
                for alias in small.names:
                    name = _dotted(alias.name)
                    local = alias.asname.name.value if alias.asname else name
                    aliases[local] = f"{source}.{name}"
                    if source == "torch.nn.init":
                        by_name[local] = small
                if source == "torch.nn.init":
                    init_from = small
    prefix = None
    for local, target in aliases.items():
        if target == "torch.nn.init":
            prefix = local
    if prefix is None:
        for local, target in aliases.items():
            if target == "torch.nn":
                prefix = f"{local}.init"
    if prefix is None and aliases.get("torch") == "torch":
        prefix = "torch.nn.init"
    return _Imports(prefix, by_name, init_from, last)


def _quote(call: cst.Call) -> str:
    for arg in call.args:
        if isinstance(arg.value, cst.SimpleString):
            return arg.value.quote[-1]
    return '"'


def _new_args(new: NewInit, tensor: cst.Arg, keep: list[cst.Arg], quote: str) -> list[cst.Arg]:
    def keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
        return cst.Arg(value, keyword=cst.Name(name), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))

    extra = []
    if new.mode:
        extra.append(keyword("mode", cst.SimpleString(f"{quote}{new.mode}{quote}")))
    extra.append(keyword("nonlinearity", cst.SimpleString(f"{quote}{new.nonlinearity}{quote}")))
    if new.a is not None:
        extra.append(keyword("a", cst.Float(repr(float(new.a))) if not float(new.a).is_integer() else cst.Integer(str(int(new.a)))))
    args = [tensor.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT), *keep, *extra]
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return [a.with_changes(comma=comma) for a in args[:-1]] + [args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]


class SourcePlanner:
    """Edits for one file's intents. Raises CannotFix when a call is not where it should be."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.module = cst.parse_module(text)
        wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        self.positions: dict[cst.CSTNode, CodeRange] = dict(wrapper.resolve(PositionProvider))
        self.imports = _imports(self.module)
        self.newline = self.module.default_newline

    # -- locating --------------------------------------------------------------------

    def _call_at(self, site: Span) -> cst.Call:
        for node, where in self.positions.items():
            if (
                isinstance(node, cst.Call)
                and (where.start.line, where.start.column + 1) == (site.line, site.column)
                and (where.end.line, where.end.column + 1) == (site.end_line, site.end_column)
            ):
                return node
        raise CannotFix(f"no call at {site.line}:{site.column} (the file may have changed)")

    def _edit(self, node: cst.CSTNode, content: str) -> Edit:
        where = self.positions[node]
        return Edit(self.path, where.start.line, where.start.column + 1, where.end.line, where.end.column + 1, content)

    def _insert_after(self, node: cst.CSTNode, lines: list[str], indent: str) -> Edit:
        line = self.positions[node].end.line + 1
        content = "".join(f"{indent}{text}{self.newline}" for text in lines)
        return Edit(self.path, line, 1, line, 1, content)

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

    def _import_torch(self) -> Edit:
        anchor = self.imports.last_import
        if anchor is not None:
            return self._insert_after(anchor, ["import torch"], "")
        line = 1
        body = self.module.body
        if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(body[0].body[0], cst.Expr) \
                and isinstance(body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString)):
            line = self.positions[body[0]].end.line + 1  # after the module docstring
        return Edit(self.path, line, 1, line, 1, f"import torch{self.newline}")

    # -- intents ----------------------------------------------------------------------------

    def rewrite_call(self, intent: RewriteCall) -> list[Edit]:
        call = self._call_at(intent.site)
        keep = [a for a in call.args if a.keyword and a.keyword.value == "generator"]
        edits: list[Edit] = []
        if intent.tensor_method:
            if not isinstance(call.func, cst.Attribute):
                raise CannotFix("expected a tensor method call such as w.data.normal_(...)")
            receiver = call.func.value
            if isinstance(receiver, cst.Attribute) and receiver.attr.value == "data":
                receiver = receiver.value
            tensor = cst.Arg(receiver)
            callee, edits = self._init_callee(intent.new.function)
            func: cst.BaseExpression = cst.parse_expression(callee)
        else:
            if not call.args:
                raise CannotFix("the init call has no tensor argument")
            tensor = next((a for a in call.args if a.keyword and a.keyword.value == "tensor"), call.args[0])
            func, edits = self._renamed(call.func, intent.new.function)
        new_call = call.with_changes(func=func, args=_new_args(intent.new, tensor, keep, _quote(call)))
        return [self._edit(call, self.module.code_for_node(new_call)), *edits]

    def _renamed(self, func: cst.BaseExpression, function: str) -> tuple[cst.BaseExpression, list[Edit]]:
        """The same call spelled for another init function: ``nn.init.x`` -> ``nn.init.y``;
        a name imported from torch.nn.init gets its new name added to that import."""
        if isinstance(func, cst.Attribute):
            return func.with_changes(attr=cst.Name(function)), []
        if function in self.imports.by_name:
            return cst.Name(function), []
        statement = self.imports.by_name.get(func.value) if isinstance(func, cst.Name) else None
        if statement is not None:
            return cst.Name(function), [self._extend_import(statement, function)]
        callee, edits = self._init_callee(function)
        return cst.parse_expression(callee), edits

    def _extend_import(self, statement: cst.ImportFrom, function: str) -> Edit:
        """``from torch.nn.init import a`` -> ``from torch.nn.init import a, b``."""
        names = [*statement.names, cst.ImportAlias(cst.Name(function))]
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        names = [n.with_changes(comma=comma) for n in names[:-1]] + [names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
        return self._edit(statement, self.module.code_for_node(statement.with_changes(names=names)))

    def insert_init(self, intent: InsertInit) -> list[Edit]:
        init = self._init_method(intent.model)
        body = init.body.body
        anchor = body[-1]
        if intent.anchor is not None:
            for statement in body:
                where = self.positions[statement]
                if where.start.line <= intent.anchor.line <= where.end.line:
                    anchor = statement
                    break
        indent = self._indent_of(anchor)
        callee, import_edits = self._init_callee(intent.new.function)
        args = [f"mode={intent.new.mode!r}"] if intent.new.mode else []
        args.append(f'nonlinearity="{intent.new.nonlinearity}"')
        if intent.new.a is not None:
            args.append(f"a={intent.new.a:g}")
        lines = [f"{callee}({_attribute_path(layer)}.weight, {', '.join(args)})" for layer in intent.layers]
        return [self._insert_after(anchor, lines, indent), *import_edits]

    def _init_method(self, model: str) -> cst.FunctionDef:
        for statement in self.module.body:
            if isinstance(statement, cst.ClassDef) and statement.name.value == model:
                for item in statement.body.body:
                    if isinstance(item, cst.FunctionDef) and item.name.value == "__init__":
                        if not isinstance(item.body, cst.IndentedBlock):
                            raise CannotFix(f"{model}.__init__ is a one-line body")
                        return item
                raise CannotFix(f"{model} has no __init__ in this file")
        raise CannotFix(f"{model} is not a class defined in this file")

    def _indent_of(self, statement: cst.CSTNode) -> str:
        line = self.text.splitlines()[self.positions[statement].start.line - 1]
        return line[: len(line) - len(line.lstrip())]


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


def _attribute_path(qualified: str) -> str:
    """``body.0.fc`` -> ``self.body[0].fc``: how the model's __init__ reaches a submodule."""
    parts = qualified.split(".")
    if not all(p.isdigit() or _IDENTIFIER.match(p) for p in parts):
        return f"self.get_submodule({qualified!r})"
    return "self" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts)
