"""The report every output format renders: findings, the models checked, and what the run could not see."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..findings import Finding


@dataclass(frozen=True)
class LayerRow:
    """A weight layer as ``models[].layers`` lists it: what it was paired with and its init."""

    layer: str
    layer_type: str
    activation: str | None  # None: not paired
    upstream: str | None
    norm_between: bool
    init: str
    actual_std: float | None
    expected_std: float | None
    # The output RMS the layer's init predicts for the input RMS measured at init, and the one measured
    # (full mode; None when the model was not run)
    predicted_rms: float | None = None
    measured_rms: float | None = None


@dataclass(frozen=True)
class ModelEntry:
    """A model as the JSON ``models`` list reports it."""

    path: str
    model: str
    status: str
    detail: str = ""
    layers: tuple[LayerRow, ...] = ()
    # How it was constructed: no-arguments | factory | config | "call-site <path>:<line>"; None if it was not
    built_by: str | None = None
    # Skipped: the [tool.initlint] models item that would build it, its arguments to fill in
    suggested_entry: str | None = None


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    models: tuple[ModelEntry, ...]
    files: int
    missing: tuple[str, ...] = ()
    digests: dict[str, str] = field(default_factory=dict)  # absolute path -> sha256 of the analysed bytes
    suppressed: tuple[Finding, ...] = ()  # silenced by comments; shown with --show-suppressed
    notes: tuple[str, ...] = ()  # what was skipped and why (non-regular files), one line each
