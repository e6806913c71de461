"""The Python API, and the one place the pipeline is strung together: plan -> analyse -> judge.

``check_paths`` is what ``initlint check`` runs (the CLI renders its report);
``check_model`` judges one model built in this process, from your own tests.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .analyse import Progress, analyse_builds, analyse_sources
from .cache import Cache
from .findings import Finding
from .judge import PathDisplay, judge
from .options import Options
from .plan import plan_builds, screen_paths
from .report.model import Report
from .shared.facts import FileFacts


def check_paths(paths: Sequence[str], options: Options | None = None, progress: Progress | None = None) -> Report:
    """Check every model under ``paths`` (and the configured entries): what ``initlint check PATHS`` computes."""
    options = options or Options()
    cache = Cache(options.cache_dir) if options.cache_dir else None
    screened = screen_paths(paths, options, cache)
    if options.static:
        analysed = analyse_sources(screened, options.jobs)
    else:
        analysed = analyse_builds(plan_builds(screened, options, cache), options, cache, progress)
    report = judge([*analysed, *screened.unlisted], options, PathDisplay.of(screened.sources, options.root), cache)
    return replace(report, missing=screened.missing, notes=screened.notes)


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
    assert facts is not None  # without accept_other, what is not a module is an error, never None
    report = judge([FileFacts(path, (facts,))], options, PathDisplay.of([]))
    return list(report.findings)


def check_source(text: str, path: str, options: Options | None = None) -> Report:
    """Check a buffer that is not (yet) on disk, as if it were the file at ``path``: from its source
    alone (static mode), as editors and ``initlint check - --stdin-filename PATH`` need it."""
    from .analyse import analyse_source

    options = options or Options()
    absolute = os.path.abspath(path)
    facts = analyse_source(absolute, text)
    shown = PathDisplay({os.path.normcase(absolute): path}, os.getcwd(), options.root or os.getcwd())
    report = judge([facts], options, shown)
    return replace(report, digests={})  # nothing on disk was analysed: nothing may be fixed
