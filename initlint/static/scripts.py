"""Scripts, read: each model a file builds at its top level, built as the script builds it, with its init.

``shared/scripts.py`` finds the builds (``netG = Generator(ngpu)``) and the
statements they need, and full mode runs that slice. Here the same statements
are interpreted: the kept ones in order at module level (argparse answering
its defaults: ``arguments``), then for each build its construction and the
statements that initialise the model (``netG.apply(weights_init)``, a
``named_parameters()`` loop), recorded at their own lines. Each build is a
model named after its class (``Class (variable)`` when the class is built
twice), ``built_by`` "call-site", replacing the class's own check.

Nothing is guessed: a kept statement that cannot be followed leaves what it
binds unknown, an init statement that cannot be followed leaves the model's
parameters unknown, a construction that cannot be followed leaves the model
unjudged. A construction that surely raises (a required argument, None when
the script runs bare, given as a size) builds nothing, as in full mode: the
class is then checked on its own, as full mode reads such a file from source.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..shared.facts import ModelFacts, Span
from ..shared.positions import Positions
from ..shared.scripts import BuildCode, script_code, slice_module
from .arguments import Parser, is_parser_class, namespace, parser_method
from .construct import Builder, is_module_class
from .models import Construction, described, internal_error, not_followed
from .names import Qual
from .objects import ModuleObj
from .runtime import BreakLoop, ContinueLoop, Frame, GiveUp, Raises, Returned
from .source import bound_names, globals_declared, read_definition
from .values import UNKNOWN, Args, ClassInfo, MethodOf, Scope

CALL_SITE = "call-site"


@dataclass(frozen=True)
class Raised:
    """A build whose construction surely raises: its class is checked on its own instead."""

    model_class: str
    line: int
    reason: str

    @property
    def note(self) -> str:
        return f"building it as the script does (line {self.line}) raises: {self.reason}"


@dataclass(frozen=True)
class ScriptModels:
    """The models a file's top level builds (with the class each builds), and the builds that raise."""

    built: tuple[tuple[str, ModelFacts], ...]
    raised: tuple[Raised, ...] = ()

    @property
    def models(self) -> tuple[ModelFacts, ...]:
        return tuple(facts for _, facts in self.built)

    @property
    def replaced(self) -> frozenset[str]:
        """The classes whose own check the builds replace (a class whose every build raises is checked)."""
        return frozenset(model_class for model_class, _ in self.built)


def script_models(
    path: str, tree: ast.Module, text: str, classes: Sequence[ClassInfo], positions: Positions
) -> ScriptModels:
    """Each construction of one of the file's module ``classes`` at its top level, built and initialised
    as the script does."""
    model_classes = {cls.name for cls in classes if is_module_class(cls)}
    if not _named_outside_classes(tree, positions, model_classes):
        return ScriptModels(())
    sliced = slice_module(tree, model_classes)
    code = script_code(tree, sliced)
    builds = [b for b in code.builds if b.build.model_class in model_classes]
    if not builds:
        return ScriptModels(())
    counts = Counter(b.build.model_class for b in builds)
    rebound = globals_declared(tree) if "global" in text or "nonlocal" in text else set()
    models: list[tuple[str, ModelFacts]] = []
    raised: list[Raised] = []
    for built in builds:
        build = built.build
        name = build.model_class if counts[build.model_class] == 1 else build.label
        at = Span(path, build.line, 1, build.line, 1)
        how = Construction(name, build.line, CALL_SITE, at, kind="factory")  # full mode calls a build function
        result = _build(path, how, built, code.kept, rebound, positions)
        if isinstance(result, Raised):
            raised.append(result)
        else:
            models.append((build.model_class, result))
    return ScriptModels(tuple(models), tuple(raised))


def _named_outside_classes(tree: ast.Module, positions: Positions, names: set[str]) -> bool:
    """Whether one of ``names`` appears in the text outside the top-level classes (a substring will do).

    A build calls its model class by name at the top level (or in the ``main()``
    the main guard calls): a file that names its model classes only inside class
    bodies builds none, and is not sliced (the slice reads every statement).
    """
    start = 0
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
            if _mentions(positions.text[start : positions.offset(node.lineno, 1)], names):
                return True
            start = positions.offset(node.end_lineno + 1, 1)
    return _mentions(positions.text[start:], names)


def _mentions(text: str, names: set[str]) -> bool:
    return any(name in text for name in names)


def _build(
    path: str,
    how: Construction,
    built: BuildCode,
    kept: Sequence[ast.stmt],
    rebound: set[str],
    positions: Positions,
) -> ModelFacts | Raised:
    """One build: the kept statements, its construction, then its init statements."""
    build = built.build
    builder = ScriptBuilder(positions)
    scope = Scope({})
    frame = Frame(scope)
    try:
        builder.run_module(kept, frame)
        for name in rebound:  # a function declaring it global may have changed it
            scope.names[name] = UNKNOWN
        root = _construct(builder, built, frame)  # the models it reads first
    except Raises as error:
        return Raised(build.model_class, build.line, str(error))
    except (GiveUp, RecursionError) as error:
        return not_followed(path, how, error)
    except Exception as error:  # a bug here must cost one model, never the file; the detail says so
        return internal_error(path, how, error)
    return described(path, how, root)


def _construct(builder: ScriptBuilder, built: BuildCode, frame: Frame) -> ModuleObj:
    """A build's model, constructed and initialised as the script does, bound to its variable."""
    for required in built.requires:
        if required.build.variable not in frame.scope.names:
            _construct(builder, required, frame)
    cls = frame.scope.lookup(built.build.model_class)
    if not isinstance(cls, ClassInfo) or not is_module_class(cls):
        raise GiveUp(f"{built.build.model_class} is not the file's module class there", built.construction)
    root = builder.build(cls, builder.arguments(built.construction, frame), built.construction)
    frame.scope.names[built.build.variable] = root
    for statement in built.inits:
        builder.run_statement(statement, frame, lambda s: builder.taint([root], s))
    return root


class ScriptBuilder(Builder):
    """Runs a script's statements and builds its model: argparse answers its defaults, as in full mode."""

    def run_module(self, statements: Sequence[ast.stmt], frame: Frame) -> None:
        """The kept module-level statements in order; what one that cannot be followed binds is unknown."""
        for statement in statements:
            if not read_definition(statement, frame.scope, self, frame):
                self.run_statement(statement, frame, lambda s: self._forget(s, frame))

    def run_statement(self, statement: ast.stmt, frame: Frame, not_followed: Callable[[ast.stmt], None]) -> None:
        """One statement at module level; ``not_followed(statement)`` when it cannot be followed."""
        try:
            self.run_body([statement], frame)
        except (GiveUp, RecursionError, Returned, BreakLoop, ContinueLoop):
            not_followed(statement)

    @staticmethod
    def _forget(statement: ast.stmt, frame: Frame) -> None:
        for name in bound_names(statement):
            frame.scope.names[name] = UNKNOWN

    def attribute(self, value: Any, name: str, node: ast.AST) -> Any:
        if isinstance(value, Parser):
            return MethodOf(value, name)
        return super().attribute(value, name, node)

    def call_qual(self, func: Qual, args: Args, node: ast.Call, frame: Frame) -> Any:
        if is_parser_class(func):
            return Parser()
        if func.name == "argparse.Namespace":
            return namespace(args)
        return super().call_qual(func, args, node, frame)

    def call_method(self, receiver: Any, name: str, args: Args, node: ast.Call, frame: Frame) -> Any:
        if isinstance(receiver, Parser):
            return parser_method(receiver, name, args)
        return super().call_method(receiver, name, args, node, frame)

    def taint(self, values: list[Any], node: ast.AST) -> None:
        for value in values:
            if isinstance(value, Parser):
                value.known = False  # handed to code not followed: what it answers is not known
        super().taint(values, node)
