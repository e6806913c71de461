"""``--format json``: exactly one JSON object, the contract users' CI parses."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from ..findings import Finding
from .model import LayerRow, ModelEntry, Report

VERSION = 1


def _number(x: float | None, digits: int = 6) -> float | None:
    """A float as the contract shows it: ``digits`` significant digits (4 for measurements, whose last
    digits depend on the machine's arithmetic)."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def finding_record(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "severity": f.severity,
        "path": f.path,
        "cell": f.cell,  # a notebook's cell (numbered from 1 among all its cells), else null; lines are the cell's
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line,
        "end_column": f.end_column,
        "model": f.model,
        "layer": f.layer,
        "parameter": f.parameter,
        "layer_type": f.layer_type,
        "activation": f.activation,
        "init": f.init,
        "expected_std": _number(f.expected_std),
        "actual_std": _number(f.actual_std),
        "message": f.message,
        "fix": asdict(f.fix) if f.fix is not None else None,
        "layers": list(f.layers),
        "models": list(f.models) if f.models else ([f.model] if f.model else []),
    }


def layer_record(row: LayerRow) -> dict[str, Any]:
    return {
        "layer": row.layer,
        "layer_type": row.layer_type,
        "activation": row.activation,
        "upstream": row.upstream,
        "norm_between": row.norm_between,
        "init": row.init,
        "actual_std": _number(row.actual_std),
        "expected_std": _number(row.expected_std),
        "predicted_rms": _number(row.predicted_rms, digits=4),
        "measured_rms": _number(row.measured_rms, digits=4),
    }


def model_record(m: ModelEntry) -> dict[str, Any]:
    return {
        "path": m.path,
        "model": m.model,
        "status": m.status,
        "built_by": m.built_by,
        "detail": m.detail,
        "layers": [layer_record(row) for row in m.layers],
    }


def render(report: Report) -> str:
    document = {
        "version": VERSION,
        "findings": [finding_record(f) for f in report.findings],
        "models": [model_record(m) for m in report.models],
        "summary": {"files": report.files, "models": len(report.models), "findings": len(report.findings)},
    }
    return json.dumps(document, indent=2)
