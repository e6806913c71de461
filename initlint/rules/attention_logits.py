"""IL205 attention-logit-scale: query and key inits that saturate the attention softmax."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..shared.facts import DEFAULT, IDENTITY, LayerFacts
from ..shared.knowledge.modules import ATTENTION
from .base import WARNING, Example, Expect, ModelView, Rule, Verdict, fmt

# Logits of a larger std put nearly all of the softmax's weight on one key from the first step.
LOGIT_LIMIT = 4.0


def check(view: ModelView) -> Iterator[Verdict]:
    for layer in view.model.layers:
        partners = [view.layers[name] for name in layer.logits_with if name in view.layers]
        if layer.kind == ATTENTION:
            partners.append(layer)  # nn.MultiheadAttention: q and k come out of the one packed projection
        own = _output_std(layer)
        if own is None or not partners:
            continue
        widest = max(partners, key=lambda p: _output_std(p) or 0.0)
        other = _output_std(widest)
        step = layer.weight.last
        if other is None or step is None or step.origin == DEFAULT:
            continue
        logit_std = own * other
        if logit_std <= LOGIT_LIMIT:
            continue
        wanted = 1 / math.sqrt(layer.fan_in)
        pair = layer.name if widest is layer else f"{layer.name} with {widest.name}"
        message = (
            f"{layer.weight.display} gives outputs of std {fmt(own)} (std {fmt(layer.weight.std)} x "
            f"sqrt(fan_in={layer.fan_in})); the attention logits of {pair} (q.k / sqrt(d_head)) start "
            f"with std {fmt(logit_std)}: the softmax puts almost all its weight on one key and its gradient "
            f"vanishes. Query and key outputs of std ~1 (std {fmt(wanted)} here) keep the logits near 1"
        )
        yield Verdict(
            message=message,
            severity=WARNING,
            span=step.site or layer.site,
            layer=layer,
            expected_std=wanted,
            actual_std=layer.weight.std,
        )


def _output_std(layer: LayerFacts) -> float | None:
    """The std of the layer's output for an input of unit second moment (a normalization's, usually),
    or the activation's second moment when one feeds it."""
    w = layer.weight
    if w.std is None or layer.fan_in <= 0 or layer.scale_free:
        return None
    feeding = IDENTITY if layer.norm_before or layer.upstream is None else layer.upstream
    return w.std * math.sqrt(layer.fan_in * feeding.second_moment)


RULE = Rule(
    code="IL205",
    name="attention-logit-scale",
    severity=WARNING,
    summary="Query and key projections whose init makes the attention logits' std far above 1.",
    what=f"""
Finds the pairs of layers whose outputs are multiplied into the logits a softmax
reads (`q @ k.transpose(-2, -1)` through views, scalings, masks and rotary
tables; `scaled_dot_product_attention(q, k, v)`; the packed projection of
`nn.MultiheadAttention`, of GPT-2's `c_attn`), and predicts the logits' std at
init as std(q) x std(k), with the usual 1/sqrt(d_head) scaling. Above
{LOGIT_LIMIT:g} it is reported. A norm on q and k (qk-norm) sets their scale
itself: such pairs are not judged.
""",
    why="""
Attention logits of std s over T keys reach about s x sqrt(2 ln T) at their
maximum: with s = 64 (N(0, 1) weights in a 64-wide block) the softmax is one-hot
from the first step, the attention cannot learn which keys matter and its
gradient is near zero. Xavier, PyTorch's default and N(0, 0.02) at usual widths
give s between 0.1 and 1.
""",
    references=("Vaswani et al., Attention Is All You Need, 2017, sec. 3.2.1",),
    invalid=(
        Example(
            """
import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        for m in (self.q, self.k):
            nn.init.normal_(m.weight, 0.0, 1.0)

    def forward(self, x):
        h = self.norm(x)
        return x + F.scaled_dot_product_attention(self.q(h), self.k(h), self.v(h))
""",
            expect=(Expect("IL205", 14, ("q", "k")),),
        ),
    ),
    valid=(
        Example(
            """
import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        for m in (self.q, self.k, self.v):
            nn.init.xavier_uniform_(m.weight)

    def forward(self, x):
        h = self.norm(x)
        return x + F.scaled_dot_product_attention(self.q(h), self.k(h), self.v(h))
""",
        ),
    ),
    check=check,
)
