"""Variants: factories that build the same model, so a zoo's architecture is analysed once.

A model zoo registers many factories per architecture (``resnet_small``,
``resnet_small_drop``, ``resnet_small_pretrained``...). Each is built first
on the meta device, which costs milliseconds at any size, and summarised by a
*signature*: the model's class, every module's class and plain settings,
every parameter's and buffer's shape and dtype, and the init each parameter
received (the calls, their arguments and lines). Two factories with the same
signature build models whose forwards run the same code over the same
settings and whose parameters got the same init, so every finding is the
same: the first is analysed, the others are reported as its variants.

Float settings (dropout and drop-path rates, attention scales) are left out:
they change values, never which layer feeds which activation; the inits they
pick are in the recorded calls.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn as nn

from ..shared.facts import ParamInit
from .record import InitRecorder

_MODULE_STATE = frozenset({"_parameters", "_buffers", "_modules", "training"})


def signature(model: nn.Module, recorder: InitRecorder) -> str:
    """What decides the model's findings, hashed (see the module docstring)."""
    parts: list[object] = [_class_name(type(model))]
    for name, module in model.named_modules():
        parts.append((name, _class_name(type(module)), tuple(_settings(module))))
        for parameter_name, parameter in module.named_parameters(recurse=False):
            parts.append((parameter_name, tuple(parameter.shape), str(parameter.dtype)))
            parts.append(_init(recorder.param_init(parameter)))
        for buffer_name, buffer in module.named_buffers(recurse=False):
            parts.append((buffer_name, tuple(buffer.shape), str(buffer.dtype)))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _settings(module: nn.Module) -> Iterator[tuple[str, str]]:
    """The module's own attributes that can steer its forward: not floats, not tensors."""
    for name, value in sorted(vars(module).items()):
        if name in _MODULE_STATE or name.startswith("_"):
            continue
        shown = _shown(value)
        if shown is not None:
            yield name, shown


def _shown(value: Any, depth: int = 0) -> str | None:
    """A setting as compared: plain values by value, functions and classes by name, containers and
    objects (a config a forward reads) by their contents, two levels deep; floats and tensors not."""
    if isinstance(value, (float, torch.Tensor)):
        return None
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}"
    if depth >= 2 or isinstance(value, nn.Module):
        return type(value).__qualname__
    if isinstance(value, (tuple, list, set, frozenset)):
        items = (
            sorted(map(str, (_shown(v, depth + 1) for v in value)))
            if isinstance(value, (set, frozenset))
            else [str(_shown(v, depth + 1)) for v in value]
        )
        return f"{type(value).__name__}({', '.join(items)})"
    if isinstance(value, dict):
        items = [f"{k!r}: {_shown(v, depth + 1)}" for k, v in value.items()]
        return f"{{{', '.join(sorted(items))}}}"
    contents = getattr(value, "__dict__", None)
    if isinstance(contents, dict):
        items = [f"{k}={_shown(v, depth + 1)}" for k, v in sorted(contents.items(), key=lambda kv: str(kv[0]))]
        return f"{type(value).__qualname__}({', '.join(items)})"
    return type(value).__qualname__


def _init(init: ParamInit) -> tuple[object, ...]:
    steps = tuple((s.call, s.function, s.origin, s.site, s.effect, s.region, s.value) for s in init.steps)
    return (init.family, init.std, init.mean, init.gain, init.mode, steps)
