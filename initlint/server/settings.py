"""The options a file is checked with in the editor: its nearest configuration, as ``initlint check FILE`` reads it."""

from __future__ import annotations

import os
from dataclasses import replace

from ..cache import DEFAULT_DIR as DEFAULT_CACHE_DIR
from ..config import Entry, resolve_entry
from ..options import Options, configured


def options_for(path: str) -> Options:
    """``initlint check PATH``'s options without flags: the configuration governing ``path``, and the cache
    the CLI uses by default (next to that configuration, else in the working directory). Raises
    ``ConfigError`` for a broken configuration, as the CLI exits on it."""
    options = configured([path])
    # One file's options for everything the check sees (scopes=None): the entries kept are this file's only.
    return replace(
        options,
        scopes=None,
        entries=_entries_in(path, options),
        cache_dir=os.path.join(options.root or os.getcwd(), DEFAULT_CACHE_DIR),
    )


def _entries_in(path: str, options: Options) -> tuple[Entry, ...]:
    """The configured models defined in ``path``: a save builds this file's models, not the whole project's."""
    root = options.root or os.getcwd()
    here = os.path.normcase(os.path.abspath(path))
    return tuple(e for e in options.entries if (found := resolve_entry(e, root)) and os.path.normcase(found) == here)
