"""A running function: its frame, the signals that end it early, and the error for code we cannot follow."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from .values import ClassInfo, Scope


class GiveUp(Exception):
    """The code does something static analysis cannot follow."""

    def __init__(self, reason: str, node: ast.AST | None = None):
        line = getattr(node, "lineno", None)
        super().__init__(f"{reason} (line {line})" if line else reason)


class Raises(GiveUp):
    """Code that surely raises when run (``raise`` that surely runs, ``nn.Linear(16, None)``)."""


class BreakLoop(Exception):
    """``break`` in code that surely runs."""


class ContinueLoop(Exception):
    """``continue`` in code that surely runs."""


class Returned(Exception):
    """``return`` in code that surely runs, with its value."""

    def __init__(self, value: Any):
        super().__init__()
        self.value = value


@dataclass(eq=False)
class Frame:
    """One running function."""

    scope: Scope
    owner: ClassInfo | None = None  # the class the running method is defined in
    receiver: Any = None  # its ``self``
    entry_maybe: int = 0  # maybe level when the function was entered
    loops: list[int] = field(default_factory=list)  # maybe level at the start of each enclosing loop
    returns: list[Any] = field(default_factory=list)  # values returned by branches that may not run
    degraded: bool = False  # a branch that may not run returned or broke out: the rest may not run
