"""Measure: one forward at init on random inputs, and the RMS of what each weight layer reads and writes.

The rules predict the signal from the recorded inits and the traced graph.
Measuring it checks the prediction: a collapse the chains predict but the
forward does not show is softened, and one the forward shows but nothing
predicted is reported (IL206). Only models with real values are measured (not
those built on the meta device), in training mode as they start training
(BatchNorm normalizes the batch), without gradients.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn as nn

from .trace import example_calls, required_inputs


@dataclass(frozen=True)
class Measured:
    """RMS of a layer's input and output at its first call."""

    input_rms: float
    output_rms: float


def layer_rms(model: nn.Module, layers: Iterable[str]) -> dict[str, Measured]:
    """Each named weight layer's first call in one forward; empty when no guessed input runs."""
    names = required_inputs(model)
    if not names or any(p.is_meta for p in model.parameters()):
        return {}
    modules = {}
    for name in layers:
        try:
            modules[name] = model.get_submodule(name)
        except AttributeError:
            continue  # a functional layer's parameter: not a module to hook
    for inputs in example_calls(model, len(names)):
        seen: dict[str, Measured] = {}
        hooks = [m.register_forward_hook(_recorder(name, seen)) for name, m in modules.items()]
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.manual_seed(0)  # dropout's masks: the same on every run
                model(**dict(zip(names, inputs, strict=True)))
        except Exception:
            continue
        finally:
            for hook in hooks:
                hook.remove()
        return seen
    return {}


def _recorder(name: str, seen: dict[str, Measured]):  # type: ignore[no-untyped-def]  # torch's hook signature
    def record(module: nn.Module, args: tuple[object, ...], output: object) -> None:
        if name in seen or not args or not isinstance(args[0], torch.Tensor) or not isinstance(output, torch.Tensor):
            return
        before, after = _rms(args[0]), _rms(output)
        if before is not None and after is not None:
            seen[name] = Measured(before, after)

    return record


def _rms(tensor: torch.Tensor) -> float | None:
    if not tensor.is_floating_point() or tensor.numel() == 0:
        return None
    value = float(tensor.detach().double().pow(2).mean().sqrt())
    return value if math.isfinite(value) else None
