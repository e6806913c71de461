"""Call sites elsewhere in the project: the arguments the project's other files give a model class.

A class whose constructor needs arguments has no recipe of its own when the
file that builds it is not checked with it (``initlint check models/``, a
pre-commit hook handed the changed file alone). The project says how it is
built: a training script, a test or an example constructs it (``Net(64)``),
or a code block of the docs does (a fenced ``python`` block in a ``*.md``).
The first such construction whose every argument is a literal gives the
arguments the model is built with (``models[].built_by``: ``call-site
README.md:12``). Nothing is run to find them: the files are read and parsed.

What is found: a call of the class by the name a file imports it under from
its module (``from models.net import Net``, ``from .net import Net as N``)
or through the module (``import models.net as m``; ``m.Net(...)``), with
literal arguments (numbers, strings, booleans, None, and lists, tuples and
dicts of them); positional arguments take the names of the constructor's
parameters in order. A construction whose result the code initialises again
(``model.apply(fn)``, a loop over ``model.modules()``, ``init_weights(model)``)
is passed over: that model is not the one the constructor alone makes, and
it is judged when the file that builds it is checked.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .config import Entry
from .discover import Unparsable, parse_source, project_files, project_roots
from .gitignore import GitIgnored
from .shared.facts import ERROR, SKIPPED, FileFacts, ModelFacts, Span

if TYPE_CHECKING:
    from .options import Options
    from .plan import Screened

CALL_SITE = "call-site"

Target = tuple[str, str]  # (absolute path of the class's file, class name)

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[\w+-]*)")
_PYTHON_BLOCKS = frozenset({"python", "py", "python3"})


@dataclass(frozen=True)
class CallSite:
    """A construction of a model class elsewhere in the project."""

    path: str  # absolute: a Python file, or the Markdown file whose code block holds it
    line: int  # in that file
    kwargs: tuple[tuple[str, Any], ...]  # its arguments, by parameter name


def parameters(tree: ast.Module, name: str) -> tuple[str, ...] | None:
    """The names a top-level class's constructor takes positionally (after ``self``); None when the
    class defines no ``__init__`` of its own (its parameters are a base class's)."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    positional = [*item.args.posonlyargs, *item.args.args][1:]
                    return tuple(arg.arg for arg in positional)
    return None


def find_call_sites(
    targets: Mapping[Target, tuple[str, ...] | None], excluded: Callable[[str], bool], configured_root: str = ""
) -> dict[Target, CallSite]:
    """The first construction with literal arguments of each target class (its parameters given) in the
    project's Python files, else in its Markdown code blocks."""
    found: dict[Target, CallSite] = {}
    names = {name for _, name in targets}
    files = [
        (root, path)
        for root in _roots(targets, configured_root)
        for path in project_files(root, excluded, (".py", ".md"))
    ]
    files.sort(key=lambda entry: entry[1].endswith(".md"))  # Python files first (scripts, tests, examples), then docs
    for root, path in files:
        for text, first_line in _code_of(path):
            if any(name in text for name in names):
                for target, site in _constructions(path, text, first_line, targets, root):
                    found.setdefault(target, site)
        if len(found) == len(targets):
            return found
    return found


def _roots(targets: Mapping[Target, Any], configured_root: str) -> list[str]:
    """The project directories around the targets' files, outermost last."""
    roots = [root for path, _ in targets for root in project_roots(path, configured_root)]
    return list(dict.fromkeys(roots))


def _code_of(path: str) -> Iterator[tuple[str, int]]:
    """(Python source, the line it starts on) of a file: a ``.py`` whole, a Markdown file's python blocks."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return
    if path.endswith(".py"):
        yield text, 1
    else:
        yield from markdown_code_blocks(text)


def markdown_code_blocks(text: str) -> Iterator[tuple[str, int]]:
    """The fenced ``python`` code blocks of a Markdown text: (code, line of its first line)."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        index += 1
        if opening is None:
            continue
        fence = opening["fence"]
        start = index
        while index < len(lines) and not lines[index].lstrip().startswith(fence):
            index += 1
        if opening["info"].lower() in _PYTHON_BLOCKS:
            indent = len(opening["indent"])
            code = [line[indent:] if line[:indent].isspace() else line for line in lines[start:index]]
            yield "\n".join(code) + "\n", start + 1
        index += 1


def _constructions(
    path: str, text: str, first_line: int, targets: Mapping[Target, tuple[str, ...] | None], root: str
) -> Iterator[tuple[Target, CallSite]]:
    try:
        tree = parse_source(path, text) if path.endswith(".py") else ast.parse(text)
    except Exception:  # a file or block that does not parse builds nothing we can read
        return
    directory = os.path.dirname(path)
    known = _normcased(targets)
    called: dict[str, Target] = {}  # a name the code calls the class by -> the class
    modules: dict[str, str] = {}  # a name bound to a module -> its file
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _module_file(node.module or "", node.level, directory, root)
            for alias in node.names:
                if source is not None and (os.path.normcase(source), alias.name) in known:
                    called[alias.asname or alias.name] = known[os.path.normcase(source), alias.name]
                submodule = _module_file(
                    f"{node.module}.{alias.name}" if node.module else alias.name, node.level, directory, root
                )
                if submodule is not None:  # from models import net
                    modules[alias.asname or alias.name] = submodule
        elif isinstance(node, ast.Import):
            for alias in node.names:
                source = _module_file(alias.name, 0, directory, root)
                if source is not None:
                    modules[alias.asname or alias.name] = source
    reinitialised = _reinitialised(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in reinitialised:
            continue
        target = _callee(node.func, called, modules, known)
        if target is None:
            continue
        kwargs = _literal_arguments(node, targets[target])
        if kwargs is not None:
            yield target, CallSite(path, first_line + node.lineno - 1, kwargs)


# What a script does to a model it built that changes its init: it is judged when that script is checked.
_INIT_METHODS = frozenset({"apply", "modules", "named_modules", "parameters", "named_parameters", "init_weights"})


def _reinitialised(tree: ast.Module) -> set[int]:
    """The calls ``x = Call(...)`` whose result the statements after it in the same block initialise
    again (``x.apply(fn)``, a loop over ``x.modules()``, ``init_fn(x)``): their model is not the one the
    constructor alone makes."""
    found: set[int] = set()
    for block in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(block, field, None)
            if not isinstance(statements, list):
                continue
            for index, statement in enumerate(statements):
                if (
                    isinstance(statement, ast.Assign)
                    and isinstance(statement.value, ast.Call)
                    and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)
                    and _initialises(statements[index + 1 :], statement.targets[0].id)
                ):
                    found.add(id(statement.value))
    return found


def _initialises(statements: Sequence[ast.stmt], name: str) -> bool:
    for statement in statements:
        for node in ast.walk(statement):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == name:
                if func.attr in _INIT_METHODS:
                    return True
            callee = _dotted(func) or ""
            handed = any(isinstance(arg, ast.Name) and arg.id == name for arg in node.args)
            if handed and "init" in callee.rpartition(".")[2].lower():
                return True
    return False


def _normcased(targets: Mapping[Target, Any]) -> dict[Target, Target]:
    return {(os.path.normcase(path), name): (path, name) for path, name in targets}


def _callee(
    func: ast.expr, called: Mapping[str, Target], modules: Mapping[str, str], known: Mapping[Target, Target]
) -> Target | None:
    if isinstance(func, ast.Name):
        return called.get(func.id)
    dotted = _dotted(func)
    if dotted is None or "." not in dotted:
        return None
    module, _, name = dotted.rpartition(".")
    source = modules.get(module)
    return known.get((os.path.normcase(source), name)) if source is not None else None


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner is not None else None
    return None


def _literal_arguments(node: ast.Call, parameters: Sequence[str] | None) -> tuple[tuple[str, Any], ...] | None:
    """The call's arguments by name, when every one is a literal and each positional one has a name."""
    if node.args and (parameters is None or len(node.args) > len(parameters)):
        return None
    kwargs: dict[str, Any] = {}
    try:
        for name, value in zip(parameters or (), node.args):
            if isinstance(value, ast.Starred):
                return None
            kwargs[name] = ast.literal_eval(value)
        for keyword in node.keywords:
            if keyword.arg is None:
                return None
            kwargs[keyword.arg] = ast.literal_eval(keyword.value)
    except (ValueError, TypeError, SyntaxError, RecursionError):  # not a literal
        return None
    return tuple(kwargs.items())


def _module_file(module: str, level: int, directory: str, root: str) -> str | None:
    """The project file ``module`` names, imported from a file in ``directory`` of the project at ``root``."""
    base = directory
    for _ in range(max(level - 1, 0)):
        base = os.path.dirname(base)
    parts = module.split(".") if module else []
    bases = [base] if level else [root, os.path.join(root, "src"), directory]
    for start in bases:
        for candidate in (os.path.join(start, *parts) + ".py", os.path.join(start, *parts, "__init__.py")):
            if parts and os.path.isfile(candidate):
                return os.path.abspath(candidate)
    return None


# -- the recipe in a run -------------------------------------------------------------------------


def call_sites_elsewhere(
    files: Iterable[FileFacts], screened: Screened, options: Options
) -> dict[str, dict[str, CallSite]]:
    """For each checked file, its classes skipped for want of constructor arguments (and not built inside
    another model of the run) that a construction elsewhere in the project builds: file -> {class: the
    call site}."""
    files = list(files)
    # A class a model of the run contains (a script's build of it, say) is judged inside that model
    inside = {key for f in files for m in f.models if m.status not in (ERROR, SKIPPED) for key in m.component_classes}
    targets: dict[Target, tuple[str, ...] | None] = {}
    for f in files:
        for model in f.models:
            own_check = model.built_by == "no-arguments" and model.path == f.path
            key = (os.path.normcase(os.path.abspath(f.path)), model.name)
            if (
                model.status == SKIPPED
                and model.needs
                and own_check
                and f.path in screened.readable
                and key not in inside
            ):
                try:
                    tree = parse_source(f.path, screened.readable[f.path].text)
                except Unparsable:
                    continue
                targets[f.path, model.name] = parameters(tree, model.name)
    if not targets:
        return {}
    ignored = GitIgnored() if options.respect_gitignore else None
    found = find_call_sites(
        targets, lambda path: options.excludes(path) or (ignored is not None and ignored(path)), options.root
    )
    by_file: dict[str, dict[str, CallSite]] = {}
    for (path, name), site in sorted(found.items()):
        by_file.setdefault(path, {})[name] = site
    return by_file


def built_as_called(facts: FileFacts, sites: Mapping[str, CallSite]) -> FileFacts:
    """Static mode: a file analysed with its call sites elsewhere as entries (``Entry(path, class,
    kwargs)``), each such model named and labelled as the call site's build."""
    labels = {Entry(facts.path, name, site.kwargs).name: (name, site) for name, site in sites.items()}
    models = []
    for model in facts.models:
        if model.built_by == "config" and model.name in labels:
            name, site = labels[model.name]
            model = _as_called(model, name, site)
        models.append(model)
    return replace(facts, models=tuple(models))


def with_models_built_as_called(facts: FileFacts, rebuilt: FileFacts, sites: Mapping[str, CallSite]) -> FileFacts:
    """Full mode: the file's skipped models replaced by their builds with the call sites' arguments
    (``rebuilt``); a build that failed leaves the model skipped, its detail saying why."""
    built = {model.name: model for model in rebuilt.models}
    models = []
    for model in facts.models:
        site = sites.get(model.name) if model.status == SKIPPED else None
        again = built.get(model.name) if site is not None else None
        if site is not None and again is not None and again.status != ERROR:
            model = _as_called(again, model.name, site)
        elif site is not None:
            why = again.detail if again is not None else rebuilt.problem.message if rebuilt.problem else "not built"
            model = replace(model, detail=f"{model.detail}; built as {_place(site)} builds it: {why}")
        models.append(model)
    return replace(facts, models=tuple(models))


def _as_called(model: ModelFacts, name: str, site: CallSite) -> ModelFacts:
    return replace(model, name=name, built_by=CALL_SITE, built_at=Span(site.path, site.line, 1, site.line, 1))


def _place(site: CallSite) -> str:
    return f"{os.path.relpath(site.path)}:{site.line}"
