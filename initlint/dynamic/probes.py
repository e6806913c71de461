"""Probes: call a weight layer on a small input to learn what its code does with its weight.

What a layer's forward does with its weight decides what its init means:
transformers' ``Conv1D`` stores (in, out) instead of (out, in)
(``input_major``); weight-standardised convolutions and spectral norm divide
the weight by its own scale on every call, so the init's scale has no effect
at all (``scale_free``). Reading the code would miss the ways people write
these; calling the layer does not.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils import parametrize

from ..shared.knowledge.modules import CONV, CONV_TRANSPOSE, DENSE

_SCALE = 3.0
# Outputs this close (relative norm) are the same: a standardising forward's eps moves them ~1e-4; a
# forward that uses the weight's scale moves them by about (3 - 1) times the weight's share of them.
_SAME = 1e-2


def input_major(module: nn.Module, weight: torch.Tensor) -> bool | None:
    """Whether a custom 2-D layer stores its weight as (in, out), like transformers' Conv1D.

    Found by calling it on a batch of each candidate width (on the weight's
    device, so meta works): None when neither or both fit.
    """
    rows, cols = weight.shape[0], weight.shape[1]
    if weight.dim() != 2 or rows == cols:
        return None
    fits = []
    for width, out in ((cols, rows), (rows, cols)):
        try:
            with torch.no_grad():
                y = module(torch.zeros(2, width, device=weight.device, dtype=weight.dtype))
            fits.append(isinstance(y, torch.Tensor) and y.shape[-1] == out)
        except Exception:
            fits.append(False)
    if fits == [True, False]:
        return False
    if fits == [False, True]:
        return True
    return None


def scale_free(module: nn.Module, kind: str) -> bool:
    """Whether the layer's output ignores its weight's scale: the forward standardises the weight
    (``ScaledStdConv2d``, WS-conv) or a parametrization divides it by its norm (spectral norm).

    Only layers whose forward is not torch's own are called: the output for the
    weight as it is and for the weight times 3 must match. Weight norm keeps
    its scale in ``g`` and is not scale free.
    """
    if kind not in (DENSE, CONV, CONV_TRANSPOSE, "custom") or not _rewrites_weight(module):
        return False
    weights = [p for p in module.parameters() if p.dim() >= 2]
    if not weights or any(w.is_meta for w in weights):
        return False
    example = _example_input(module, weights[0])
    if example is None:
        return False
    saved = [w.detach().clone() for w in weights]
    training = module.training
    try:
        module.eval()  # spectral norm's power iteration must not move between the two calls
        with torch.no_grad():
            before = module(example)
            for w in weights:
                w.mul_(_SCALE)
            after = module(example)
    except Exception:
        return False
    finally:
        with torch.no_grad():
            for w, value in zip(weights, saved):
                w.copy_(value)
        module.train(training)
    if not isinstance(before, torch.Tensor) or not isinstance(after, torch.Tensor) or before.shape != after.shape:
        return False
    size = before.norm()
    return bool(size > 0) and bool((after - before).norm() <= _SAME * size)


def _rewrites_weight(module: nn.Module) -> bool:
    """A parametrized weight, an old-style ``weight_orig`` hook, or a forward written outside torch."""
    if parametrize.is_parametrized(module) or hasattr(module, "weight_orig"):
        return True
    forward = type(module).forward
    return not getattr(forward, "__module__", "").startswith("torch.")


def _example_input(module: nn.Module, weight: torch.Tensor) -> torch.Tensor | None:
    """A small batch of the width and rank the layer takes."""
    generator = torch.Generator().manual_seed(0)
    if isinstance(module, nn.Linear):
        return torch.randn(4, module.in_features, generator=generator, dtype=weight.dtype)
    if isinstance(module, nn.modules.conv._ConvNd):
        spatial = len(module.kernel_size)
        size = max(8, *(k * d + 1 for k, d in zip(module.kernel_size, _tuple(module.dilation))))
        shape = (2, module.in_channels, *([size] * spatial))
        return torch.randn(*shape, generator=generator, dtype=weight.dtype)
    return None


def _tuple(value: object) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),)  # type: ignore[call-overload]
