"""Renderers of a Report: one module per output format, imported only when used."""

from __future__ import annotations

import importlib
from collections.abc import Callable

_MODULES = {
    "text": "text", "json": "json_format", "sarif": "sarif", "github": "github", "junit": "junit",
    "html": "html", "statistics": "statistics",  # --statistics rather than a --format
}  # fmt: skip
FORMATS = ("text", "json", "sarif", "github", "junit", "html")


def renderer(name: str) -> Callable[..., str]:
    """The ``render`` function of a format (or of ``statistics``)."""
    render: Callable[..., str] = importlib.import_module(f".{_MODULES[name]}", __name__).render
    return render
