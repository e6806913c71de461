"""How to build a model class whose constructor needs arguments: from config objects with defaults.

``GPT(config: GPTConfig)`` with a ``GPTConfig`` dataclass whose fields all
have defaults is the way small GPT, ViT and diffusion repositories write
models. Such a class is built with ``GPTConfig()``: the config class is found
by the parameter's annotation, or, for a parameter named like a config
(``config``, ``cfg``, ``args``...), among the config classes the model's own
module defines. A config class is a project class (not torch's, not the
standard library's: ``argparse.Namespace()`` holds nothing) that is not a
module and can be made with no arguments: a dataclass, NamedTuple or attrs
class with defaults for every field, or a plain class of class attributes.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable
from typing import Any

import torch.nn as nn

from ..shared.recipes import defaults_of, module_config, named_like_a_config
from .record import CodeMap


def required_arguments(factory: Callable[..., Any]) -> list[str]:
    """Parameters a call with no arguments would be missing."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return []
    return [
        name
        for name, p in signature.parameters.items()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def config_recipe(cls: type) -> tuple[dict[str, type], str] | None:
    """The config class to make for each required parameter of ``cls``, and how to say so
    (``defaults-of GPTConfig``); None when some required parameter is not a config."""
    hints = _hints(cls)
    chosen: dict[str, type] = {}
    for name in required_arguments(cls):
        config = hints.get(name)
        if config is None and named_like_a_config(name):  # unannotated `cfg`: the module's config class
            config = _config_of_module(cls)
        if not _is_config_class(config):
            return None
        assert isinstance(config, type)
        chosen[name] = config
    if not chosen:
        return None
    return chosen, defaults_of(c.__name__ for c in chosen.values())


def build_with(cls: type, configs: dict[str, type]) -> Callable[[], Any]:
    """The factory: the configs are made inside it, so whatever they build is recorded too."""
    return lambda: cls(**{name: config() for name, config in configs.items()})


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)  # type: ignore[misc]  # an __init__ is any callable here
    except Exception:  # an annotation naming something not importable: no hint
        return {}


def _is_config_class(value: object) -> bool:
    if not isinstance(value, type) or issubclass(value, (nn.Module, BaseException)):
        return False
    source = _source_file(value)
    return source is not None and CodeMap().classify(source)[0] == "user" and not required_arguments(value)


def _source_file(cls: type) -> str | None:
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    return filename if isinstance(filename, str) else None


def _config_of_module(model: type) -> type | None:
    """The one config class the model's module defines, or the one named after the model (GPT -> GPTConfig)."""
    module = sys.modules.get(model.__module__)
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and value.__module__ == model.__module__ and _is_config_class(value)
    ]
    return module_config(model.__name__, [(c.__name__, c) for c in found])
