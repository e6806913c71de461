"""``--statistics``: how many findings each rule produced, most frequent first (like ruff)."""

from __future__ import annotations

from ..findings import Finding, severity_rank
from .model import Report


def rows(report: Report) -> list[tuple[int, str, str, str]]:
    """(count, code, name, severities) per rule code, most frequent first, then by code."""
    groups: dict[str, list[Finding]] = {}
    for f in report.findings:
        groups.setdefault(f.code, []).append(f)
    table = []
    for code, found in groups.items():
        fixable = "[*] " if any(f.fix is not None for f in found) else ""
        # Severity is depth-aware, so one rule's findings may differ: list each, most severe first.
        severities = "/".join(sorted({f.severity for f in found}, key=severity_rank, reverse=True))
        table.append((len(found), code, fixable + found[0].name, severities))
    return sorted(table, key=lambda row: (-row[0], row[1]))


def render(report: Report) -> str:
    table = rows(report)
    if not table:
        return ""
    widths = [max(len(str(row[i])) for row in table) for i in range(3)]
    return "\n".join(
        f"{count:>{widths[0]}}  {code:<{widths[1]}}  {name:<{widths[2]}}  {severity}"
        for count, code, name, severity in table
    )
