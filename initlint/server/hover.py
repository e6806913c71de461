"""The hover of a flagged range: the rule in one paragraph and the finding's numbers, in Markdown."""

from __future__ import annotations

from .. import rules as catalogue
from ..findings import Finding


def hover_markdown(finding: Finding) -> str:
    """The rule's code, name and what it checks, then what this finding measured (where it has numbers)."""
    rule = catalogue.find(finding.code)
    if rule is None:  # every finding's code is in the catalogue; say what we know should one not be
        return f"**{finding.code} {finding.name}**\n\n{finding.message}"
    parts = [
        f"**{rule.code} {rule.name}** ({finding.severity}): {rule.summary}",
        _first_paragraph(rule.what),
    ]
    facts = _facts(finding)
    if facts:
        parts.append("\n".join(["| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in facts)]))
    parts.append(f"[{rule.code} documentation]({catalogue.rule_url(rule)})")
    return "\n\n".join(parts)


def _first_paragraph(text: str) -> str:
    """A rule's ``what`` is wrapped for the terminal; a hover reflows it."""
    return " ".join(text.strip().split("\n\n", 1)[0].split())


def _facts(finding: Finding) -> list[tuple[str, str]]:
    """The finding's numbers and names, as table rows: only those it has."""
    rows = []
    if finding.model:
        rows.append(("model", f"`{finding.model}`"))
    if finding.layer:
        kind = f" ({finding.layer_type})" if finding.layer_type else ""
        more = len(finding.layers) - 1
        rows.append(("layer", f"`{finding.layer}`{kind}" + (f" and {more} more" if more > 0 else "")))
    if finding.init:
        rows.append(("init", f"`{finding.init}`"))
    if finding.activation:
        rows.append(("activation", f"`{finding.activation}`"))
    if finding.actual_std is not None:
        rows.append(("actual std", f"{finding.actual_std:.3g}"))
    if finding.expected_std is not None:
        rows.append(("expected std", f"{finding.expected_std:.3g}"))
    if finding.actual_std is not None and finding.expected_std:
        rows.append(("ratio", f"{finding.actual_std / finding.expected_std:.3g}x"))
    return rows
