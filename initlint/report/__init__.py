"""Renderers of a Report: one module per output format."""

from __future__ import annotations

from typing import Callable

from . import github, json_format, junit, sarif, statistics, text

FORMATS: dict[str, Callable[..., str]] = {
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
    "junit": junit.render,
}
STATISTICS = statistics.render  # --statistics: a count per rule instead of the findings
