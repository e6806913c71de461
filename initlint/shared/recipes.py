"""Config recipes, as both modes follow them: which config object a model class is built with.

``GPT(config: GPTConfig)`` is built as ``GPT(GPTConfig())`` when every field of
the config has a default. The config class of a required parameter is its
annotation or, for an unannotated parameter named like a config (``config``,
``cfg``, ``args``...), the config class the model's module defines: the one
named after the model (GPT -> GPTConfig), else the only one. Full mode reads
classes it imported (``dynamic/recipes.py``), static mode the classes of the
source (``static/recipes.py``); both name the build ``defaults-of GPTConfig``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

CONFIG_NAMES = frozenset({"config", "cfg", "conf", "configs", "args", "hparams", "hp", "opt", "params", "settings"})

Config = TypeVar("Config")


def named_like_a_config(parameter: str) -> bool:
    """An unannotated parameter that takes the module's config class: ``cfg``, ``config``, ``hparams``..."""
    return parameter.lower() in CONFIG_NAMES


def module_config(model: str, candidates: Sequence[tuple[str, Config | None]]) -> Config | None:
    """The config class of ``model``'s module among ``candidates`` (name, class): the one named after the
    model (``GPTConfig``, ``GPTCfg``), else the only one. A candidate given as None is a class that may be
    a config (static mode cannot tell): it is never chosen, and it makes "the only one" undecided."""
    named = [config for name, config in candidates if name.lower() in (f"{model}config".lower(), f"{model}cfg".lower())]
    if named:
        return named[0]
    return candidates[0][1] if len(candidates) == 1 else None


def defaults_of(config_names: Iterable[str]) -> str:
    """``built_by`` of a model built from config defaults: ``defaults-of GPTConfig``."""
    return "defaults-of " + ", ".join(dict.fromkeys(config_names))
