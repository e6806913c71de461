"""How static mode builds a model class whose constructor needs arguments: from config objects with defaults.

The static reading of ``shared/recipes.py``: ``GPT(config: GPTConfig)`` with a
``GPTConfig`` of the file whose fields all have defaults is built as
``GPT(GPTConfig())``, as full mode does (``dynamic/recipes.py``). A config
class is one of the file's classes, not a module, whose objects ``instances``
knows how to make with no arguments. An annotation naming anything else
(``argparse.Namespace``, a class from another file, ``Optional[...]``) means no
recipe: the class stays unchecked.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from ..shared.recipes import defaults_of, module_config, named_like_a_config
from .construct import is_module_class
from .instances import qualified, required_arguments
from .names import Qual
from .values import ClassInfo


@dataclass(frozen=True)
class Recipe:
    """The config class made for each required parameter, and how ``built_by`` says so."""

    configs: tuple[tuple[str, ClassInfo], ...]  # (parameter, config class)

    @property
    def built_by(self) -> str:
        return defaults_of(config.name for _, config in self.configs)


def config_recipe(model: ClassInfo, missing: Sequence[str], classes: Sequence[ClassInfo]) -> Recipe | None:
    """The configs to make for the ``missing`` parameters of ``model``'s constructor; None when some
    parameter is not a config (``classes``: the file's top-level classes, where an unannotated one is found)."""
    annotations = _annotations(model)
    chosen = []
    for name in missing:
        if name in annotations:
            config = qualified(annotations[name], model.scope)  # annotated: that class or nothing
        elif named_like_a_config(name):
            config = module_config(model.name, _candidates(classes))
        else:
            return None
        if not (isinstance(config, ClassInfo) and is_config(config)):
            return None
        chosen.append((name, config))
    return Recipe(tuple(chosen)) if chosen else None


def is_config(cls: ClassInfo) -> bool:
    """A class of the file, not a module, whose objects are made here with no arguments."""
    return not _never_config(cls) and required_arguments(cls) == []


def _candidates(classes: Sequence[ClassInfo]) -> list[tuple[str, ClassInfo | None]]:
    """The file's config classes, and (as None) the classes static mode cannot tell are not one."""
    found: list[tuple[str, ClassInfo | None]] = []
    for cls in classes:
        missing = required_arguments(cls) if not _never_config(cls) else [""]
        if missing is None:
            found.append((cls.name, None))
        elif not missing:
            found.append((cls.name, cls))
    return found


def _never_config(cls: ClassInfo) -> bool:
    """A module, an exception or an enum: full mode never makes one as a config either."""
    if is_module_class(cls):
        return True
    names = [c.name for c in cls.mro() if isinstance(c, Qual)]
    return any(n.startswith("enum.") or n.startswith("builtins.") and n.endswith(_EXCEPTIONS) for n in names)


_EXCEPTIONS = ("Error", "Exception", "Warning", "BaseException", "Exit", "Interrupt")


def _annotations(model: ClassInfo) -> dict[str, ast.expr]:
    """The annotations of the parameters of the constructor ``model`` runs (the first ``__init__`` in its MRO)."""
    for c in model.mro():
        if isinstance(c, ClassInfo) and "__init__" in c.methods:
            spec = c.methods["__init__"].args
            every = [*spec.posonlyargs, *spec.args, *spec.kwonlyargs]
            return {a.arg: a.annotation for a in every if a.annotation is not None}
    return {}
