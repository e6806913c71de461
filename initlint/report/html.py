"""``--format html``: one self-contained page (inline CSS, JS and SVG, nothing fetched) to read a run in.

The findings come first, each a link to the layers it names; then each model: an SVG plot of its
signal's RMS through depth (``signal.py`` computes the series) and its layers in order, each with its
init, stds and findings. Every string that comes from the user's code (paths, model and layer names,
messages) is escaped; the script reads nothing from them but element ids.
"""

from __future__ import annotations

import math
from html import escape

from ..findings import Finding
from ..rules.base import fmt
from .model import LayerRow, ModelEntry, Report
from .signal import MEASURED, REFERENCE, Series, Signal, findings_of, flagged_layers, reported_on, signal
from .text import summary

# No request can leave the page, even if a string slipped through unescaped.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 0 16px 48px; color: #1f2328; }
h1 { font-size: 22px; margin: 20px 0 4px; }
h2 { font-size: 18px; margin: 32px 0 4px; border-top: 1px solid #d0d7de; padding-top: 16px; }
code, td.num, .path { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
.muted { color: #59636e; }
ul.findings { list-style: none; padding: 0; }
ul.findings li { margin: 4px 0; }
a.finding { color: inherit; text-decoration: none; display: block; padding: 4px 8px; border-radius: 6px; }
a.finding:hover { background: #f6f8fa; }
.code { font-weight: 600; font-family: ui-monospace, Menlo, Consolas, monospace; }
.sev-error { color: #cf222e; } .sev-warning { color: #9a6700; } .sev-info { color: #0969da; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { font-weight: 600; background: #f6f8fa; }
td.num { text-align: right; white-space: nowrap; }
tr.flagged td:first-child { box-shadow: inset 3px 0 0 #cf222e; }
tr.highlight, tr:target { background: #fff8c5; }
ul.layer-findings { margin: 0; padding-left: 16px; }
table.layers td:last-child { min-width: 260px; }
table.layers code { overflow-wrap: break-word; }
section.model { padding: 0 8px; }
.plot { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
.legend { list-style: none; padding: 0; margin: 8px 0; min-width: 260px; }
.legend li { margin: 3px 0; }
.legend svg { vertical-align: middle; margin-right: 6px; }
svg.signal text { font: 11px system-ui, sans-serif; fill: #59636e; }
svg.signal .grid { stroke: #eaeef2; }
svg.signal .axis { stroke: #8c959f; }
polyline.line, line.line { fill: none; stroke-width: 2; }
.reference { stroke: #8c959f; stroke-dasharray: 6 4; }
.initialised { stroke: #cf222e; fill: #cf222e; }
.fixed { stroke: #1a7f37; fill: #1a7f37; stroke-dasharray: 2 3; }
.per-layer { stroke: #0969da; fill: #ffffff; stroke-dasharray: 1 4; }
.measured { stroke: #0969da; fill: #0969da; }
circle.point { stroke-width: 1.5; cursor: pointer; }
.status { display: inline-block; padding: 0 8px; border-radius: 10px; background: #eaeef2; font-size: 12px; }
"""

# Clicking a finding (or a plot point) highlights the layers it names and scrolls the first into view.
_SCRIPT = """
document.addEventListener("click", function (event) {
  var link = event.target.closest("[data-layers]");
  if (!link) { return; }
  event.preventDefault();
  var ids = link.getAttribute("data-layers").split(" ");
  document.querySelectorAll(".highlight").forEach(function (row) { row.classList.remove("highlight"); });
  ids.forEach(function (id) {
    var row = document.getElementById(id);
    if (row) { row.classList.add("highlight"); }
  });
  var first = document.getElementById(ids[0]);
  if (first) { first.scrollIntoView({block: "center"}); }
});
"""

_SERIES_NOTE = (
    "Predicted series follow the layers in order as one chain, from each layer's std against its "
    "variance-preserving std (the findings' math; biases left out): the RMS after each layer and its activation, "
    "relative to the input's. <em>After the suggested fixes</em> puts every layer a finding names at its "
    "variance-preserving std. Measured series (full mode only) are the RMS of each layer's output before its "
    "activation, biases included, in one forward at init on a random input of RMS about 1; before a ReLU a "
    "variance-preserving layer outputs 1.41 times its input's RMS."
)

_WIDTH, _HEIGHT = 640, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 12, 12, 30
_MAX_TICKS = 8


def _model_id(index: int) -> str:
    return f"model-{index}"


def _layer_id(index: int, layer: int) -> str:
    return f"model-{index}-layer-{layer}"


def _targets(report: Report, finding: Finding) -> list[tuple[ModelEntry, list[str]]]:
    """Each model the finding is reported on, with the ids of its rows the finding names."""
    named = flagged_layers((finding,))
    found = []
    for index, entry in enumerate(report.models):
        if reported_on(finding, entry):
            rows = [_layer_id(index, j) for j, row in enumerate(entry.layers) if row.layer in named]
            found.append((entry, rows or [_model_id(index)]))
    return found


def _finding_summary(finding: Finding) -> str:
    return (
        f'<span class="code sev-{escape(finding.severity)}">{escape(finding.code)}</span> '
        f'<span class="sev-{escape(finding.severity)}">[{escape(finding.severity)}]</span> '
        f"{escape(finding.message)}"
    )


def _finding_item(report: Report, finding: Finding) -> str:
    location = f'<span class="path">{escape(f"{finding.path}:{finding.line}:{finding.column}")}</span>'
    targets = _targets(report, finding)
    body = f"{location} {_finding_summary(finding)}"
    if not targets:
        return f'<li><span class="finding">{body}</span></li>'
    _, ids = targets[0]
    also = "".join(
        f' <a href="#{ids[0]}" data-layers="{" ".join(ids)}">also in {escape(entry.model)}</a>'
        for entry, ids in targets[1:]
    )
    return f'<li><a class="finding" href="#{ids[0]}" data-layers="{" ".join(ids)}">{body}</a>{also}</li>'


def _findings_section(report: Report) -> str:
    if not report.findings:
        return "<p>No findings.</p>"
    items = "\n".join(_finding_item(report, f) for f in report.findings)
    return f'<h2 id="findings">Findings</h2>\n<ul class="findings">\n{items}\n</ul>'


def _models_index(report: Report) -> str:
    rows = "\n".join(
        f'<tr><td><a href="#{_model_id(i)}">{escape(m.model or m.path)}</a></td><td class="path">{escape(m.path)}'
        f'</td><td><span class="status">{escape(m.status)}</span></td><td class="num">{len(m.layers)}</td>'
        f"<td>{escape(m.detail)}</td></tr>"
        for i, m in enumerate(report.models)
    )
    head = "<tr><th>model</th><th>file</th><th>status</th><th>layers</th><th>detail</th></tr>"
    return f'<h2 id="models">Models</h2>\n<table class="models">\n{head}\n{rows}\n</table>'


# -- the plot ---------------------------------------------------------------------------------------


class _Scale:
    """Where a layer and an RMS fall in the plot: layers evenly spaced, RMS on whole decades of log10."""

    def __init__(self, layers: int, values: list[float]) -> None:
        logs = [math.log10(v) for v in values if v > 0 and math.isfinite(v)]
        logs.append(math.log10(REFERENCE))
        self.low, self.high = math.floor(min(logs)), math.ceil(max(logs))
        if self.high - self.low < 1:
            self.high = self.low + 1
        self.layers = layers
        self.step = (_WIDTH - _LEFT - _RIGHT) / max(layers, 1)

    def x(self, layer: int) -> float:
        return _LEFT + (layer + 0.5) * self.step

    def y(self, value: float) -> float:
        """Zero (a constant init) sits on the bottom edge."""
        at = math.log10(value) if value > 0 else self.low
        share = (at - self.low) / (self.high - self.low)
        return _TOP + (1.0 - share) * (_HEIGHT - _TOP - _BOTTOM)

    def decades(self) -> range:
        return range(self.low, self.high + 1, max(1, math.ceil((self.high - self.low) / _MAX_TICKS)))


def _axes(scale: _Scale) -> list[str]:
    parts = []
    for decade in scale.decades():
        y = scale.y(10.0**decade)
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{10.0**decade:g}</text>')
    bottom = _HEIGHT - _BOTTOM
    parts.append(f'<line class="axis" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{bottom}" y2="{bottom}"/>')
    every = max(1, math.ceil(scale.layers / 20))
    for layer in range(0, scale.layers, every):
        parts.append(f'<text x="{scale.x(layer):.1f}" y="{bottom + 16}" text-anchor="middle">{layer + 1}</text>')
    parts.append(f'<text x="{_WIDTH - _RIGHT}" y="{_HEIGHT - 2}" text-anchor="end">layer</text>')
    return parts


def _runs(values: tuple[float | None, ...]) -> list[list[int]]:
    """The stretches of consecutive known values: a line is not drawn across an unknown one."""
    runs: list[list[int]] = []
    for j, value in enumerate(values):
        if value is None:
            continue
        if runs and runs[-1][-1] == j - 1:
            runs[-1].append(j)
        else:
            runs.append([j])
    return runs


def _series(series: Series, scale: _Scale, model: int, layers: tuple[str, ...]) -> list[str]:
    parts = []
    known = series.values
    for run in _runs(known):
        points = " ".join(f"{scale.x(j):.1f},{scale.y(known[j] or 0.0):.1f}" for j in run)
        parts.append(f'<polyline class="line {series.key}" points="{points}"/>')
    if series.key == "reference":
        return parts
    radius = max(1.5, min(4.0, scale.step / 4))
    for j, value in enumerate(known):
        if value is None:
            continue
        title = escape(f"{layers[j]}: {fmt(value)} ({series.label})")
        parts.append(
            f'<circle class="point {series.key}" data-layers="{_layer_id(model, j)}" cx="{scale.x(j):.1f}" '
            f'cy="{scale.y(value):.1f}" r="{radius:.1f}"><title>{title}</title></circle>'
        )
    return parts


def _plot(shown: Signal, model: int) -> str:
    values = [v for s in shown.series for v in s.values if v is not None]
    scale = _Scale(len(shown.layers), values)
    parts = _axes(scale)
    for series in shown.series:
        parts += _series(series, scale, model, shown.layers)
    label = "The signal's RMS through the layers, log scale"
    body = "\n".join(parts)
    return (
        f'<svg class="signal" role="img" aria-label="{label}" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}">\n{body}\n</svg>'
    )


def _legend(shown: Signal) -> str:
    items = []
    for series in shown.series:
        if all(v is None for v in series.values):
            continue
        swatch = (
            f'<svg width="28" height="10"><line class="line {series.key}" x1="0" x2="28" y1="5" y2="5"/>'
            + ("" if series.key == "reference" else f'<circle class="swatch {series.key}" cx="14" cy="5" r="3"/>')
            + "</svg>"
        )
        source = "measured" if series.source == MEASURED else "predicted"
        items.append(f"<li>{swatch}{escape(series.label)} <span class='muted'>({source})</span></li>")
    end = f"<li class='muted'>predicted end: {fmt(shown.end)} of the input RMS (reference 1)</li>"
    return f'<ul class="legend">{"".join(items)}{end}</ul>'


# -- a model's section ------------------------------------------------------------------------------


def _layer_note(finding: Finding, row: LayerRow, first: str) -> str:
    """A finding on a layer: in full on the first layer it names here, a pointer to it on the others."""
    if row.layer == first:
        return f"<li>{_finding_summary(finding)}</li>"
    code = f'<span class="code sev-{escape(finding.severity)}">{escape(finding.code)}</span>'
    return f"<li>{code} as on <code>{escape(first)}</code></li>"


def _layer_row(model: int, j: int, row: LayerRow, predicted: float | None, findings: list[tuple[Finding, str]]) -> str:
    ratio = row.actual_std / row.expected_std if row.actual_std is not None and row.expected_std else None
    notes = "".join(_layer_note(f, row, first) for f, first in findings)
    cells = [
        f'<td class="num">{j + 1}</td>',
        f"<td><code>{escape(row.layer)}</code></td>",
        f"<td>{escape(row.layer_type)}</td>",
        f"<td>{escape(row.activation or 'not paired')}{' (normalized)' if row.norm_between else ''}</td>",
        f"<td><code>{escape(row.init)}</code></td>",
        f'<td class="num">{fmt(row.actual_std)}</td>',
        f'<td class="num">{fmt(row.expected_std)}</td>',
        f'<td class="num">{fmt(ratio)}</td>',
        f'<td class="num">{fmt(predicted)}</td>',
        f'<td class="num">{fmt(row.measured_rms)}</td>',
        f"<td>{f'<ul class=layer-findings>{notes}</ul>' if notes else ''}</td>",
    ]
    flagged = ' class="flagged"' if findings else ""
    return f'<tr id="{_layer_id(model, j)}"{flagged}>{"".join(cells)}</tr>'


_LAYER_HEAD = (
    "<tr><th>#</th><th>layer</th><th>type</th><th>activation</th><th>init</th><th>std</th>"
    "<th>expected std</th><th>std ratio</th><th>predicted signal</th><th>measured RMS</th><th>findings</th></tr>"
)


def _layers_table(model: int, entry: ModelEntry, shown: Signal, findings: list[Finding]) -> str:
    order = [row.layer for row in entry.layers]
    named = [(f, [layer for layer in order if layer in flagged_layers((f,))]) for f in findings]
    rows = [
        _layer_row(model, j, row, shown.initialised.values[j], [(f, on[0]) for f, on in named if row.layer in on])
        for j, row in enumerate(entry.layers)
    ]
    return f'<table class="layers">\n{_LAYER_HEAD}\n' + "\n".join(rows) + "\n</table>"


def _model_section(report: Report, index: int, entry: ModelEntry) -> str:
    built = f" built by {escape(entry.built_by)}" if entry.built_by else ""
    header = (
        f'<h2 id="{_model_id(index)}">{escape(entry.model or entry.path)}</h2>\n'
        f'<p><span class="path">{escape(entry.path)}</span> <span class="status">{escape(entry.status)}</span>'
        f'<span class="muted">{built}</span></p>'
    )
    detail = f'<p class="detail">{escape(entry.detail)}</p>' if entry.detail else ""
    if not entry.layers:
        return f'<section class="model" data-layers-count="0">\n{header}\n{detail}\n<p>No layers.</p>\n</section>'
    findings = findings_of(report, entry)
    shown = signal(entry, flagged_layers(findings))
    plot = f'<div class="plot">{_plot(shown, index)}{_legend(shown)}</div>'
    return (
        f'<section class="model" data-layers-count="{len(entry.layers)}">\n{header}\n{detail}\n{plot}\n'
        f"{_layers_table(index, entry, shown, findings)}\n</section>"
    )


def _notes(report: Report) -> str:
    lines = [f"{path}: no such file or directory" for path in report.missing] + list(report.notes)
    if not lines:
        return ""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f'<h2 id="notes">Notes</h2>\n<ul class="notes">{items}</ul>'


def render(report: Report) -> str:
    sections = "\n".join(_model_section(report, i, m) for i, m in enumerate(report.models))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>initlint report</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>initlint report</h1>
<p class="summary">{escape(summary(report))}</p>
{_findings_section(report)}
{_notes(report)}
{_models_index(report)}
<p class="muted">{_SERIES_NOTE}</p>
{sections}
<script>{_SCRIPT}</script>
</body>
</html>"""
