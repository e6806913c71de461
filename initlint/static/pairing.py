"""Pairing layers from the static flow graph, with the rule that keeps static mode precise.

``graph.pair_layers`` pairs each layer over all its calls, as in full mode;
here a layer is also left unpaired when nothing follows it and what feeds it
is unknown.
"""

from __future__ import annotations

from ..shared.graph import FlowGraph, Pairing
from ..shared.graph import pair_layers as pair_calls


def pair_layers(flow: FlowGraph) -> dict[str, Pairing]:
    """Pairings of every layer of the forward's flow."""
    return {
        name: Pairing(name, None, None, calls=p.calls) if _needs_upstream(p) else p
        for name, p in pair_calls((flow,)).items()
    }


def _needs_upstream(p: Pairing) -> bool:
    """No activation after the layer and an unknown one before it: which gains fit is undecided.

    The rules accept the input's activation gain for such a layer (He init on
    logits after a ReLU); static mode reaches more opaque code than fx, so an
    unknown input here must not make a right init look wrong.
    """
    act = p.downstream
    return act is not None and (act.name == "identity" or act.role == "output") and p.upstream is None
