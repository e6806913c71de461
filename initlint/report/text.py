"""Human output: ``path:line:col: CODE [severity] message`` and a summary line."""

from __future__ import annotations

from collections import Counter

import click

from ..findings import ERROR, INFO, WARNING, Finding
from ..rules.base import fmt
from ..shared.facts import ERROR as STATUS_ERROR
from ..shared.facts import PARTIAL, SKIPPED, VARIANT
from .locations import place
from .model import ModelEntry, Report
from .signal import REFERENCE, model_signal, sparkline

_COLOURS = {ERROR: "red", WARNING: "yellow", INFO: "blue"}


def _fixable(f: Finding, unsafe_fixes: bool) -> bool:
    return f.fix is not None and (f.fix.applicability == "safe" or unsafe_fixes)


def _line(f: Finding, unsafe_fixes: bool) -> str:
    location = click.style(f"{place(f)}:", bold=True)
    code = click.style(f.code, fg=_COLOURS[f.severity], bold=True)
    fixable = " [*]" if _fixable(f, unsafe_fixes) else ""
    return f"{location} {code}{fixable} [{f.severity}] {f.message}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(report: Report) -> str:
    counts = Counter(f.severity for f in report.findings)
    statuses = Counter(m.status for m in report.models)
    checked = sum(n for s, n in statuses.items() if s not in (SKIPPED, STATUS_ERROR))
    scope = f"{_plural(checked, 'model')} checked in {_plural(report.files, 'file')}"
    notes = [f"{statuses[PARTIAL]} partially traced"] if statuses[PARTIAL] else []
    notes += [f"{_plural(statuses[VARIANT], 'variant')} judged with the model it builds"] if statuses[VARIANT] else []
    notes += [f"{statuses[SKIPPED]} skipped"] if statuses[SKIPPED] else []
    notes += [f"{statuses[STATUS_ERROR]} could not be analysed"] if statuses[STATUS_ERROR] else []
    if notes:
        scope += f"; {', '.join(notes)}"
    if not report.findings:
        return f"No findings: {scope}."
    parts = [_plural(counts[s], s) for s in (ERROR, WARNING, INFO) if counts[s]]
    return f"Found {_plural(len(report.findings), 'finding')} ({', '.join(parts)}); {scope}."


def _unchecked(report: Report) -> list[str]:
    """The models that could not be built, as the configured entries that would build them."""
    skipped = [m for m in report.models if m.suggested_entry is not None]
    if not skipped:
        return []
    lines = [f"Not checked: {_plural(len(skipped), 'model')} whose constructor needs arguments. To check them, add "
             "to [tool.initlint] models in pyproject.toml, with the arguments filled in:"]  # fmt: skip
    lines += [f"  {m.suggested_entry},  # {m.path} {m.model}: {m.detail}" for m in skipped]
    return lines


def _signal_line(report: Report, entry: ModelEntry) -> str:
    """``--show-signal``: ``Deep: ▇▆▅▄▃▂▁▁ 4.5e-04 of the input RMS after 9 layers (reference 1; ...)``."""
    shown = model_signal(report, entry)
    predicted = tuple(v for v in shown.initialised.values if v is not None)
    notes = [f"reference {fmt(REFERENCE)}"]
    measured_end = shown.measured.values[-1]
    if measured_end is not None:
        notes.append(f"measured output RMS {fmt(measured_end)}")
    return (
        f"{entry.model}: {sparkline(predicted)} {fmt(shown.end)} of the input RMS after "
        f"{_plural(len(shown.layers), 'layer')} ({'; '.join(notes)})"
    )


def signal_lines(report: Report) -> list[str]:
    """A sparkline of the predicted signal through each model with layers."""
    return [_signal_line(report, entry) for entry in report.models if entry.layers]


def render(report: Report, unsafe_fixes: bool = False, show_signal: bool = False, quiet: bool = False) -> str:
    """Findings, then the summary (after --fix the CLI adds what was fixed: ``fix.summary``); with
    ``show_signal``, each model's signal after the findings; ``quiet``: the findings only."""
    lines = [_line(f, unsafe_fixes) for f in report.findings]
    if quiet:
        return "\n".join(lines)
    if show_signal:
        lines += signal_lines(report)
    lines.append(summary(report))
    lines += _unchecked(report)
    fixable = sum(_fixable(f, unsafe_fixes) for f in report.findings)
    hidden = sum(f.fix is not None for f in report.findings) - fixable
    if fixable:
        lines.append(f"[*] {fixable} fixable with `initlint check --fix{' --unsafe-fixes' if unsafe_fixes else ''}`.")
    if hidden:
        lines.append(
            f"{_plural(hidden, 'more fix')} available with `--unsafe-fixes`.".replace("more fixs", "more fixes")
        )
    return "\n".join(lines)
