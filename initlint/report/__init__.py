"""Renderers of a Report: one module per output format."""

from __future__ import annotations

from typing import Callable

from ..engine import Report
from . import json_format, text

FORMATS: dict[str, Callable[..., str]] = {
    "text": text.render,
    "json": json_format.render,
}
