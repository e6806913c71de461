"""What imported names refer to: fully qualified dotted names such as ``torch.nn.Linear``.

``import torch.nn as nn``, ``from torch import nn``, ``import torch.nn.functional
as F``, ``from torch.nn.init import xavier_uniform_`` all bind a ``Qual``; an
attribute of a ``Qual`` is a longer ``Qual``. Names are canonical, so
``Qual.name`` of ``torch.nn.modules.linear.Linear`` and of ``nn.Linear`` is the
same, and the keys of ``activations.FUNCTIONS`` can be matched directly.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Qual:
    """A name defined outside the file: a module, class or function, fully qualified."""

    dotted: str  # as imported: torch.nn.modules.linear.Linear

    def attr(self, name: str) -> Qual:
        return _attribute(self.dotted, name)

    @property
    def name(self) -> str:
        """The canonical name: torch.nn.Linear."""
        return canonical(self.dotted)

    @property
    def last(self) -> str:
        return self.dotted.rpartition(".")[2]

    @property
    def is_library_object(self) -> bool:
        """A module, class or function of a library we know, never None or a flag.

        A name imported from anywhere else may be a constant (``from config
        import USE_BN``): its truth and identity stay unknown.
        """
        return self.dotted.partition(".")[0] in _KNOWN_LIBRARIES and self.dotted != "typing.TYPE_CHECKING"


@lru_cache(maxsize=4096)
def _attribute(dotted: str, name: str) -> Qual:
    """One ``Qual`` per name: the same few (``nn.Linear``, ``F.relu``) are looked up again and again."""
    return Qual(f"{dotted}.{name}")


_KNOWN_LIBRARIES = frozenset(
    {"torch", "math", "numpy", "builtins", "collections", "functools", "typing", "warnings", "abc"}
)


# Packages whose public names torch re-exports one level up.
_REEXPORTED = {"torch.nn.modules.": "torch.nn.", "torch.nn.parameter.": "torch.nn.", "torch.functional.": "torch."}


@lru_cache(maxsize=4096)
def canonical(dotted: str) -> str:
    """``torch.nn.modules.conv.Conv2d`` -> ``torch.nn.Conv2d``; other names unchanged."""
    for prefix, public in _REEXPORTED.items():
        if dotted.startswith(prefix):
            return public + dotted.rpartition(".")[2]
    return dotted


def import_bindings(node: ast.Import | ast.ImportFrom) -> dict[str, Qual]:
    """The names an import statement binds, and what each refers to."""
    found: dict[str, Qual] = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                found[alias.asname] = Qual(alias.name)
            else:
                root = alias.name.partition(".")[0]
                found[root] = Qual(root)
        return found
    module = "." * node.level + (node.module or "")
    for alias in node.names:
        if alias.name == "*":
            continue  # star imports bind names we cannot list: they stay unknown
        found[alias.asname or alias.name] = Qual(f"{module}.{alias.name}" if module else alias.name)
    return found


_BUILTIN_NAMES = frozenset(dir(builtins))


@lru_cache(maxsize=1024)
def builtin(name: str) -> Qual | None:
    """A builtin's Qual (``builtins.len``) when ``name`` is not bound in the file."""
    return Qual(f"builtins.{name}") if name in _BUILTIN_NAMES else None
