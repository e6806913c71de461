"""``--statistics``: how many findings each rule produced, most frequent first (like ruff)."""

from __future__ import annotations

import json

from ..findings import Finding, severity_rank
from .model import Report


def _groups(report: Report) -> list[tuple[str, list[Finding]]]:
    """Findings per rule code, most frequent first, then by code."""
    groups: dict[str, list[Finding]] = {}
    for f in report.findings:
        groups.setdefault(f.code, []).append(f)
    return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))


def _severities(found: list[Finding]) -> list[str]:
    """Severity is depth-aware, so one rule's findings may differ: each, most severe first."""
    return sorted({f.severity for f in found}, key=severity_rank, reverse=True)


def rows(report: Report) -> list[tuple[int, str, str, str]]:
    """(count, code, name, severities) per rule code, most frequent first, then by code."""
    table = []
    for code, found in _groups(report):
        fixable = "[*] " if any(f.fix is not None for f in found) else ""
        table.append((len(found), code, fixable + found[0].name, "/".join(_severities(found))))
    return table


def render_json(report: Report) -> str:
    """``--statistics --output-format json``: a list of {code, name, count, fixable, severities}, as ruff's."""
    records = [
        {
            "code": code,
            "name": found[0].name,
            "count": len(found),
            "fixable": any(f.fix is not None for f in found),
            "severities": _severities(found),
        }
        for code, found in _groups(report)
    ]
    return json.dumps(records, indent=2)


def render(report: Report) -> str:
    table = rows(report)
    if not table:
        return ""
    widths = [max(len(str(row[i])) for row in table) for i in range(3)]
    return "\n".join(
        f"{count:>{widths[0]}}  {code:<{widths[1]}}  {name:<{widths[2]}}  {severity}"
        for count, code, name, severity in table
    )
