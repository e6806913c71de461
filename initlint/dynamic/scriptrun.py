"""Running a file as a script with no arguments: ``sys.argv`` is the file, argparse answers its defaults.

Training scripts parse their command line at module level; the slice that
builds their models (``shared.scripts``) keeps ``opt = parser.parse_args()``
when a model reads ``opt``. Run from initlint, it would parse initlint's own
argv, and a ``required=True`` flag the model never reads (``--dataset``)
would stop it. Here every parser returns its defaults, required arguments
as None, and never exits.
"""

from __future__ import annotations

import argparse
import ast
import linecache
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..discover import analysed_text
from ..notebook import is_notebook
from ..shared.positions import lines_with_breaks
from ..shared.scripts import program, slice_module


def script_program(path: str, data: bytes, classes: Sequence[str]) -> ast.Module:
    """What to execute of a script (or a notebook's cells): its slice building the models of ``classes``."""
    tree = ast.parse(analysed_text(path, data))
    return program(tree, slice_module(tree, set(classes)))


def show_notebook_source(path: str, data: bytes) -> None:
    """Make ``linecache`` read a notebook as the source its code is compiled from, not as its JSON: the
    columns of recorded inits and the lines of tracebacks come from it. No modification time: never reread."""
    if is_notebook(path):
        lines = [line.rstrip("\r\n") + "\n" for line in lines_with_breaks(analysed_text(path, data))]
        linecache.cache[path] = (len(data), None, lines, path)


def _defaults(
    parser: argparse.ArgumentParser, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
) -> tuple[argparse.Namespace, list[str]]:
    """``parse_known_args`` as if the command line were empty and nothing were required."""
    namespace = namespace if namespace is not None else argparse.Namespace()
    for action in parser._actions:
        if action.dest == argparse.SUPPRESS or hasattr(namespace, action.dest):
            continue
        value: Any = None if action.required else action.default
        if isinstance(value, str):
            try:  # argparse passes string defaults through the argument's type
                value = parser._get_value(action, value)
            except (argparse.ArgumentError, TypeError, ValueError):
                pass
        setattr(namespace, action.dest, value)
    for dest, value in parser._defaults.items():
        if not hasattr(namespace, dest):
            setattr(namespace, dest, value)
    return namespace, []


@contextmanager
def no_arguments(path: str) -> Iterator[None]:
    """While it lasts, the process looks like ``python <path>`` run with no arguments."""
    argv = sys.argv
    methods = {
        name: getattr(argparse.ArgumentParser, name)
        for name in ("parse_known_args", "parse_known_intermixed_args")
        if hasattr(argparse.ArgumentParser, name)
    }
    sys.argv = [path]
    for name in methods:
        setattr(argparse.ArgumentParser, name, _defaults)
    try:
        yield
    finally:
        sys.argv = argv
        for name, method in methods.items():
            setattr(argparse.ArgumentParser, name, method)
