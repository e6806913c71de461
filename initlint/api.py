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
from .judge import Judging, PathDisplay, judge
from .options import Options, configured
from .plan import plan_builds, screen_paths
from .report.model import Report
from .shared.facts import FileFacts


def check_paths(paths: Sequence[str], options: Options | None = None, progress: Progress | None = None) -> Report:
    """Check every model under ``paths``: what ``initlint check PATHS`` computes.

    Without ``options``, each file's configuration applies as on the command line (``[tool.initlint]``,
    ``initlint.toml``; ``initlint.configured`` builds them with overrides); given ``options`` govern
    every file as they are. No cache unless ``options.cache_dir`` is set. Raises ``ConfigError`` for a
    broken configuration file.
    """
    options = options or configured(paths)
    cache = Cache(options.cache_dir) if options.cache_dir else None
    screened = screen_paths(paths, options, cache)
    judging = Judging(options, PathDisplay.of(screened.sources), cache)
    if options.static:  # each file judged where it is analysed
        analysed = analyse_sources(screened, options, judging)
    else:
        analysed = analyse_builds(plan_builds(screened, options, cache), options, cache, progress)
    report = judging.report([*analysed, *screened.unlisted])
    return replace(report, missing=screened.missing, notes=screened.notes)


def check_model(factory: Callable[[], Any], options: Options | None = None) -> list[Finding]:
    """Build a model (a class or zero-argument callable), record its init, trace it, judge it.

    Runs in this process: a model that hangs or crashes here does so in your
    test, as the model itself would. Returns the findings, most important first.
    """
    if not isinstance(factory, type) and hasattr(factory, "named_modules"):
        raise TypeError(
            f"check_model needs the model's class or a zero-argument factory, not a built "
            f"{type(factory).__name__}: initlint records the init calls as the model is constructed; pass "
            f"{type(factory).__name__} or lambda: {type(factory).__name__}(...)"
        )
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
    alone (static mode), as editors and ``initlint check - --stdin-filename PATH`` need it. Fixes are
    planned on the buffer (an editor applies them to it); the report's ``digests`` are empty, so nothing
    on disk is ever fixed from it."""
    from .analyse import analyse_source

    options = options or configured([path])
    absolute = os.path.abspath(path)
    facts = analyse_source(absolute, text)
    shown = PathDisplay({os.path.normcase(absolute): path}, os.getcwd())
    report = judge([facts], options, shown, buffers={absolute: text})
    return replace(report, digests={})  # the fixes are for the buffer: nothing on disk may be fixed
