"""What the server learns about one document: the findings of a buffer (static) or of its saved file (full).

Plain functions of (path, text, options) -> findings, with no LSP in them: the
app decides when each runs and whether its results still apply.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..api import check_paths, check_source
from ..findings import Finding
from ..fix.apply import digest
from ..options import Options


@dataclass(frozen=True)
class Analysis:
    """The findings of one version of a document, and the text they were computed from."""

    version: int
    text: str
    findings: tuple[Finding, ...]
    full: bool  # from building the saved file's models (check_paths), else from the buffer's source


@dataclass(frozen=True)
class SavedFindings:
    """A full check of a file on disk, and which bytes it read (to tell whether they are the buffer's)."""

    findings: tuple[Finding, ...]
    digest: str | None  # sha256 of the file as analysed; None: it could not be read


def analyse_buffer(path: str, text: str, options: Options) -> tuple[Finding, ...]:
    """Static findings of an editor's buffer for the file at ``path``, with fixes planned on the buffer."""
    return check_source(text, path, options).findings


def analyse_saved(path: str, options: Options) -> SavedFindings:
    """The full check of the file at ``path`` (its models built in worker processes), its findings only:
    configured entries in other files can bring theirs, which belong to those files' documents."""
    report = check_paths([path], options)
    here = _key(path)
    return SavedFindings(tuple(f for f in report.findings if _key(f.path) == here), report.digests.get(path))


def is_analysed_text(saved: SavedFindings, text: str) -> bool:
    """Whether the saved file's analysed bytes are ``text``: full findings apply to that buffer only."""
    return saved.digest is not None and saved.digest == digest(text.encode("utf-8"))


def _key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))
