"""A finding: what a rule reports, in the shape the JSON contract names."""

from __future__ import annotations

from dataclasses import dataclass, field

from .fix.intent import FixIntent

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (INFO, WARNING, ERROR)


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Edit:
    """Replace a range of a file (1-based lines and columns) with ``content``."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    content: str
    cell: int | None = None  # a notebook's cell (numbered as ``notebook`` says): the lines are the cell's


@dataclass(frozen=True)
class Fix:
    applicability: str  # "safe" | "unsafe"
    message: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    severity: str
    path: str  # as shown to the user
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    model: str | None = None
    layer: str | None = None
    parameter: str | None = None
    layer_type: str | None = None
    activation: str | None = None
    init: str | None = None
    expected_std: float | None = None
    actual_std: float | None = None
    fix: Fix | None = None
    layers: tuple[str, ...] = field(default=())  # every layer this finding covers
    models: tuple[str, ...] = field(default=())  # every model the same line is found in (variants, factories)
    intent: FixIntent | None = field(default=None, compare=False, repr=False)  # what to fix, before planning
    reach: int = field(default=0, compare=False, repr=False)  # how many layers the init call at it initialises
    # (absolute path, line) where a suppression comment also silences it: the layer's construction
    anchors: tuple[tuple[str, int], ...] = field(default=(), compare=False, repr=False)
    cell: int | None = None  # a notebook's cell (numbered as ``notebook`` says): the lines are the cell's

    @property
    def sort_key(self) -> tuple[str, int, int, int, str, str, str]:
        return (self.path, self.cell or 0, self.line, self.column, self.code, self.model or "", self.layer or "")
