"""Turn one file's fix intents into text edits.

Nodes are located with the standard library's ``ast`` (fast, exact end
positions); only the snippet being rewritten goes through libcst, which keeps
its comments, spacing and quoting. Edits are minimal: a rewritten call
replaces only that call's text (its prefix spelling and tensor argument kept),
an insertion adds whole lines after a statement, an import is added or
extended only when no spelling of ``torch.nn.init`` is available.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import libcst as cst

from ..facts import Span
from ..findings import Edit
from .intent import InsertInit, NewInit, RewriteCall


class CannotFix(Exception):
    """The source does not look like what the intent expects; the message says why."""


@dataclass(frozen=True)
class _Imports:
    """How this file can spell torch.nn.init, and what it imported by name from it."""

    prefix: str | None  # "nn.init", "init", "torch.nn.init"
    by_name: dict[str, ast.ImportFrom]  # init function name -> the statement importing it
    init_from: ast.ImportFrom | None  # a `from torch.nn.init import ...` to extend
    last_import: ast.stmt | None  # top-level statement to add an import after


def _imports(tree: ast.Module) -> _Imports:
    aliases: dict[str, str] = {}  # local name -> what it is
    by_name: dict[str, ast.ImportFrom] = {}
    init_from = last = None
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
    return _Imports(prefix, by_name, init_from, last)


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


def _keyword(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(value, keyword=cst.Name(name), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))


def _new_args(new: NewInit, tensor: cst.Arg, keep: list[cst.Arg], quote: str) -> list[cst.Arg]:
    extra = []
    if new.mode:
        extra.append(_keyword("mode", cst.SimpleString(f"{quote}{new.mode}{quote}")))
    extra.append(_keyword("nonlinearity", cst.SimpleString(f"{quote}{new.nonlinearity}{quote}")))
    if new.a is not None:
        extra.append(_keyword("a", cst.parse_expression(f"{new.a:g}")))
    args = [tensor.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT), *keep, *extra]
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return [a.with_changes(comma=comma) for a in args[:-1]] + [args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]


def _names_with(statement: str, function: str) -> str:
    """``from torch.nn.init import a`` -> ``from torch.nn.init import a, b`` (libcst keeps its layout)."""
    node = cst.parse_statement(statement)
    small = node.body[0]  # type: ignore[attr-defined]
    names = [*small.names, cst.ImportAlias(cst.Name(function))]
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    names = [n.with_changes(comma=comma) for n in names[:-1]] + [names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    return cst.Module([]).code_for_node(small.with_changes(names=names))


class SourcePlanner:
    """Edits for one file's intents. Raises CannotFix when a node is not where it should be."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.tree = ast.parse(text)
        self.imports = _imports(self.tree)
        first = text.find("\n")
        self.newline = "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"

    # -- positions ---------------------------------------------------------------------

    def _column(self, line: int, byte_offset: int) -> int:
        """1-based character column of an ast byte offset."""
        text = self.lines[line - 1] if line - 1 < len(self.lines) else ""
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "replace")) + 1

    def _span(self, node: ast.AST) -> tuple[int, int, int, int]:
        return (node.lineno, self._column(node.lineno, node.col_offset),
                node.end_lineno, self._column(node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]

    def _source(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.text, node)
        if segment is None:
            raise CannotFix("cannot read the call's source")
        return segment

    def _edit(self, node: ast.AST, content: str) -> Edit:
        line, column, end_line, end_column = self._span(node)
        return Edit(self.path, line, column, end_line, end_column, content)

    def _insert_after(self, node: ast.AST, lines: list[str], indent: str) -> Edit:
        line = node.end_lineno + 1  # type: ignore[attr-defined]
        content = "".join(f"{indent}{text}{self.newline}" for text in lines)
        return Edit(self.path, line, 1, line, 1, content)

    def _call_at(self, site: Span) -> ast.Call:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and self._span(node) == (site.line, site.column, site.end_line, site.end_column):
                return node
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
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            line = body[0].end_lineno + 1  # after the module docstring
        return Edit(self.path, line, 1, line, 1, f"import torch{self.newline}")

    # -- intents ----------------------------------------------------------------------------

    def rewrite_call(self, intent: RewriteCall) -> list[Edit]:
        node = self._call_at(intent.site)
        try:
            call = cst.parse_expression(self._source(node))
        except cst.ParserSyntaxError as error:
            raise CannotFix("libcst cannot parse the call") from error
        if not isinstance(call, cst.Call):
            raise CannotFix("the init is not a plain call")
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
        return [self._edit(node, cst.Module([]).code_for_node(new_call)), *edits]

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
        body = self._init_method(intent.model).body
        anchor = body[-1]
        if intent.anchor is not None:
            anchor = next((s for s in body if s.lineno <= intent.anchor.line <= s.end_lineno), anchor)  # type: ignore[operator]
        line = self.lines[anchor.lineno - 1]
        indent = line[: len(line) - len(line.lstrip())]
        callee, import_edits = self._init_callee(intent.new.function)
        args = [f"mode={intent.new.mode!r}"] if intent.new.mode else []
        args.append(f'nonlinearity="{intent.new.nonlinearity}"')
        if intent.new.a is not None:
            args.append(f"a={intent.new.a:g}")
        lines = [f"{callee}({_attribute_path(layer)}.weight, {', '.join(args)})" for layer in intent.layers]
        return [self._insert_after(anchor, lines, indent), *import_edits]

    def _init_method(self, model: str) -> ast.FunctionDef:
        for statement in self.tree.body:
            if isinstance(statement, ast.ClassDef) and statement.name == model:
                for item in statement.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        if item.body[0].lineno == item.lineno:
                            raise CannotFix(f"{model}.__init__ is a one-line body")
                        return item
                raise CannotFix(f"{model} has no __init__ in this file")
        raise CannotFix(f"{model} is not a class defined in this file")


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


def _attribute_path(qualified: str) -> str:
    """``body.0.fc`` -> ``self.body[0].fc``: how the model's __init__ reaches a submodule."""
    parts = qualified.split(".")
    if not all(p.isdigit() or _IDENTIFIER.match(p) for p in parts):
        return f"self.get_submodule({qualified!r})"
    return "self" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts)
