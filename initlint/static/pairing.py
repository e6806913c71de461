"""Pairing layers from the static flow graph, with the rules that keep static mode precise.

``graph.pair_all`` does the walks; here a layer is left unpaired when its calls
disagree, or when nothing follows it and what feeds it is unknown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from ..shared import graph
from ..shared.facts import Link
from ..shared.graph import FlowGraph, Pairing, pair_all

_SEPARATOR = "\x00"  # marks the second and later calls of a layer while pairing


def pair_layers(flow: FlowGraph) -> dict[str, Pairing]:
    """Pairings of every layer; a layer called in several places is paired only if all its calls agree.

    Renames the second and later LAYER nodes of a layer in ``flow`` (so
    ``pair_all`` pairs each call), then maps them back.
    """
    calls: dict[str, int] = defaultdict(int)
    for node in flow.nodes:
        if node.kind == graph.LAYER:
            calls[node.name] += 1
            if calls[node.name] > 1:
                node.name = f"{node.name}{_SEPARATOR}{calls[node.name]}"
    found: dict[str, list[Pairing]] = defaultdict(list)
    for name, pairing in pair_all(flow).items():
        found[name.partition(_SEPARATOR)[0]].append(pairing)
    result = {}
    for name, pairings in found.items():
        first = pairings[0]
        links = tuple(_unmarked(link) for link in first.successors)
        if any(_signature(p) != _signature(first) for p in pairings[1:]) or _needs_upstream(first):
            result[name] = Pairing(name, None, None)
        else:
            result[name] = Pairing(
                name,
                first.downstream,
                first.upstream,
                first.norm_after,
                first.norm_before,
                first.final,
                first.residual_end,
                first.scale,
                links,
            )
    return result


def _unmarked(link: Link) -> Link:
    return replace(link, target=link.target.partition(_SEPARATOR)[0])


def _needs_upstream(p: Pairing) -> bool:
    """No activation after the layer and an unknown one before it: which gains fit is undecided.

    The rules accept the input's activation gain for such a layer (He init on
    logits after a ReLU); static mode reaches more opaque code than fx, so an
    unknown input here must not make a right init look wrong.
    """
    act = p.downstream
    return act is not None and (act.name == "identity" or act.role == "output") and p.upstream is None


def _signature(p: Pairing) -> tuple:
    return (p.downstream, p.upstream, p.norm_after, p.norm_before, p.final, p.residual_end, p.scale)
