"""A torch function's parameters as a table row: names in positional order, defaults, kinds."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # a parameter without a default

# Parameter kinds, as ``inspect.Parameter`` has them.
POSITIONAL = "positional"  # positional or keyword
KEYWORD = "keyword"  # keyword-only
VAR_POSITIONAL = "var_positional"  # *args
VAR_KEYWORD = "var_keyword"  # **kwargs


@dataclass(frozen=True)
class Param:
    name: str
    kind: str = POSITIONAL  # POSITIONAL | KEYWORD | VAR_POSITIONAL | VAR_KEYWORD
    default: Any = REQUIRED


def params(names: str, defaults: Mapping[str, Any] | None = None) -> tuple[Param, ...]:
    """``params("tensor a b * generator", {"a": 0, ...})``: names in order, ``*`` starts
    keyword-only ones, ``*args`` and ``**kwargs`` are the variadic ones."""
    found: list[Param] = []
    kind = POSITIONAL
    for name in names.split():
        if name == "*":
            kind = KEYWORD
        elif name.startswith("**"):
            found.append(Param(name[2:], VAR_KEYWORD))
        elif name.startswith("*"):
            found.append(Param(name[1:], VAR_POSITIONAL))
            kind = KEYWORD
        else:
            found.append(Param(name, kind, (defaults or {}).get(name, REQUIRED)))
    return tuple(found)


def names(row: Sequence[Param]) -> tuple[str, ...]:
    """The parameters a call can name, in order (positional ones first, then keyword-only)."""
    return tuple(p.name for p in row if p.kind in (POSITIONAL, KEYWORD))


def defaults(row: Sequence[Param]) -> dict[str, Any]:
    return {p.name: p.default for p in row if p.default is not REQUIRED}


def bind(row: Sequence[Param], positional: Sequence[Any], keywords: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments by parameter name, defaults filled in, leniently: what a call that ran (or
    that torch would reject anyway) passed. Missing required ones are left out."""
    bound = {p.name: p.default for p in row if p.default is not REQUIRED and p.kind in (POSITIONAL, KEYWORD)}
    bound.update(zip([p.name for p in row if p.kind == POSITIONAL], positional))
    bound.update(keywords)
    return bound


_KINDS = {
    POSITIONAL: inspect.Parameter.POSITIONAL_OR_KEYWORD,
    KEYWORD: inspect.Parameter.KEYWORD_ONLY,
    VAR_POSITIONAL: inspect.Parameter.VAR_POSITIONAL,
    VAR_KEYWORD: inspect.Parameter.VAR_KEYWORD,
}


def signature(row: Sequence[Param]) -> inspect.Signature:
    """The row as an ``inspect.Signature`` (to bind calls with Python's rules)."""
    return inspect.Signature(
        [
            inspect.Parameter(
                p.name, _KINDS[p.kind], default=inspect.Parameter.empty if p.default is REQUIRED else p.default
            )
            for p in row
        ]
    )
