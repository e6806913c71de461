"""Import the user's project files from the bytes just read, and remember which bytes ran.

Python's own loader runs a cached ``.pyc`` when the source's size and mtime
match, so an edit that keeps both runs the old code while we report (and fix)
the new; and it writes ``__pycache__`` into the user's tree. Project files
(not the stdlib, site-packages, torch or initlint) are therefore compiled
from bytes read once and hashed; the (path, sha256) of each is recorded, the
facts of a file being valid only while all of them are unchanged.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from types import CodeType, ModuleType

from ..fix.apply import digest
from .record import CodeMap


class ProjectImports:
    """This process's imports of project files: a finder before Python's path finder, and what it loaded."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loaded: list[tuple[str, str]] = []  # (absolute path, sha256), in import order
        self._pinned: dict[str, bytes] = {}
        self._programs: dict[str, ast.Module] = {}
        self._reported = 0
        self._code = CodeMap()

    def pin(self, path: str, data: bytes, program: ast.Module | None = None) -> None:
        """Run ``path`` from ``data`` (bytes already read and digested), whenever it is imported;
        with ``program``, run that instead (a script's slice), recorded as the same bytes."""
        self._pinned[os.path.abspath(path)] = data
        if program is not None:
            self._programs[os.path.abspath(path)] = program

    def code(self, path: str) -> CodeType:
        """The code object to execute for ``path``."""
        data = self.read(path)
        program = self._programs.get(path)
        return compile(program if program is not None else data, path, "exec", dont_inherit=True)

    def read(self, path: str) -> bytes:
        """The bytes to run for ``path``, recorded as loaded."""
        data = self._pinned.get(path)
        if data is None:
            with open(path, "rb") as handle:
                data = handle.read()
        self.loaded.append((path, digest(data)))
        return data

    def new(self) -> list[tuple[str, str]]:
        """What was loaded since the last call."""
        fresh, self._reported = self.loaded[self._reported :], len(self.loaded)
        return fresh

    def spec(self, name: str, path: str, search: list[str] | None = None) -> ModuleSpec | None:
        path = os.path.abspath(path)
        return importlib.util.spec_from_file_location(
            name, path, loader=_ProjectLoader(name, path, self), submodule_search_locations=search
        )

    # -- importlib's MetaPathFinder protocol --

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> ModuleSpec | None:
        found = PathFinder.find_spec(name, path, target)
        if found is None or not isinstance(found.loader, SourceFileLoader) or not found.origin:
            return None  # not ours: the finders after this one decide, as if we were not here
        if self._code.classify(found.origin)[0] != "user":
            return None
        return self.spec(name, found.origin, found.submodule_search_locations)


class _ProjectLoader(SourceFileLoader):
    """Compiles from the bytes ``ProjectImports.read`` returns; never reads or writes bytecode."""

    def __init__(self, name: str, path: str, imports: ProjectImports):
        super().__init__(name, path)
        self._imports = imports

    def get_code(self, fullname: str) -> CodeType:
        return self._imports.code(self.path)


_installed: ProjectImports | None = None


def project_imports() -> ProjectImports:
    """This process's ``ProjectImports``, put in ``sys.meta_path`` on first use, just before Python's
    path finder (finders placed earlier, such as editable installs', keep their precedence).

    A forked child gets its own: what its parent loaded is not its record.
    """
    global _installed
    if _installed is None or _installed.pid != os.getpid():
        if _installed in sys.meta_path:
            sys.meta_path.remove(_installed)
        _installed = ProjectImports()
        position = sys.meta_path.index(PathFinder) if PathFinder in sys.meta_path else len(sys.meta_path)
        sys.meta_path.insert(position, _installed)
    return _installed


def forget_project_imports() -> None:
    """Take this process's finder out of ``sys.meta_path``: the next file run here gets a record of its own."""
    global _installed
    if _installed is not None and _installed in sys.meta_path:
        sys.meta_path.remove(_installed)
    _installed = None


def forget_project_modules() -> None:
    """Drop the project's modules this process has (a parent's, inherited through fork), so that
    files import afresh, from their bytes of now. torch and other libraries stay: they cannot be
    imported twice."""
    code = CodeMap()
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if name != "__main__" and isinstance(filename, str) and code.classify(filename)[0] == "user":
            del sys.modules[name]
