"""What the server learns about one document: the findings of a buffer (static) or of its saved file (full).

Plain functions of (path, text, options) -> findings, with no LSP in them: the
app decides when each runs and whether its results still apply.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..api import check_paths, check_source
from ..findings import Finding, Fix
from ..fix.apply import digest
from ..fix.intent import NoFix
from ..options import Options

# check_source leaves every finding without a fix, saying why in its message (fix.plan plans edits from
# the file on disk only). The buffer is the text to fix here: the server plans the edits itself and takes
# the reason back off. Once check_source plans fixes from the text it analysed, this goes.
_NOT_ON_DISK = " (no automatic fix: the call is in a file initlint did not check)"


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
    report = check_source(text, path, options)
    return tuple(_with_buffer_fixes(report.findings, path, text))


def analyse_saved(path: str, options: Options) -> SavedFindings:
    """The full check of the file at ``path`` (its models built in worker processes), its findings only:
    configured entries in other files can bring theirs, which belong to those files' documents."""
    report = check_paths([path], options)
    here = _key(path)
    return SavedFindings(tuple(f for f in report.findings if _key(f.path) == here), report.digests.get(path))


def is_analysed_text(saved: SavedFindings, text: str) -> bool:
    """Whether the saved file's analysed bytes are ``text``: full findings apply to that buffer only."""
    return saved.digest is not None and saved.digest == digest(text.encode("utf-8"))


def _with_buffer_fixes(findings: Iterable[Finding], path: str, text: str) -> Iterable[Finding]:
    """Each finding, with the fix its intent asks for, planned on ``text`` (libcst only when one is needed)."""
    from ..fix.edits import SourcePlanner
    from ..fix.plan import _describe, _plan, _target  # private: see _NOT_ON_DISK

    planner: SourcePlanner | None = None
    for finding in findings:
        intent = finding.intent
        if (
            finding.fix is not None
            or intent is None
            or isinstance(intent, NoFix)
            or not finding.message.endswith(_NOT_ON_DISK)
            or _key(_target(intent)) != _key(path)
        ):
            yield finding
            continue
        try:
            planner = planner or SourcePlanner(os.path.abspath(path), text)
        except Exception:  # libcst cannot parse what Python could: no fix, as the CLI says
            yield finding
            continue
        outcome = _plan(intent, planner)
        message = finding.message.removesuffix(_NOT_ON_DISK)
        if isinstance(outcome, str):
            yield replace(finding, message=f"{message} (no automatic fix: {outcome})")
        else:
            yield replace(finding, message=message, fix=Fix(intent.applicability, _describe(intent), outcome))


def _key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))
