"""What git ignores: a directory walk skips it, as ruff does (``--no-respect-gitignore`` turns it off).

Git itself answers (``git ls-files --others --ignored --exclude-standard``), once
per repository, so every rule of .gitignore files, ``.git/info/exclude`` and the
global excludes file is honoured exactly; outside a repository, or without git,
nothing is ignored. Files named on the command line are checked even if ignored.
"""

from __future__ import annotations

import os
import subprocess


class GitIgnored:
    """A predicate: whether git ignores a path (a file or directory) of a repository."""

    def __init__(self) -> None:
        self._tops: dict[str, str | None] = {}  # directory -> its repository's top level
        self._ignored: dict[str, frozenset[str]] = {}  # top level -> ignored paths relative to it

    def __call__(self, path: str) -> bool:
        absolute = os.path.abspath(path)
        top = self._top(os.path.dirname(absolute))
        if top is None:
            return False
        ignored = self._ignored_in(top)
        relative = os.path.relpath(absolute, top).replace(os.sep, "/")
        return relative in ignored or f"{relative}/" in ignored

    def _top(self, directory: str) -> str | None:
        if directory not in self._tops:
            found = _git(directory, "rev-parse", "--show-toplevel")
            self._tops[directory] = os.path.abspath(found.strip()) if found else None
        return self._tops[directory]

    def _ignored_in(self, top: str) -> frozenset[str]:
        if top not in self._ignored:
            listed = _git(top, "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory")
            self._ignored[top] = frozenset(p for p in (listed or "").split("\0") if p)
        return self._ignored[top]


def _git(directory: str, *arguments: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", directory, *arguments], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
