"""Attach fixes to findings: merge their intents, then compute edits file by file.

Only files that were analysed, and are unchanged since, get edits; libcst is
imported only when some finding has something to fix.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ..discover import analysed_text, parse_source
from ..findings import Edit, Finding, Fix
from .apply import digest
from .intent import DeleteStatement, FixIntent, InsertInit, NoFix, RewriteCall, SetMode

if TYPE_CHECKING:  # both import at run time only when needed: libcst is slow to import
    from ..cache import Cache
    from .edits import SourcePlanner

Parse = Callable[[str, str], ast.Module]  # (path, text) -> its tree


def merge_intents(intents: Sequence[FixIntent | None]) -> FixIntent | None:
    """One intent for a finding that covers several layers built or initialised at one place."""
    present = [i for i in intents if i is not None]
    if not present:
        return None
    first = present[0]
    if isinstance(first, InsertInit):
        inserts = [i for i in present if isinstance(i, InsertInit)]
        if len(inserts) == len(present) and all(
            (i.path, i.model, i.new, i.anchor, i.applicability)
            == (first.path, first.model, first.new, first.anchor, first.applicability)
            for i in inserts
        ):
            targets = tuple(dict.fromkeys(target for i in inserts for target in i.targets))
            return replace(first, targets=targets)
        return NoFix("the layers built here need different inits: initialise each one explicitly")
    if all(i == first for i in present):
        return first
    return NoFix("the layers initialised here need different inits: split the call by layer")


Planned = RewriteCall | InsertInit | DeleteStatement  # an intent with something to edit


def _target(intent: Planned) -> str:
    if isinstance(intent, InsertInit):
        return intent.path
    return intent.site.path


def _describe(intent: Planned) -> str:
    if isinstance(intent, DeleteStatement):
        return "Remove the overwritten call"
    if isinstance(intent, RewriteCall):
        verb = "Use" if isinstance(intent.new, SetMode) else "Replace with"
        overrides = "".join(f"; {o.new.describe()} for {o.layer}" for o in intent.overrides)
        return f"{verb} {intent.new.describe()}{overrides}"
    shown = ", ".join(intent.layers[:4]) + (", ..." if len(intent.layers) > 4 else "")
    return f"Add {intent.new.describe()} for {shown} in {intent.model}.__init__"


class PlannedEdits:
    """Edits already planned, by file content and intent: for this run (planned early, while other files
    are still being analysed) and, with a ``cache``, for later runs (an unchanged file never needs libcst
    again)."""

    def __init__(self, cache: Cache | None = None) -> None:
        self.cache = cache
        self._known: dict[tuple[str, str, str], tuple[Edit, ...] | str] = {}

    def recall(self, path: str, analysed: str, intent: str) -> tuple[Edit, ...] | str | None:
        known = self._known.get((path, analysed, intent))
        if known is None and self.cache is not None:
            known = self.cache.load(self._key(path, analysed, intent), tuple[Edit, ...] | str)
        return known

    def remember(self, path: str, analysed: str, intent: str, outcome: tuple[Edit, ...] | str) -> None:
        self._known[path, analysed, intent] = outcome
        if self.cache is not None:
            self.cache.store(self._key(path, analysed, intent), outcome)

    def outcomes(self) -> dict[tuple[str, str, str], tuple[Edit, ...] | str]:
        """What was planned in this run: (path, content digest, intent) -> the edits, or why there are none."""
        return dict(self._known)

    def learn(self, outcomes: Mapping[tuple[str, str, str], tuple[Edit, ...] | str]) -> None:
        """Remember what was planned elsewhere (``outcomes`` of another process)."""
        self._known.update(outcomes)

    def _key(self, path: str, analysed: str, intent: str) -> str:
        assert self.cache is not None
        return self.cache.key(path, ["fix", analysed, intent])


def plan_fixes(
    findings: Iterable[Finding],
    digests: dict[str, str],
    show: Callable[[str], str],
    planned: PlannedEdits | None = None,
    buffers: Mapping[str, str] | None = None,
    parse: Parse = parse_source,
) -> list[Finding]:
    """The findings with ``fix`` set where an edit could be computed; reasons added where not.

    ``planned`` remembers edits by file content and intent (and is asked
    first). A file in ``buffers`` (absolute path -> text: an editor's buffer) is
    planned on that text, never read from disk. ``parse`` gives a file's tree: static mode's
    (``static.reachable``) holds every place its findings point at, and is already parsed.
    """
    planned = planned or PlannedEdits()
    texts = {os.path.normcase(os.path.abspath(path)): text for path, text in (buffers or {}).items()}
    findings = list(findings)
    by_file: dict[str, list[tuple[int, Planned]]] = {}
    for index, finding in enumerate(findings):
        intent = finding.intent
        if isinstance(intent, NoFix):
            findings[index] = replace(finding, message=f"{finding.message} (no automatic fix: {intent.reason})")
        elif intent is not None:
            by_file.setdefault(os.path.normcase(os.path.abspath(_target(intent))), []).append((index, intent))
    for path, located in by_file.items():
        planner: SourcePlanner | None = None
        reason = ""
        analysed = digests.get(path) or ""
        for index, intent in located:
            described = repr(intent)
            outcome = None if path in texts else planned.recall(path, analysed, described)
            if outcome is None:
                if planner is None and not reason:
                    planner, reason = _planner(path, digests.get(path), texts.get(path), parse)
                outcome = _plan(intent, planner) if planner is not None else reason
                if planner is not None and path not in texts:
                    planned.remember(path, analysed, described, outcome)
            findings[index] = _applied(findings[index], intent, outcome, show)
    return findings


def _planner(path: str, analysed: str | None, buffer: str | None, parse: Parse) -> tuple[SourcePlanner | None, str]:
    """What plans the file's edits: on the analysed bytes read again (and checked) or on ``buffer``."""
    if buffer is not None:
        from .edits import SourcePlanner

        try:
            return SourcePlanner(path, buffer, parse), ""
        except Exception as error:  # libcst cannot parse what Python could: say so, fix nothing
            return None, f"libcst cannot parse the file ({type(error).__name__})"
    if analysed is None:
        return None, "the call is in a file initlint did not check"
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        return None, f"cannot read {os.path.basename(path)}: {error.strerror}"
    if digest(data) != analysed:
        return None, "the file changed during analysis"
    from .edits import SourcePlanner

    try:
        return SourcePlanner(path, analysed_text(path, data), parse), ""  # a notebook: its cells' source
    except Exception as error:  # libcst cannot parse what Python could: say so, fix nothing
        return None, f"libcst cannot parse the file ({type(error).__name__})"


def _plan(intent: Planned, planner: SourcePlanner) -> tuple[Edit, ...] | str:
    """The edits for an intent, or why there are none."""
    from .edits import CannotFix

    try:
        if isinstance(intent, RewriteCall):
            return tuple(planner.rewrite_call(intent))
        if isinstance(intent, DeleteStatement):
            return tuple(planner.delete_statement(intent))
        return tuple(planner.insert_init(intent))
    except CannotFix as error:
        return str(error)


def _applied(finding: Finding, intent: Planned, outcome: tuple[Edit, ...] | str, show: Callable[[str], str]) -> Finding:
    if isinstance(outcome, str):
        return replace(finding, message=f"{finding.message} (no automatic fix: {outcome})")
    shown = tuple(replace(e, path=show(e.path)) for e in outcome)
    return replace(finding, fix=Fix(intent.applicability, _describe(intent), shown))
