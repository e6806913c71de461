"""``--format sarif``: one SARIF 2.1.0 log, as GitHub code scanning uploads it."""

from __future__ import annotations

import hashlib
import json
import math
import os
import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..findings import ERROR, INFO, WARNING, Finding, Fix
from ..rules import REPOSITORY, RULES, Rule, rule_url
from .locations import from_root, repository_root
from .model import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = REPOSITORY
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "initlint/v1"
LEVELS = {ERROR: "error", WARNING: "warning", INFO: "note"}
_RULE_INDEX = {rule.code: index for index, rule in enumerate(RULES)}


def artifact_location(path: str) -> dict[str, str]:
    """A POSIX URI relative to the repository's root under %SRCROOT% (what code scanning maps to the
    repository, from any working directory), else a file URI."""
    relative = from_root(path)
    if relative is None:
        return {"uri": Path(os.path.abspath(path)).as_uri()}
    return {"uri": quote(posixpath.normpath(relative)), "uriBaseId": SRCROOT}


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    # SARIF positions are 1-based like ours; clamp so a degenerate span stays schema-valid.
    start_line, start_column = max(line, 1), max(column, 1)
    end_line = max(end_line, start_line)
    end_column = max(end_column, 1) if end_line > start_line else max(end_column, start_column)
    return {"startLine": start_line, "startColumn": start_column, "endLine": end_line, "endColumn": end_column}


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    doc = rule.doc()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.what.strip()},
        "help": {"text": doc, "markdown": doc},
        "helpUri": rule_url(rule),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
    }


def fingerprint(f: Finding) -> str:
    """Identity of a finding across runs: no line, column or message, which shift with edits."""
    parts = (f.code, artifact_location(f.path)["uri"], f.model or "", f.layer or "", f.parameter or "")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _fix(fix: Fix) -> dict[str, Any]:
    changes: dict[str, list[dict[str, Any]]] = {}
    for edit in fix.edits:
        region = _region(edit.line, edit.column, edit.end_line, edit.end_column)
        replacement: dict[str, Any] = {"deletedRegion": region, "insertedContent": {"text": edit.content}}
        if edit.cell is not None:  # a notebook: the region's lines are the cell's
            replacement["properties"] = {"cell": edit.cell}
        changes.setdefault(edit.path, []).append(replacement)
    return {
        "description": {"text": fix.message},
        "artifactChanges": [
            {"artifactLocation": artifact_location(path), "replacements": replacements}
            for path, replacements in changes.items()
        ],
        "properties": {"applicability": fix.applicability},
    }


def result(f: Finding, fingerprint_value: str) -> dict[str, Any]:
    properties = {
        "cell": f.cell,  # a notebook: the region's lines are within this cell (numbered from 1 among all cells)
        "model": f.model,
        "layer": f.layer,
        "layers": list(f.layers) or None,
        "parameter": f.parameter,
        "layer_type": f.layer_type,
        "activation": f.activation,
        "init": f.init,
        "expected_std": _finite(f.expected_std),
        "actual_std": _finite(f.actual_std),
    }
    record = {
        "ruleId": f.code,
        "ruleIndex": _RULE_INDEX.get(f.code, -1),  # -1: SARIF's "no descriptor"
        "level": LEVELS[f.severity],
        "message": {"text": f.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": artifact_location(f.path),
            "region": _region(f.line, f.column, f.end_line, f.end_column),
        }}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint_value},
        "properties": {key: value for key, value in properties.items() if value is not None},
    }  # fmt: skip
    if f.fix is not None:
        record["fixes"] = [_fix(f.fix)]
    return record


def _fingerprints(findings: tuple[Finding, ...]) -> list[str]:
    """One per finding; a repeat of the same identity gets its rank appended so none collide."""
    seen: dict[str, int] = {}
    values = []
    for f in findings:
        base = fingerprint(f)
        seen[base] = seen.get(base, 0) + 1
        values.append(base if seen[base] == 1 else f"{base}:{seen[base]}")
    return values


def render(report: Report) -> str:
    run = {
        "tool": {"driver": {
            "name": "initlint",
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": INFORMATION_URI,
            "rules": [rule_descriptor(rule) for rule in RULES],
        }},
        "originalUriBaseIds": {SRCROOT: {"uri": Path(repository_root(os.getcwd())).as_uri() + "/"}},
        "invocations": [{"executionSuccessful": True}],
        "columnKind": "unicodeCodePoints",  # our columns count code points (shared/positions.py), not UTF-16 units
        "results": [result(f, fp) for f, fp in zip(report.findings, _fingerprints(report.findings))],
    }  # fmt: skip
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, allow_nan=False)
