"""Find the Python files to check and, without importing them, which may hold models.

A file is imported only if it defines a class with a base class that could be
an ``nn.Module`` (anything but ``object``, exceptions, enums and the like).
Files that cannot be read or parsed are reported here, before any import.
"""

from __future__ import annotations

import ast
import fnmatch
import hashlib
import io
import os
import stat
import tokenize
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from .shared.facts import AnalysisProblem, ProblemKind, Span
from .shared.positions import line_at_byte

SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", "build", "dist", ".venv", "venv", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules", ".eggs", "site-packages",
    ".initlint_cache",
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


def _excluded(path: str, display: str, patterns: Iterable[str]) -> bool:
    name = os.path.basename(path.rstrip(os.sep))
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(display, pattern):
            return True
        if fnmatch.fnmatch(display, pattern.lstrip("./") + "/*") or fnmatch.fnmatch(
            os.path.normpath(display), os.path.normpath(pattern)
        ):
            return True
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


def collect_files(paths: Iterable[str], exclude: Iterable[str] = ()) -> Selection:
    """The Python files under the paths, and what could not be looked at.

    Directories are walked recursively, skipping VCS folders, caches,
    virtualenvs, build output, tooling files (``setup.py``, ``conftest.py``)
    and anything matching an ``exclude`` glob (on the name or the path as
    shown). A file named explicitly is always checked unless excluded. Only
    regular files are read: a FIFO or device named ``*.py`` would block.
    """
    patterns = list(exclude)
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
            for path, display in _walk(given, patterns, unreadable):
                add(path, display)
        elif not _excluded(given, given, patterns):
            add(given, given)
    return selection


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # reading it will say what is wrong


def _walk(root: str, patterns: list[str], onerror: Callable[[OSError], None]) -> Iterator[tuple[str, str]]:
    for directory, dirnames, filenames in os.walk(root, onerror=onerror):
        kept = []
        for d in sorted(dirnames):
            full = os.path.join(directory, d)
            if d in SKIPPED_DIRS or d.endswith(".egg-info") or _is_virtualenv(full) or _excluded(full, full, patterns):
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            full = os.path.normpath(os.path.join(directory, name))
            if name.endswith(".py") and name not in TOOLING_FILES and not _excluded(full, full, patterns):
                yield full, full


@dataclass(frozen=True)
class Screening:
    """What reading a file without importing it tells."""

    candidates: tuple[tuple[str, int], ...] = ()  # (class name, line)
    functions: tuple[tuple[str, int, tuple[str, ...]], ...] = ()  # possible factories: (name, line, callees)
    imports: tuple[tuple[str, int, str], ...] = ()  # from <module> (<level> dots) import <name>; import <module>
    digest: str = ""  # sha256 of the bytes screened
    problem: AnalysisProblem | None = None
    text: str = ""


def decode_source(data: bytes) -> str:
    """Decode like Python does (BOM, coding cookie, UTF-8); UnicodeDecodeError/SyntaxError on failure."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def _could_be_module(base: ast.expr) -> bool:
    try:
        name = ast.unparse(base)
    except Exception:
        return True
    return name not in _NOT_MODULE_BASES and name.rpartition(".")[2] not in _NOT_MODULE_BASES


def screen(path: str, data: bytes) -> Screening:
    """Parse a file and list the classes that may be models."""
    try:
        text = decode_source(data)
    except (UnicodeDecodeError, SyntaxError, LookupError) as error:
        line = line_at_byte(data, error.start) if isinstance(error, UnicodeDecodeError) else 1
        return Screening(
            problem=AnalysisProblem(
                ProblemKind.DECODE_ERROR, _decode_message(error, data), Span(path, line, 1, line, 1)
            )
        )
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as error:
        line = error.lineno or 1
        column = error.offset or 1
        message = f"syntax error: {error.msg}"
        return Screening(
            problem=AnalysisProblem(ProblemKind.SYNTAX_ERROR, message, Span(path, line, column, line, column)),
            text=text,
        )
    except ValueError as error:  # null bytes
        return Screening(
            problem=AnalysisProblem(ProblemKind.SYNTAX_ERROR, f"syntax error: {error}", Span(path, 1, 1, 1, 1)),
            text=text,
        )
    except (RecursionError, MemoryError):  # Python's own compiler gives up on it too
        problem = AnalysisProblem(
            ProblemKind.SYNTAX_ERROR,
            "cannot parse: expressions nested too deeply for Python's parser",
            Span(path, 1, 1, 1, 1),
        )
        return Screening(problem=problem, text=text)
    try:
        return _screen_tree(tree, text, data)
    except RecursionError:
        problem = AnalysisProblem(
            ProblemKind.SYNTAX_ERROR, "cannot analyse: expressions nested too deeply", Span(path, 1, 1, 1, 1)
        )
        return Screening(problem=problem, text=text)


def _screen_tree(tree: ast.Module, text: str, data: bytes) -> Screening:
    candidates = tuple(
        (node.name, node.lineno)
        for node in tree.body
        if isinstance(node, ast.ClassDef) and any(_could_be_module(b) for b in node.bases)
    )
    functions = tuple(
        (node.name, node.lineno, callees)
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for callees in [factory_callees(node)]
        if callees is not None
    )
    imports = tuple(
        (node.module or "", node.level, alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    ) + tuple((alias.name, 0, "") for node in tree.body if isinstance(node, ast.Import) for alias in node.names)
    return Screening(
        candidates=candidates, functions=functions, imports=imports, text=text, digest=hashlib.sha256(data).hexdigest()
    )


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


def factory_callees(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...] | None:
    """What a possible ``def resnet18(): return ResNet(...)`` builds its result with.

    Calling a function runs arbitrary code, so only plain, undecorated, public
    functions with no required argument qualify, whose every return is a call
    or a variable assigned from calls. Returns the callees' dotted names (or
    ``("<annotated>",)`` when the return annotation names a Module); None
    when the function cannot be a factory. ``model_factories`` decides.
    """
    if isinstance(node, ast.AsyncFunctionDef) or node.decorator_list:
        return None
    if node.name.startswith(("_", "test")) or node.name in _NOT_FACTORIES:
        return None
    args = node.args
    if args.posonlyargs or len(args.defaults) < len(args.args) or any(d is None for d in args.kw_defaults):
        return None
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


def _builds_model(callee: str, known: set[str]) -> bool:
    """A class-like name, a known model builder, or a model zoo (``torchvision.models.resnet18``)."""
    last = callee.rpartition(".")[2]
    return callee == "<annotated>" or last[:1].isupper() or last in known or ".models." in f".{callee}"


def model_factories(candidates: dict[tuple[str, str], tuple[str, ...]], known: set[str]) -> set[tuple[str, str]]:
    """Which candidate (path, function)s build models, given names known to (classes).

    A fixed point: ``def small(): return resnet18()`` counts once ``resnet18`` does.
    """
    found: set[tuple[str, str]] = set()
    while True:
        names = known | {name for _, name in found}
        more = {
            key
            for key, callees in candidates.items()
            if key not in found and all(_builds_model(c, names) for c in callees)
        }
        if not more:
            return found
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
