"""Dataflow between layers, and the walks that pair each layer with activations.

A ``FlowGraph`` is a model's forward reduced to what matters for init: weight
layers, activations, normalizations, merges (residual adds), gates (tensor
products), constant scalings, and everything else either passed through or
opaque. ``trace`` builds it from torch.fx graphs; the static mode builds it from
source. The walks here are pure Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from .facts import IDENTITY, INPUT, Activation, Link

# What a layer feeds when only a normalization is known to follow it.
NORMALIZED = Activation("identity", label="a normalization")

# Node kinds.
INPUT_NODE = "input"  # the model's input
OUTPUT_NODE = "output"  # the model's output
SOURCE = "source"  # an input whose producer is unknown (a separately traced part)
SINK = "sink"  # an output whose consumer is unknown
LAYER = "layer"
ACTIVATION = "activation"
NORM = "norm"
PASS = "pass"  # keeps the signal's scale: reshape, dropout, pooling, concat...
SCALE = "scale"  # multiplies by a known constant
MERGE = "merge"  # tensor + tensor: residual connections
GATE = "gate"  # tensor * tensor: SE blocks, GLU
OPAQUE = "opaque"  # anything else: the walk learns nothing past it
SOFTMAX = "softmax"  # attention probabilities: ends a walk like OPAQUE; its logits' factors are judged
IGNORE = "ignore"  # not data (x.size(0)): a walk that reaches it just ends


@dataclass
class Node:
    kind: str
    inputs: list[int]
    name: str = ""  # module qualname of a LAYER or NORM
    activation: Activation | None = None
    factor: float = 1.0  # for SCALE


@dataclass(frozen=True)
class FunctionalLayer:
    """A parameter used as a layer's weight in a call: ``F.linear(x, self.w)``."""

    kind: str  # dense | conv | conv_transpose
    call: str  # "F.linear"
    bias: str | None = None  # qualified name of the bias parameter
    groups: int = 1
    stride: tuple[int, ...] = ()


@dataclass
class FlowGraph:
    nodes: list[Node] = field(default_factory=list)
    functional: dict[str, FunctionalLayer] = field(default_factory=dict)  # LAYER name -> details
    _users: list[list[int]] | None = None

    def add(
        self,
        kind: str,
        inputs: Sequence[int] = (),
        name: str = "",
        activation: Activation | None = None,
        factor: float = 1.0,
    ) -> int:
        self.nodes.append(Node(kind, list(inputs), name, activation, factor))
        self._users = None
        return len(self.nodes) - 1

    @property
    def users(self) -> list[list[int]]:
        if self._users is None:
            users: list[list[int]] = [[] for _ in self.nodes]
            for i, node in enumerate(self.nodes):
                for j in node.inputs:
                    users[j].append(i)
            self._users = users
        return self._users

    def layer_nodes(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for i, node in enumerate(self.nodes):
            if node.kind == LAYER:
                found.setdefault(node.name, []).append(i)
        return found


@dataclass(frozen=True)
class Pairing:
    """What a layer's dataflow says about it."""

    layer: str
    downstream: Activation | None  # None: no path led anywhere known
    upstream: Activation | None
    norm_after: bool = False
    norm_before: bool = False
    final: bool = False
    residual_end: bool = False
    scale: float = 1.0
    successors: tuple[Link, ...] = ()
    calls: tuple[Activation | None, ...] = ()  # what each call of the layer fed, in order (see pair_layers)
    logits_with: tuple[str, ...] = ()  # layers whose outputs it is multiplied with into a softmax's logits
    feeds_itself: bool = False  # a call's output reaches a later call's input: a recurrent weight, unrolled


@dataclass(frozen=True)
class _End:
    """Where one downstream path ended."""

    kind: str  # activation | layer | output | gate | opaque
    activation: Activation | None
    norm: bool
    merged: bool
    scale: float


def _downstream_ends(graph: FlowGraph, start: int) -> list[_End]:
    ends: list[_End] = []
    stack = [(u, False, False, 1.0) for u in reversed(graph.users[start])]
    seen: set[tuple[int, bool, bool]] = set()
    while stack:
        i, norm, merged, scale = stack.pop()
        if (i, norm, merged) in seen:
            continue
        seen.add((i, norm, merged))
        node = graph.nodes[i]
        kind = node.kind
        if kind == ACTIVATION:
            ends.append(_End("activation", _with_role(graph, i, node.activation), norm, merged, scale))
            continue
        if kind == SINK and norm:
            # A part traced on its own: what follows is unknown, but the output
            # is normalized first, and that is what matters for its init.
            ends.append(_End("normalized", None, norm, merged, scale))
            continue
        if kind in (LAYER, OUTPUT_NODE, GATE, OPAQUE, SOFTMAX, SINK):
            end_kind = {LAYER: "layer", OUTPUT_NODE: "output", GATE: "gate"}.get(kind, "opaque")
            ends.append(_End(end_kind, None, norm, merged, scale))
            continue
        if kind == IGNORE:
            continue
        norm = norm or kind == NORM
        merged = merged or kind == MERGE
        if kind == SCALE:
            scale *= node.factor
        stack.extend((u, norm, merged, scale) for u in reversed(graph.users[i]))
    return ends


def _with_role(graph: FlowGraph, at: int, activation: Activation | None) -> Activation | None:
    """Mark an activation whose output gates a product, or is the model's output."""
    if activation is None:
        return None
    ends: set[str] = set()
    stack, seen = list(graph.users[at]), set()
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        kind = graph.nodes[i].kind
        if kind in (PASS, SCALE):
            stack.extend(graph.users[i])
        elif kind != IGNORE:
            ends.add(kind)
    if GATE in ends:
        return replace(activation, role="gate")
    if ends == {OUTPUT_NODE}:
        return replace(activation, role="output")
    return activation


def _upstream(graph: FlowGraph, start: int) -> tuple[Activation | None, bool]:
    """(activation feeding the layer, a norm lies in between)."""
    stack = list(reversed(graph.nodes[start].inputs))
    seen: set[int] = set()
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        node = graph.nodes[i]
        if node.kind == ACTIVATION:
            return node.activation, False
        if node.kind == NORM:
            return IDENTITY, True
        if node.kind in (LAYER, MERGE, GATE):
            return IDENTITY, False
        if node.kind == INPUT_NODE:
            return INPUT, False
        if node.kind in (PASS, SCALE):
            stack.extend(reversed(node.inputs))
    return None, False


def _successors(graph: FlowGraph, start: int) -> tuple[Link, ...]:
    """Next layers reached through at most an activation, with no norm or merge between."""
    links: dict[str, Link] = {}
    stack: list[tuple[int, Activation | None, float]] = [(u, None, 1.0) for u in graph.users[start]]
    seen: set[tuple[int, bool]] = set()
    while stack:
        i, act, scale = stack.pop()
        if (i, act is None) in seen:
            continue
        seen.add((i, act is None))
        node = graph.nodes[i]
        if node.kind == LAYER:
            links.setdefault(node.name, Link(node.name, act or IDENTITY, scale))
        elif node.kind == ACTIVATION:
            stack.extend((u, act or node.activation, scale) for u in graph.users[i])
        elif node.kind in (PASS, SCALE):
            factor = node.factor if node.kind == SCALE else 1.0
            stack.extend((u, act, scale * factor) for u in graph.users[i])
    return tuple(links[k] for k in sorted(links))


def _pair_node(graph: FlowGraph, name: str, i: int) -> Pairing:
    ends = _downstream_ends(graph, i)
    upstream, norm_before = _upstream(graph, i)
    activations = [e for e in ends if e.kind == "activation"]
    known = [e for e in ends if e.kind != "opaque"]
    final = bool(ends) and all(
        e.kind == "output" or (e.kind == "activation" and e.activation is not None and e.activation.role == "output")
        for e in ends
    )
    if activations:
        chosen = activations[0]
        downstream: Activation | None = chosen.activation
    elif known:
        chosen = known[0]
        if chosen.kind == "gate" or any(e.kind == "gate" for e in known):
            downstream = replace(IDENTITY, role="gate")
        elif all(e.kind == "normalized" for e in known):
            downstream = NORMALIZED
        elif final:
            downstream = replace(IDENTITY, role="output")
        else:
            downstream = IDENTITY
    else:
        return Pairing(name, None, upstream, norm_before=norm_before)
    return Pairing(
        layer=name,
        downstream=downstream,
        upstream=upstream,
        norm_after=chosen.norm if activations else any(e.norm for e in known),
        norm_before=norm_before,
        final=final,
        residual_end=any(e.merged for e in (activations or known)),
        scale=chosen.scale,
        successors=_successors(graph, i),
    )


def pair_layers(graphs: Iterable[FlowGraph]) -> dict[str, Pairing]:
    """Every layer's pairing, judged over all its calls in all the graphs.

    Both modes pair this way. A layer called more than once (or in both
    branches of an ``if``) is paired when its calls agree on what its init is
    judged against: the same activation after it (however spelled) at the same
    scale, and, when that is no activation (a linear or final layer, judged
    with the activation feeding it), the same activation before it. Calls that
    disagree (a ReLU after one and a tanh after another, or nothing known after
    one) leave the layer unpaired: no init suits them all, so no rule may offer
    a fix tuned to one of them. ``Pairing.calls`` keeps what each call fed.

    For agreeing calls, a fact that softens a verdict (a normalization after
    the layer, the model's or a residual branch's end) holds when it holds for
    every call; the next layers of every call are its successors.
    """
    found: dict[str, list[Pairing]] = {}
    logits: dict[str, set[str]] = {}
    recurrent: set[str] = set()
    for graph in graphs:
        for name, nodes in graph.layer_nodes().items():
            found.setdefault(name, []).extend(_pair_node(graph, name, i) for i in nodes)
            if len(nodes) > 1 and _reaches(graph, nodes[0], set(nodes[1:])):
                recurrent.add(name)
        for query, key in attention_logits(graph):
            logits.setdefault(query, set()).add(key)
            logits.setdefault(key, set()).add(query)
    return {
        name: _agreed(name, calls, tuple(sorted(logits.get(name, ()))), name in recurrent)
        for name, calls in found.items()
    }


def _reaches(graph: FlowGraph, start: int, targets: set[int]) -> bool:
    """Whether data flows from node ``start`` to any of ``targets``."""
    stack, seen = list(graph.users[start]), {start}
    while stack:
        i = stack.pop()
        if i in targets:
            return True
        if i not in seen:
            seen.add(i)
            stack.extend(graph.users[i])
    return False


def attention_logits(graph: FlowGraph) -> list[tuple[str, str]]:
    """(query layer, key layer) for each product of two layers' outputs a softmax reads: ``q @ k.T``
    (through views, scalings, masks and rotary tables), or ``scaled_dot_product_attention(q, k, v)``.
    A norm on the way (qk-norm) sets the scale itself: such a pair is not listed."""
    pairs: list[tuple[str, str]] = []
    for node in graph.nodes:
        if node.kind != SOFTMAX:
            continue
        product = node.inputs if len(node.inputs) == 2 else _product_before(graph, node.inputs)
        if product is None:
            continue
        queries, keys = (_layers_before(graph, i) for i in product)
        pairs += [(q, k) for q in queries for k in keys]
    return pairs


def _product_before(graph: FlowGraph, inputs: list[int]) -> list[int] | None:
    """The two operands of the product a softmax's input comes from (a pass with two data inputs)."""
    stack, seen = list(inputs), set()
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        node = graph.nodes[i]
        if node.kind == PASS and len(node.inputs) == 2:
            return node.inputs
        if node.kind in (PASS, SCALE, MERGE):  # `att + mask`: the mask is not a layer's; the logits go on
            stack.extend(node.inputs)
        elif node.kind == OPAQUE:  # `att / math.sqrt(q.size(-1))`: a factor made from shapes
            data = [j for j in node.inputs if not _from_shapes(graph, j)]
            stack.extend(data if len(data) == 1 else [])
    return None


def _from_shapes(graph: FlowGraph, start: int) -> bool:
    """Whether a value is computed from tensors' shapes only (``x.size(-1)``), not from their data."""
    stack, seen = [start], set()
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        node = graph.nodes[i]
        if node.kind == IGNORE:
            continue
        if node.kind in (INPUT_NODE, SOURCE, LAYER) or not node.inputs:
            return False
        stack.extend(node.inputs)
    return True


def _layers_before(graph: FlowGraph, start: int) -> set[str]:
    """The layers whose output reaches ``start`` through shape ops, scalings, merges and products."""
    found: set[str] = set()
    stack, seen = [start], set()
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        node = graph.nodes[i]
        if node.kind == LAYER:
            found.add(node.name)
        elif node.kind in (PASS, SCALE, MERGE, GATE):  # `q * cos + rotate_half(q) * sin`
            stack.extend(node.inputs)
    return found


def pair_all(graph: FlowGraph) -> dict[str, Pairing]:
    """Pairings of every layer in one graph (``pair_layers`` of it)."""
    return pair_layers((graph,))


def _agreed(name: str, calls: list[Pairing], logits_with: tuple[str, ...], feeds_itself: bool) -> Pairing:
    first = calls[0]
    fed = tuple(p.downstream for p in calls)
    if len(calls) == 1 or all(act is None for act in fed):
        return replace(first, calls=fed, logits_with=logits_with, feeds_itself=feeds_itself)
    downstream = _common_activation([p.downstream for p in calls if p.downstream is not None], len(calls))
    judged_with_input = downstream is not None and (downstream.name == "identity" or downstream.role == "output")
    if (
        downstream is None
        or any(p.scale != first.scale for p in calls)
        or judged_with_input
        and any(_unlabelled(p.upstream) != _unlabelled(first.upstream) for p in calls)
    ):
        return Pairing(name, None, None, calls=fed, logits_with=logits_with, feeds_itself=feeds_itself)
    links: dict[str, Link] = {}
    for p in calls:
        for link in p.successors:
            links.setdefault(link.target, link)
    return Pairing(
        layer=name,
        downstream=downstream,
        upstream=first.upstream,  # judged only when the calls agree on it; else as the first call has it
        norm_after=all(p.norm_after for p in calls),
        norm_before=all(p.norm_before for p in calls),
        final=all(p.final for p in calls),
        residual_end=all(p.residual_end for p in calls),
        scale=first.scale,
        successors=tuple(links[k] for k in sorted(links)),
        calls=fed,
        logits_with=logits_with,
        feeds_itself=feeds_itself,
    )


def _common_activation(fed: list[Activation], calls: int) -> Activation | None:
    """The activation all ``calls`` feed, or None when they differ (or one is not known).

    A gate is not judged, so a gate after one call and not after another
    differ; the model's output after one call and a hidden use after another
    make a hidden activation.
    """
    if len(fed) < calls or len({_unlabelled(replace(act, role="hidden")) for act in fed}) > 1:
        return None
    roles = {act.role for act in fed}
    if len(roles) == 1:
        return fed[0]
    return None if "gate" in roles else replace(fed[0], role="hidden")


def _unlabelled(act: Activation | None) -> Activation | None:
    """``F.relu`` and ``nn.ReLU()`` are the same activation."""
    return replace(act, label="") if act is not None else None
