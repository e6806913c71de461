"""The options a file is checked with in the editor: its nearest configuration, as ``initlint check FILE`` reads it."""

from __future__ import annotations

import os
from dataclasses import replace

from ..cache import DEFAULT_DIR as DEFAULT_CACHE_DIR
from ..options import Options, configured


def options_for(path: str) -> Options:
    """``initlint check PATH``'s options without flags: the configuration governing ``path``, and the cache
    the CLI uses by default (next to that configuration, else in the working directory). A save builds this
    file's configured models only, as ``initlint check PATH`` does. Raises ``ConfigError`` for a broken
    configuration, as the CLI exits on it."""
    options = configured([path])
    return replace(options, cache_dir=os.path.join(options.root or os.getcwd(), DEFAULT_CACHE_DIR))
