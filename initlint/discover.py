"""Find the Python files to check and, without importing them, which may hold models.

A file is imported only if it defines a class with a base class that could be
an ``nn.Module`` (anything but ``object``, exceptions, enums and the like).
Files that cannot be read or parsed are reported here, before any import.
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import hashlib
import io
import os
import stat
import tokenize
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from .notebook import NotebookError, is_notebook, parse_notebook
from .shared.facts import AnalysisProblem, ProblemKind, Span
from .shared.positions import line_at_byte
from .shared.scripts import Build, does_work, imported_names, slice_module

SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", "build", "dist", ".venv", "venv", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules", ".eggs", "site-packages",
    ".initlint_cache", ".ipynb_checkpoints",
})  # fmt: skip

# Bases that make a class certainly not a model.
_NOT_MODULE_BASES = frozenset({
    "object", "Exception", "BaseException", "Enum", "IntEnum", "StrEnum", "Flag", "IntFlag",
    "NamedTuple", "TypedDict", "Protocol", "ABC", "Generic", "dict", "list", "tuple", "str",
    "int", "float", "set", "frozenset", "type", "ABCMeta", "unittest.TestCase", "TestCase",
})  # fmt: skip


@dataclass(frozen=True)
class SourceFile:
    path: str  # absolute
    display: str  # as the user named it


def _is_virtualenv(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "pyvenv.cfg"))


def excluded_by(path: str, patterns: Iterable[str], root: str) -> bool:
    """Whether a glob excludes ``path`` or a directory above it, however the path was spelled (``legacy/a.py``,
    ``./legacy/a.py``, absolute, ``../legacy/a.py`` from a subdirectory): a bare name (``legacy``,
    ``*_old.py``) matches any part of the path below ``root``; a glob with a directory part
    (``legacy/``, ``src/*/gen``) matches the path relative to ``root``, the configuration's directory."""
    absolute = os.path.abspath(path)
    base = os.path.abspath(root or os.getcwd())
    relative = os.path.relpath(absolute, base)
    inside = relative != os.pardir and not relative.startswith(os.pardir + os.sep)
    parts = relative.split(os.sep) if inside else [os.path.basename(absolute)]
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" not in pattern:
            if any(fnmatch.fnmatch(part, pattern) for part in parts):
                return True
            continue
        anchored = os.path.normpath(pattern if os.path.isabs(pattern) else os.path.join(base, pattern))
        candidate = absolute
        while True:
            if fnmatch.fnmatch(candidate, anchored):
                return True
            parent = os.path.dirname(candidate)
            if parent == candidate:
                break
            candidate = parent
    return False


# Tooling files a directory walk never collects: importing them runs the tool (setuptools reads
# initlint's argv). Named on the command line, they are checked like any file.
TOOLING_FILES = frozenset({"setup.py", "conftest.py", "noxfile.py", "fabfile.py", "dodo.py"})


@dataclass
class Selection:
    """What the paths given on the command line select."""

    files: list[SourceFile] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # paths that do not exist
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (directory as shown, why it cannot be listed)
    notes: list[str] = field(default_factory=list)  # what was skipped and why, one line each


def _nothing_excluded(path: str) -> bool:
    return False


def collect_files(
    paths: Iterable[str],
    excluded: Callable[[str], bool] = _nothing_excluded,
    ignored: Callable[[str], bool] = _nothing_excluded,
) -> Selection:
    """The Python files under the paths, and what could not be looked at.

    Directories are walked recursively, skipping VCS folders, caches,
    virtualenvs, build output, tooling files (``setup.py``, ``conftest.py``)
    and anything ``excluded`` says (``excluded_by`` the globs of the path's
    configuration) or ``ignored`` (by git) says. A file named explicitly is
    checked unless excluded, even if git ignores it. Only
    regular files are read: a FIFO or device named ``*.py`` would block.
    """
    selection = Selection()
    seen: set[str] = set()

    def add(path: str, display: str) -> None:
        real = os.path.normcase(os.path.realpath(path))
        if real in seen:
            return
        seen.add(real)
        if not _is_regular(path):
            selection.notes.append(f"{display}: not a regular file, skipped")
            return
        selection.files.append(SourceFile(os.path.abspath(path), display))

    def unreadable(error: OSError) -> None:
        selection.unreadable.append((str(error.filename), f"cannot read directory: {error.strerror}"))

    for given in paths:
        if not os.path.exists(given):
            selection.missing.append(given)
        elif os.path.isdir(given):
            for path, display in _walk(given, lambda p: excluded(p) or ignored(p), unreadable):
                add(path, display)
        elif not excluded(given):
            add(given, given)
    return selection


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # reading it will say what is wrong


def project_files(root: str, excluded: Callable[[str], bool], suffixes: tuple[str, ...]) -> Iterator[str]:
    """The files under ``root`` whose names end with one of ``suffixes``, skipping what ``collect_files``
    skips (VCS folders, caches, virtualenvs, build output, ``excluded``)."""
    for path, _ in _walk(root, excluded, lambda error: None, lambda name: name.endswith(suffixes)):
        yield path


def _checked_name(name: str) -> bool:
    return (name.endswith(".py") or is_notebook(name)) and name not in TOOLING_FILES


def _walk(
    root: str,
    excluded: Callable[[str], bool],
    onerror: Callable[[OSError], None],
    wanted: Callable[[str], bool] = _checked_name,
) -> Iterator[tuple[str, str]]:
    for directory, dirnames, filenames in os.walk(root, onerror=onerror):
        kept = []
        for d in sorted(dirnames):
            full = os.path.join(directory, d)
            if d in SKIPPED_DIRS or d.endswith(".egg-info") or _is_virtualenv(full) or excluded(full):
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            full = os.path.normpath(os.path.join(directory, name))
            if wanted(name) and not excluded(full):
                yield full, full


@dataclass(frozen=True)
class Screening:
    """What reading a file without importing it tells."""

    candidates: tuple[tuple[str, int], ...] = ()  # (class name, line)
    # Functions whose returns are all calls: (name, line, callees, callable with no arguments)
    builders: tuple[tuple[str, int, tuple[str, ...], bool], ...] = ()
    imports: tuple[tuple[str, int, str], ...] = ()  # from <module> (<level> dots) import <name>; import <module>
    libraries: tuple[str, ...] = ()  # names bound by imports from model libraries (nn, torchvision, timm...)
    digest: str = ""  # sha256 of the bytes screened
    problem: AnalysisProblem | None = None
    text: str = ""
    # Models built at the top level (calls of local model classes or of imported capitalised names:
    # the plan keeps those it knows to be models), and whether importing the file does work
    # (loops, entry-point calls): either way the file is run as a slice (``shared.scripts``).
    builds: tuple[Build, ...] = ()
    works: bool = False


def decode_source(data: bytes) -> str:
    """Decode like Python does (BOM, coding cookie, UTF-8); UnicodeDecodeError/SyntaxError on failure."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def _library_names(tree: ast.Module) -> set[str]:
    """Names the module binds to things imported from model libraries: ``nn``, ``models``, ``timm``."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names
                      if a.name.split(".")[0] in _MODEL_LIBRARIES}  # fmt: skip
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in _MODEL_LIBRARIES:
                names |= {a.asname or a.name for a in node.names}
    return names


def _could_be_module(base: ast.expr) -> bool:
    try:
        name = ast.unparse(base)
    except Exception:
        return True
    return name not in _NOT_MODULE_BASES and name.rpartition(".")[2] not in _NOT_MODULE_BASES


@functools.lru_cache(maxsize=4)
def _parsed(path: str, text: str) -> ast.Module:
    return ast.parse(text, filename=path)


class Unparsable(Exception):
    """A file Python cannot parse (a syntax error, null bytes, absurd nesting): its problem, for IL901."""

    def __init__(self, problem: AnalysisProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def parse_source(path: str, text: str) -> ast.Module:
    """``ast.parse`` of a file's text; ``Unparsable`` with the file's problem when Python cannot parse it.

    The tree is shared (never change it): the last few are kept, so planning a file's fixes right after
    its analysis does not parse it again."""
    try:
        return _parsed(path, text)
    except SyntaxError as error:
        line = error.lineno or 1
        column = error.offset or 1
        span = Span(path, line, column, line, column)
        raise Unparsable(AnalysisProblem(ProblemKind.SYNTAX_ERROR, f"syntax error: {error.msg}", span)) from None
    except ValueError as error:  # null bytes
        problem = AnalysisProblem(ProblemKind.SYNTAX_ERROR, f"syntax error: {error}", Span(path, 1, 1, 1, 1))
        raise Unparsable(problem) from None
    except (RecursionError, MemoryError):  # Python's own compiler gives up on it too
        problem = AnalysisProblem(
            ProblemKind.SYNTAX_ERROR,
            "cannot parse: expressions nested too deeply for Python's parser",
            Span(path, 1, 1, 1, 1),
        )
        raise Unparsable(problem) from None


def analysed_text(path: str, data: bytes) -> str:
    """The Python initlint analyses in a file: its text, or a notebook's source (``notebook``: its code
    cells, with the lines of each). UnicodeDecodeError, SyntaxError, LookupError or NotebookError on failure."""
    text = decode_source(data)
    return parse_notebook(text).source if is_notebook(path) else text


def read_source(path: str, data: bytes) -> Screening:
    """A file's text and digest, or why its bytes cannot be decoded; not parsed (a notebook's cells are:
    each must parse alone, as Jupyter runs it).

    What static mode needs: it parses and analyses each file itself, once (``static.analyze_source``).
    """
    try:
        text = decode_source(data)
    except (UnicodeDecodeError, SyntaxError, LookupError) as error:
        line = line_at_byte(data, error.start) if isinstance(error, UnicodeDecodeError) else 1
        return Screening(
            problem=AnalysisProblem(
                ProblemKind.DECODE_ERROR, _decode_message(error, data), Span(path, line, 1, line, 1)
            )
        )
    if is_notebook(path):
        return _read_notebook(path, text, hashlib.sha256(data).hexdigest())
    return Screening(text=text, digest=hashlib.sha256(data).hexdigest())


def _read_notebook(path: str, document: str, digest: str) -> Screening:
    """A notebook's source, or why it cannot be read: not a notebook (IL901 on the file), or a code cell
    Python cannot parse (IL901 at the cell's line, naming the cell)."""
    try:
        notebook = parse_notebook(document)
    except NotebookError as error:
        message = f"cannot read the notebook: {error}"
        problem = AnalysisProblem(ProblemKind.DECODE_ERROR, message, Span(path, 1, 1, 1, 1))
        return Screening(problem=problem, digest=digest)
    broken = notebook.syntax_error()
    if broken is not None:
        cell, syntax = broken
        line = cell.first_line + max(syntax.lineno or 1, 1) - 1
        column = max(syntax.offset or 1, 1)
        span = Span(path, line, column, line, column)
        problem = AnalysisProblem(ProblemKind.SYNTAX_ERROR, f"syntax error in cell {cell.number}: {syntax.msg}", span)
        return Screening(problem=problem, text=notebook.source, digest=digest)
    return Screening(text=notebook.source, digest=digest)


def screen(path: str, data: bytes) -> Screening:
    """Parse a file and list the classes that may be models."""
    read = read_source(path, data)
    if read.problem is not None:
        return read
    try:
        tree = parse_source(path, read.text)
    except Unparsable as unparsable:
        return Screening(problem=unparsable.problem, text=read.text)
    try:
        return _screen_tree(tree, read.text, read.digest)
    except RecursionError:
        problem = AnalysisProblem(
            ProblemKind.SYNTAX_ERROR, "cannot analyse: expressions nested too deeply", Span(path, 1, 1, 1, 1)
        )
        return Screening(problem=problem, text=read.text)


def _screen_tree(tree: ast.Module, text: str, digest: str) -> Screening:
    candidates = tuple(
        (node.name, node.lineno)
        for node in tree.body
        if isinstance(node, ast.ClassDef) and any(_could_be_module(b) for b in node.bases)
    )
    builders = tuple(
        (node.name, node.lineno, callees, callable_with_no_arguments(node))
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for callees in [return_callees(node)]
        if callees is not None
    )
    imports = tuple(
        (node.module or "", node.level, alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ) + tuple((alias.name, 0, "") for node in tree.body if isinstance(node, ast.Import) for alias in node.names)
    maybe_models = {name for name, _ in candidates} | {n for n in imported_names(tree) if n[:1].isupper()}
    return Screening(
        candidates=candidates,
        builders=builders,
        imports=imports,
        libraries=tuple(sorted(_library_names(tree))),
        text=text,
        digest=digest,
        builds=slice_module(tree, maybe_models).builds,
        works=does_work(tree),
    )


def project_roots(path: str, configured: str = "") -> list[str]:
    """Where a project's scripts import its own packages from: the directory of the nearest
    pyproject.toml above ``path``, the configured root (when ``path`` is inside it), the git root."""
    roots = []
    directory = os.path.dirname(os.path.abspath(path))
    pyproject = _nearest(directory, "pyproject.toml")
    if pyproject:
        roots.append(pyproject)
    if configured and os.path.abspath(path).startswith(os.path.join(os.path.abspath(configured), "")):
        roots.append(os.path.abspath(configured))
    git = _nearest(directory, ".git")
    if git:
        roots.append(git)
    return list(dict.fromkeys(roots))


def _nearest(directory: str, marker: str) -> str | None:
    while True:
        if os.path.exists(os.path.join(directory, marker)):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def local_module(path: str, module: str, level: int) -> str | None:
    """The file ``from <module> import ...`` in ``path`` refers to, if it is a local file."""
    directory = os.path.dirname(path)
    for _ in range(max(level - 1, 0)):
        directory = os.path.dirname(directory)
    parts = module.split(".") if module else []
    bases = [directory] if level else [directory, os.getcwd()]
    for base in bases:
        for candidate in (os.path.join(base, *parts) + ".py", os.path.join(base, *parts, "__init__.py")):
            if parts and os.path.isfile(candidate):
                return os.path.abspath(candidate)
    return None


# Zero-argument functions that are entry points, not model builders: never call them.
_NOT_FACTORIES = frozenset({"main", "cli", "run", "train", "evaluate", "setup", "app"})
# Libraries whose capitalised names construct modules (nn.Sequential, torchvision's ResNet) and whose
# model zoos build them (torchvision.models.resnet18, timm.create_model).
_MODEL_LIBRARIES = frozenset({"torch", "torchvision", "timm", "transformers", "torchaudio", "diffusers"})


def return_callees(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...] | None:
    """The dotted names every return of a function calls to make its result (directly, or through a
    variable assigned from calls), ``("<annotated>",)`` when its return annotation names a Module;
    None when some return is not a call."""
    if node.returns is not None and "Module" in ast.unparse(node.returns):
        return ("<annotated>",)
    assigned: dict[str, list[str]] = {}
    for statement in ast.walk(node):
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(ast.unparse(statement.value.func))
    callees: list[str] = []
    returns = [r.value for r in _own_returns(node)]
    if not returns:
        return None
    for value in returns:
        if isinstance(value, ast.Call):
            callees.append(ast.unparse(value.func))
        elif isinstance(value, ast.Name) and value.id in assigned:
            callees.extend(assigned[value.id])
        else:
            return None
    return tuple(callees)


def callable_with_no_arguments(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether initlint may call a function as a model factory, if it builds one: public, not an entry
    point, no required argument, undecorated or registered in a model registry, and not a helper
    that passes its ``*args`` on (its result needs them)."""
    if isinstance(node, ast.AsyncFunctionDef) or node.name.startswith(("_", "test")) or node.name in _NOT_FACTORIES:
        return False
    if not all(_is_registry(d) for d in node.decorator_list):
        return False
    args = node.args
    if args.posonlyargs or len(args.defaults) < len(args.args) or any(d is None for d in args.kw_defaults):
        return False
    forwarded = args.vararg is not None and any(
        isinstance(n, ast.Starred) and isinstance(n.value, ast.Name) and n.value.id == args.vararg.arg
        for n in ast.walk(node)
    )
    return not forwarded


def _is_registry(decorator: ast.expr) -> bool:
    """``@register_model``, ``@MODELS.register_module()``, ``@registry.register("name")``."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    try:
        return "register" in ast.unparse(target).rpartition(".")[2].lower()
    except Exception:
        return False


def _builds_model(callee: str, known: set[str], libraries: set[str]) -> bool:
    """A project model class or model builder, or a module or zoo model of a model library."""
    if callee == "<annotated>":
        return True
    root, last = callee.partition(".")[0], callee.rpartition(".")[2]
    if last in known:
        return True
    return root in libraries and (last[:1].isupper() or ".models." in f".{callee}" or last == "create_model")


def model_factories(
    builders: dict[tuple[str, str], tuple[str, ...]],
    callable_: set[tuple[str, str]],
    known: set[str],
    libraries: dict[str, set[str]],
) -> set[tuple[str, str]]:
    """Which (path, function)s initlint may call as model factories.

    ``builders`` maps every function whose returns are all calls to its callees;
    a function builds a model when all of them do (a fixed point: ``def
    small(): return resnet18()`` counts once ``resnet18`` does, and private
    helpers such as ``_create_resnet(...)`` count as builders); of those, only
    the ones in ``callable_`` are ever called. ``known`` are the project's model
    classes, ``libraries`` the names each file imports from model libraries.
    """
    found: set[tuple[str, str]] = set()
    while True:
        names = known | {name for _, name in found}
        more = {
            key
            for key, callees in builders.items()
            if key not in found and all(_builds_model(c, names, libraries.get(key[0], set())) for c in callees)
        }
        if not more:
            return found & callable_
        found |= more


def _own_returns(node: ast.AST) -> Iterator[ast.Return]:
    """Return statements of this function, not of functions nested in it."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Return):
            yield child
        elif not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            yield from _own_returns(child)


def _decode_message(error: Exception, data: bytes) -> str:
    if isinstance(error, UnicodeDecodeError):
        line = line_at_byte(data, error.start)
        return (
            f"cannot decode file as {error.encoding}: byte 0x{data[error.start]:02x} on line {line} "
            "(declare the encoding or save as UTF-8)"
        )
    return f"cannot decode file: {error}"
