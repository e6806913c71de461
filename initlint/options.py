"""What one check was asked to do: the command line over the configuration files, resolved per file.

Each file is governed by its nearest configuration (``.initlint.toml``,
``initlint.toml`` or a ``pyproject.toml`` with ``[tool.initlint]``, walking up
from the file), as ruff resolves hierarchical configuration, or by one file for
all with ``--config``; the command line's flags win over either. ``Options``
holds the resolved values for one configuration; ``Options.for_file`` finds the
one that governs a file, so the order of the paths given never matters.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .config import Config, Entry, check_selectors, find_config, load_config
from .discover import excluded_by
from .rules.base import Settings

DEFAULT_JOBS = os.cpu_count() or 1
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Options:
    exclude: tuple[str, ...] = ()  # globs: a name, or a path relative to root (absolute paths as they are)
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, codes), globs relative to root
    timeout: float = DEFAULT_TIMEOUT
    jobs: int = DEFAULT_JOBS
    settings: Settings = field(default_factory=Settings)
    entries: tuple[Entry, ...] = ()  # [tool.initlint] models
    require_all_models: bool = False  # a model that could not be built is an error (IL908), failing the run
    fail_on: str = "warning"  # the lowest severity that fails the run
    root: str = ""  # the configuration's directory: where entries and globs are relative to
    cache_dir: str | None = None  # None: no cache
    device: str = "auto"  # where models are built: auto | cpu | meta
    static: bool = False  # source only: never import the user's code or torch
    respect_gitignore: bool = True  # a directory walk skips what git ignores
    # Where each file's own configuration is found; None: these options govern every file
    scopes: Scopes | None = field(default=None, compare=False, repr=False)

    def for_file(self, path: str) -> Options:
        """The options that govern ``path`` (a file or directory): its configuration's, with this run's
        command-line flags and run-wide choices (jobs, cache, device, mode)."""
        if self.scopes is None:
            return self
        return self.scopes.options_for(path, self)

    def excludes(self, path: str) -> bool:
        """Whether the configuration governing ``path`` (or the command line) excludes it."""
        own = self.for_file(path)
        return excluded_by(path, own.exclude, own.root)


# Chosen once for the whole run (the command line, or the first path's configuration): never per file.
_RUN_WIDE = ("jobs", "cache_dir", "device", "static", "respect_gitignore")


@dataclass(frozen=True)
class Overrides:
    """What the command line sets over the configuration files (empty or None: the files decide)."""

    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # relative to the working directory
    timeout: float | None = None
    fail_on: str | None = None
    require_all_models: bool = False

    def check(self) -> None:
        """Unknown rule codes are a ``ConfigError``, as in a configuration file."""
        for values, flag in ((self.select, "--select"), (self.extend_select, "--extend-select"),
                             (self.ignore, "--ignore")):  # fmt: skip
            check_selectors(values, flag)


def merge(config: Config, overrides: Overrides) -> Options:
    """A configuration's options, the command line's flags over them, the defaults under both."""
    return Options(
        exclude=(*config.exclude, *(_anchored(pattern) for pattern in overrides.exclude)),
        select=(*(overrides.select or config.select or ("ALL",)), *config.extend_select, *overrides.extend_select),
        ignore=(*config.ignore, *overrides.ignore),
        per_file_ignores=config.per_file_ignores,
        timeout=overrides.timeout or config.timeout or DEFAULT_TIMEOUT,
        settings=config.settings,
        entries=config.models,
        require_all_models=overrides.require_all_models or config.require_all_models,
        fail_on=overrides.fail_on or config.fail_on or "warning",
        root=config.root,
    )


def _anchored(pattern: str) -> str:
    """A command-line glob with a directory part is relative to where initlint runs, whatever the
    configuration's directory: made absolute; a bare name matches anywhere."""
    if "/" not in pattern.rstrip("/") or os.path.isabs(pattern):
        return pattern
    return os.path.join(os.getcwd(), pattern)


class Scopes:
    """Which configuration governs each file: the nearest above it, or ``config_path`` for all."""

    def __init__(self, overrides: Overrides, config_path: str | None = None):
        self.overrides = overrides
        self._fixed = config_path
        self._nearest: dict[str, str | None] = {}  # directory -> its configuration file
        self._governing: dict[str, str | None] = {}  # path -> its configuration file
        self._merged: dict[str | None, Options] = {}  # configuration file -> its options, flags over it
        self._for_run: dict[tuple[object, ...], Options] = {}  # ... with a run's jobs, cache, device and mode

    def config_file(self, path: str) -> str | None:
        """The configuration file that governs ``path``; raises ``ConfigError`` for a broken one."""
        if self._fixed is not None:
            return self._fixed
        if path not in self._governing:  # asked for each model and finding: one stat per path
            absolute = os.path.abspath(path)
            directory = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
            if directory not in self._nearest:
                self._nearest[directory] = find_config([directory])
            self._governing[path] = self._nearest[directory]
        return self._governing[path]

    def merged(self, config_path: str | None) -> Options:
        if config_path not in self._merged:
            self._merged[config_path] = replace(merge(load_config(config_path), self.overrides), scopes=self)
        return self._merged[config_path]

    def options_for(self, path: str, run: Options) -> Options:
        """``path``'s configuration's options, with the run-wide choices of ``run``."""
        config_path = self.config_file(path)
        run_wide = {name: getattr(run, name) for name in _RUN_WIDE}
        key = (config_path, *run_wide.values())
        if key not in self._for_run:
            self._for_run[key] = replace(self.merged(config_path), **run_wide)
        return self._for_run[key]


def configured(
    paths: Sequence[str] = (), overrides: Overrides | None = None, config_path: str | None = None
) -> Options:
    """The options ``initlint check PATHS`` uses: each file's nearest configuration (or ``config_path``
    for all), ``overrides`` over them. The returned options are those of the first path's configuration
    (run-wide choices such as the cache's place come from it); ``for_file`` gives any other file's.
    Raises ``ConfigError`` for a configuration file that is broken."""
    scopes = Scopes(overrides or Overrides(), config_path)
    scopes.overrides.check()
    return scopes.merged(scopes.config_file((list(paths) or ["."])[0]))
