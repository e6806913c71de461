"""What one check was asked to do: the command line and the configuration, resolved (the CLI builds it)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .config import Entry
from .rules.base import Settings

DEFAULT_JOBS = os.cpu_count() or 1
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Options:
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (glob, codes), globs relative to root
    timeout: float = DEFAULT_TIMEOUT
    jobs: int = DEFAULT_JOBS
    settings: Settings = field(default_factory=Settings)
    entries: tuple[Entry, ...] = ()  # [tool.initlint] models
    require_all_models: bool = False  # a model that could not be built is an error (IL908), failing the run
    root: str = ""  # the configuration's directory: where entries and globs are relative to
    cache_dir: str | None = None  # None: no cache
    device: str = "auto"  # where models are built: auto | cpu | meta
    static: bool = False  # source only: never import the user's code or torch
