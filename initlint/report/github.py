"""``--format github``: GitHub Actions workflow commands that annotate the diff."""

from __future__ import annotations

from pathlib import Path

from ..findings import ERROR, INFO, WARNING, Finding
from .locations import from_root
from .model import Report
from .text import summary

COMMANDS = {ERROR: "error", WARNING: "warning", INFO: "notice"}


def escape_data(value: str) -> str:
    """The message after ``::``: a raw newline would end the command and lose the rest."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A ``key=value`` property: ``:`` and ``,`` would end the value early."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding) -> str:
    # GitHub reads col/endColumn only within one line; across lines they would mark wrong characters.
    one_line = f.line == f.end_line
    # A notebook's lines are its cells', not its JSON file's, where GitHub would put them: the annotation is
    # on the file, its title says where.
    in_file = f.cell is None
    properties = {
        "file": from_root(f.path) or Path(f.path).as_posix(),  # GitHub resolves it from the repository's root
        "line": f.line if in_file else None,
        "col": f.column if one_line and in_file else None,
        "endLine": f.end_line if in_file else None,
        "endColumn": f.end_column if one_line and in_file else None,
        "title": f"{f.code} {f.name}" + ("" if in_file else f" (cell {f.cell}, line {f.line})"),
    }
    joined = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{COMMANDS[f.severity]} {joined}::{escape_data(f.message)}"


def render(report: Report) -> str:
    # The summary starts with a word, never "::", so Actions prints it as a plain log line.
    return "\n".join([*(annotation(f) for f in report.findings), summary(report)])
