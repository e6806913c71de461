"""What a --fix run says it did, in ruff's words: the fixes applied by file, and one count line.

ruff 0.17 prints, after its findings, ``Fixed 2 errors:`` with a ``- path:`` line per
file and a ``N × CODE (name)`` line per rule, then its count line. initlint's report
already ends with its own ``Found ...`` line, so after --fix the count line is
``Fixed N findings (M remaining).``; with --fix-only, which reports nothing else, it is
ruff's own: ``Fixed N findings.``, with the unsafe fixes left ``(K additional fixes
available with `--unsafe-fixes`)``, or ``No findings fixed (...)`` when only those exist.
"""

from __future__ import annotations

from collections import Counter

from ..findings import Finding
from .apply import FileChange


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def fixed_count(changes: list[FileChange]) -> int:
    return sum(len(change.fixed) for change in changes)


def applied(changes: list[FileChange]) -> list[str]:
    """``--show-fixes`` after a fix: the findings fixed, counted by rule under each file written."""
    total = fixed_count(changes)
    if not total:
        return []
    lines = [f"Fixed {_plural(total, 'finding')}:"]
    for change in changes:
        lines.append(f"- {change.shown}:")
        by_rule = Counter((f.code, f.name) for f in change.fixed)
        lines += [f"    {count} × {code} ({name})" for (code, name), count in sorted(by_rule.items())]
    return lines


def available(findings: tuple[Finding, ...], unsafe: bool) -> list[str]:
    """``--show-fixes`` without a fix: each fix --fix (with ``unsafe``: --unsafe-fixes) would apply."""
    lines = [
        f"{f.path}:{f.line}:{f.column}: {f.code} {f.fix.message} ({f.fix.applicability})"
        for f in findings
        if f.fix is not None and (f.fix.applicability == "safe" or unsafe)
    ]
    if not lines:
        return []
    return [f"{_plural(len(lines), 'fix', 'fixes')} available:", *(f"  {line}" for line in lines)]


def after_fix(fixed: int, remaining: int) -> str | None:
    """The count line after --fix and the remaining findings' report; none when nothing was fixed."""
    return f"Fixed {_plural(fixed, 'finding')} ({remaining} remaining)." if fixed else None


def after_fix_only(fixed: int, unsafe_left: int) -> str | None:
    """The one line --fix-only prints; none when there was nothing to fix."""
    more = f"{_plural(unsafe_left, 'fix', 'fixes')} available with `--unsafe-fixes`"
    if fixed:
        extra = f" ({more.replace(' ', ' additional ', 1)})" if unsafe_left else ""
        return f"Fixed {_plural(fixed, 'finding')}{extra}."
    return f"No findings fixed ({more})." if unsafe_left else None


def unsafe_left(findings: tuple[Finding, ...], unsafe: bool) -> int:
    """Fixes not applied because they are unsafe and --unsafe-fixes was not given."""
    return 0 if unsafe else sum(f.fix is not None and f.fix.applicability != "safe" for f in findings)
