"""The forward signal through a model's depth, as the HTML plot and ``--show-signal`` draw it.

A report's layer rows say each layer's std and the variance-preserving one; from them alone this
predicts the signal's RMS after each layer and its activation, relative to the model's input, with
the same math as the findings' "over this chain the signal's second moment shrinks to" (square
rooted: this is the RMS): a layer at ``actual_std``
scales the signal by ``actual_std / expected_std`` compared with a variance-preserving one, exactly
for rectifiers and linear layers, approximately for the others near their linear range. Biases are
left out, so a deep stack whose biases dominate its output (the measured RMS levelling off) shows
here how little of the input still reaches it. The prediction follows the layers in the model's
order as one chain: restarted at a layer that reads the model's input, reset to 1 after a
normalization (which restores the signal's scale whatever the init).

The measured series are the report's own numbers (full mode only): each layer's output RMS, before
its activation and biases included, for a random input of RMS about 1, and the RMS its init predicts
for the input it measured.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

from ..findings import Finding
from ..shared.facts import INPUT
from .model import LayerRow, ModelEntry, Report

REFERENCE = 1.0  # the variance-preserving signal keeps the input's RMS at every depth

PREDICTED = "predicted"
MEASURED = "measured"


@dataclass(frozen=True)
class Series:
    """One line of the plot: a value per layer (None where unknown)."""

    key: str  # a stable name, for CSS classes and tests
    label: str
    source: str  # PREDICTED | MEASURED
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Signal:
    """A model's signal through its layers, every series with one value per layer."""

    layers: tuple[str, ...]
    initialised: Series  # predicted from the stds as they are
    fixed: Series  # predicted with every layer a finding names at its variance-preserving std
    reference: Series
    per_layer: Series  # predicted_rms: each layer's init for the input it measured
    measured: Series

    @property
    def series(self) -> tuple[Series, ...]:
        return (self.reference, self.initialised, self.fixed, self.per_layer, self.measured)

    @property
    def end(self) -> float | None:
        """The predicted signal after the last layer, relative to the input's RMS."""
        return self.initialised.values[-1] if self.layers else None


def reported_on(finding: Finding, entry: ModelEntry) -> bool:
    """Whether a finding is on a model: a grouped finding names every model its line is found in."""
    return finding.path == entry.path and entry.model in (finding.models or (finding.model,))


def findings_of(report: Report, entry: ModelEntry) -> list[Finding]:
    return [f for f in report.findings if reported_on(f, entry)]


def flagged_layers(findings: Collection[Finding]) -> set[str]:
    return {layer for f in findings for layer in (f.layers or ((f.layer,) if f.layer else ()))}


def _scale(row: LayerRow) -> float:
    """How the layer's init scales the signal against a variance-preserving init (1 when either std is
    unknown: the layer is assumed to pass the signal on unchanged)."""
    if row.actual_std is None or not row.expected_std:
        return 1.0
    return row.actual_std / row.expected_std


def _chain(rows: tuple[LayerRow, ...], at_reference: Collection[str]) -> tuple[float, ...]:
    """The predicted RMS after each layer, with the layers named in ``at_reference`` at their expected std."""
    values = []
    value = REFERENCE
    for row in rows:
        if row.upstream == INPUT.display:
            value = REFERENCE
        value *= 1.0 if row.layer in at_reference else _scale(row)
        if row.norm_between:
            value = REFERENCE
        values.append(value)
    return tuple(values)


def signal(entry: ModelEntry, fixed: Collection[str]) -> Signal:
    """The series of a model whose findings name the layers ``fixed``."""
    rows = entry.layers
    return Signal(
        layers=tuple(row.layer for row in rows),
        initialised=Series("initialised", "as initialised", PREDICTED, _chain(rows, ())),
        fixed=Series("fixed", "after the suggested fixes", PREDICTED, _chain(rows, fixed)),
        reference=Series("reference", "variance-preserving reference", PREDICTED, (REFERENCE,) * len(rows)),
        per_layer=Series(
            "per-layer", "each init for its measured input", PREDICTED, tuple(row.predicted_rms for row in rows)
        ),
        measured=Series("measured", "measured at init", MEASURED, tuple(row.measured_rms for row in rows)),
    )


def model_signal(report: Report, entry: ModelEntry) -> Signal:
    return signal(entry, flagged_layers(findings_of(report, entry)))


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float, ...]) -> str:
    """One bar per value on a log scale spanning at least a decade and reaching the reference, so a
    signal that keeps its scale draws high and flat rather than stretched over the bars."""
    logs = [math.log10(v) if v > 0 else None for v in values]
    known = [x for x in logs if x is not None]
    if not known:
        return "?" * len(values)
    high = max(max(known), math.log10(REFERENCE))
    low = min(min(known), high - 1.0)
    top = len(_BARS) - 1
    return "".join(_BARS[round((x - low) / (high - low) * top)] if x is not None else _BARS[0] for x in logs)
