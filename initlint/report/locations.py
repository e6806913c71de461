"""Where reports say a finding is: ``path:line:column`` (``path:cell N:line:column`` in a notebook), and
for CI formats, the file relative to the repository's root, wherever initlint ran from.

Code scanning and GitHub annotations resolve paths against the repository's
root, so a run from a subdirectory (pre-commit in a monorepo package, a CI job
with `working-directory`) must still name `pkg/models/net.py`, not
`models/net.py`. The root is the nearest directory above the working directory
holding `.git`, else the working directory.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from ..findings import Finding


@cache
def repository_root(cwd: str) -> str:
    directory = cwd
    while True:
        if os.path.exists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return cwd
        directory = parent


def from_root(shown: str) -> str | None:
    """A report's path (as shown: relative to the working directory, or absolute) relative to the
    repository's root, in POSIX form; None when the file lies outside it."""
    cwd = os.getcwd()
    root = repository_root(cwd)
    absolute = os.path.normpath(os.path.join(cwd, shown))
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:  # another drive on Windows
        return None
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return Path(relative).as_posix()


def place(f: Finding) -> str:
    """``path:line:column``; in a notebook ``path:cell 3:5:9``, the line within the cell, as ruff writes it."""
    cell = f"cell {f.cell}:" if f.cell is not None else ""
    return f"{f.path}:{cell}{f.line}:{f.column}"
