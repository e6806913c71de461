"""``LayerFacts`` from what either mode learnt about a weight layer: one builder for both.

The full mode feeds it a module it built and traced, the static mode one it
followed in source; the fields that come from the dataflow come from the
shared pairing (``graph.pair_layers``), the same way in both.
"""

from __future__ import annotations

from .facts import DEFAULT, LayerFacts, ParamInit, Span
from .graph import Pairing
from .knowledge.modules import CONV, CONV_TRANSPOSE, RECURRENT
from .theory import Fans


def constructed_at(weight: ParamInit) -> Span | None:
    """Where PyTorch's default init ran: inside the constructor, so the ``nn.Linear(...)`` call."""
    return next((s.site for s in weight.steps if s.origin == DEFAULT and s.site), None)


def layer_facts(
    name: str,
    layer_type: str,
    kind: str,
    weight: ParamInit,
    bias: ParamInit | None,
    fans: Fans,
    pairing: Pairing | None,
    *,
    site: Span | None,
    assigned: Span | None = None,
    groups: int = 1,
    layout_known: bool = True,
    recurrent: tuple[str, int] | None = None,
    params: tuple[tuple[str, ParamInit], ...] = (),
    scale_free: bool = False,
) -> LayerFacts:
    """A weight layer's facts.

    ``site`` is where the layer was made when its default init does not say
    (``constructed_at``); ``groups`` counts for convolutions, ``recurrent`` is
    (mode, hidden size) of a recurrent layer; ``layout_known`` is False for a
    custom layer whose (out, in) order is unknown.
    """
    extra: tuple[tuple[str, object], ...] = ()
    if kind in (CONV, CONV_TRANSPOSE):
        extra = (("groups", groups),)
    elif kind == RECURRENT and recurrent is not None:
        extra = (("mode", recurrent[0]), ("hidden_size", recurrent[1]))
    p = pairing or Pairing(name, None, None)
    return LayerFacts(
        name=name,
        layer_type=layer_type,
        weight=weight,
        bias=bias,
        fan_in=fans.fan_in,
        fan_out=fans.fan_out,
        site=constructed_at(weight) or site,
        assigned=assigned,
        kind=kind,
        paired=p.downstream is not None,
        downstream=p.downstream,
        upstream=p.upstream,
        norm_after=p.norm_after,
        norm_before=p.norm_before,
        final=p.final,
        residual_end=p.residual_end,
        scale=p.scale,
        successors=p.successors,
        downstream_calls=p.calls,
        layout_known=layout_known,
        params=params,
        extra=extra,
        scale_free=scale_free,
        logits_with=p.logits_with,
        feeds_itself=p.feeds_itself,
    )
