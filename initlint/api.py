"""The Python API: check a model from your own tests or a notebook."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from typing import Any

from .engine import Options, Report, _Paths, judge
from .engine import check_paths as _check_paths
from .findings import Finding
from .shared.facts import FileFacts


def check_model(factory: Callable[[], Any], options: Options | None = None) -> list[Finding]:
    """Build a model (a class or zero-argument callable), record its init, trace it, judge it.

    Runs in this process: a model that hangs or crashes here does so in your
    test, as the model itself would. Returns the findings, most important first.
    """
    from .dynamic.analyze import analyze_model  # imports torch

    options = options or Options()
    try:
        path = os.path.abspath(inspect.getsourcefile(factory) or "<unknown>")
        line = inspect.getsourcelines(factory)[1]
    except (TypeError, OSError):
        path, line = "<unknown>", 0
    name = getattr(factory, "__qualname__", getattr(factory, "__name__", type(factory).__name__))
    facts = analyze_model(path, name, line, factory, [path], device=options.device)
    report = judge([FileFacts(path, (facts,))], options, _Paths([]))
    return list(report.findings)


def check_paths(paths: Sequence[str], options: Options | None = None) -> Report:
    """What ``initlint check PATHS`` computes, as data."""
    return _check_paths(paths, options or Options())
