"""The signal model: the forward second moment at every node of a model's dataflow, at init.

Per-layer chains (``rules.base``) stop at residual adds and norms; what a layer
does to the model is decided by the whole graph. Here the second moment E[x^2]
of a unit input is carried through every node, in dataflow order (He et al.
2015, eq. 10, applied node by node, inputs taken as independent):

- a weight layer: fan_in * E[w^2] * E[x^2], with the layer's actual std and
  true fan_in (biases add the same offset to every input: no signal, left out);
- an activation: E[f(x)^2] for x ~ N(0, E[x^2]), at that scale (a tanh
  saturates a large signal; ``theory.moment_through``);
- a normalization: E[x^2] / (E[x^2] + eps), 1 unless the signal has collapsed
  below the norm's eps (1e-5), where the norm cannot bring it back;
- a residual add: the sum of its inputs' moments (branch plus skip);
- a gate (a product of tensors): the product of the moments;
- a constant scaling c: c^2 times;
- a softmax: attention probabilities; a product of probabilities and values is
  a weighted average of values, taken at the values' moment (the bound a
  peaked softmax reaches);
- reshapes, pooling, dropout, concatenation: the mean of the inputs' moments;
- anything opaque: unknown, and so is what follows, up to the next norm.

The same propagation with every judged layer at its variance-preserving init
is the reference; a node's deviation is actual / reference. Both modes build
the dataflow (``ModelFacts.signal``) and judge it here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from . import graph, theory
from .facts import Activation, SignalNode

NORM_EPS = 1e-5  # the eps of LayerNorm/BatchNorm/GroupNorm: below it a norm no longer restores a signal

# A layer's factor on the second moment, by its name: fan_in * E[w^2].
LayerMoment = Callable[[str], float]


def signal_nodes(graphs: Iterable[graph.FlowGraph]) -> tuple[SignalNode, ...]:
    """The dataflow of every traced part, one node list (parts after each other; ``x.size(0)`` and
    other shape reads dropped, as they carry no signal)."""
    nodes: list[SignalNode] = []
    for flow in graphs:
        index: dict[int, int] = {}
        for i, node in enumerate(flow.nodes):
            if node.kind == graph.IGNORE:
                continue
            inputs = tuple(index[j] for j in node.inputs if j in index)
            index[i] = len(nodes)
            nodes.append(SignalNode(node.kind, inputs, node.name if node.kind == graph.LAYER else "",
                                    node.activation, node.factor))  # fmt: skip
    return tuple(nodes)


@dataclass(frozen=True)
class Moments:
    """Each node's second moment (None: unknown), and whether it carries attention probabilities."""

    values: tuple[float | None, ...]
    probabilities: tuple[bool, ...]


def propagate(nodes: Sequence[SignalNode], layers: LayerMoment) -> Moments:
    """Every node's second moment for a unit input, each layer scaling it by ``layers(name)``."""
    values: list[float | None] = []
    probabilities: list[bool] = []
    for node in nodes:
        inputs = [values[i] for i in node.inputs]
        probs = [probabilities[i] for i in node.inputs]
        values.append(_through(node, inputs, probs, layers))
        probabilities.append(node.kind == graph.SOFTMAX or (node.kind in (graph.PASS, graph.SCALE) and all(probs)
                                                              and bool(probs)))  # fmt: skip
    return Moments(tuple(values), tuple(probabilities))


def _through(node: SignalNode, inputs: list[float | None], probs: list[bool], layers: LayerMoment) -> float | None:
    kind = node.kind
    if kind in (graph.INPUT_NODE, graph.SOURCE):
        return 1.0
    if kind == graph.SOFTMAX:
        return None  # probabilities: judged by what they weigh
    if kind == graph.NORM:
        known = [m for m in inputs if m is not None]
        moment = max(known) if known else 1.0  # an unknown input is restored by the norm
        return moment / (moment + NORM_EPS)
    if not inputs or any(m is None for m in _data(inputs, probs)):
        return None
    data = [m for m in _data(inputs, probs) if m is not None]
    if not data:
        return None
    if kind == graph.LAYER:
        return layers(node.layer) * data[0]
    if kind == graph.ACTIVATION:
        return activation_moment(node.activation, data[0])
    if kind == graph.MERGE:
        return sum(data)
    if kind == graph.GATE:
        return math.prod(data)
    if kind == graph.SCALE:
        return data[0] * node.factor**2
    if kind in (graph.PASS, graph.OUTPUT_NODE, graph.SINK):
        return sum(data) / len(data)
    return None  # opaque


def _data(inputs: list[float | None], probs: list[bool]) -> list[float | None]:
    """The inputs that carry a signal: attention probabilities weigh the values, they add none."""
    kept = [m for m, p in zip(inputs, probs) if not p]
    return kept if kept else inputs


def activation_moment(activation: Activation | None, moment: float) -> float:
    """E[f(x)^2] for x ~ N(0, ``moment``); an activation known only by samples scales as at unit scale."""
    if activation is None:
        return moment
    if activation.name in theory.ACTIVATIONS:
        return theory.moment_through(activation.name, activation.params, moment)
    return moment * activation.second_moment


@dataclass(frozen=True)
class Deviation:
    """How far the model's signal moves from the variance-preserving reference (ratios of second
    moments, actual / reference): at its worst node, and at its output."""

    largest: float  # the node the init blows up most (1 when none)
    output: float  # the output's (the smallest over several outputs; 1 when unknown)


def deviation(nodes: Sequence[SignalNode], actual: Moments, reference: Moments) -> Deviation:
    ratios = [_ratio(a, r) for a, r in zip(actual.values, reference.values)]
    largest = max([1.0, *(ratio for ratio in ratios if ratio is not None)])
    outputs = [_ratio_before(nodes, ratios, i) for i, node in enumerate(nodes) if node.kind in _OUTPUTS]
    known = [ratio for ratio in outputs if ratio is not None]
    return Deviation(largest, min(known) if known else 1.0)


_OUTPUTS = (graph.OUTPUT_NODE, graph.SINK)


def _ratio(actual: float | None, reference: float | None) -> float | None:
    """actual / reference, None where either is unknown or the reference carries no signal."""
    if actual is None or reference is None or not 0.0 < reference < math.inf:
        return None
    return actual / reference if math.isfinite(actual) else math.inf


def _ratio_before(nodes: Sequence[SignalNode], ratios: Sequence[float | None], at: int) -> float | None:
    """The ratio at a node, or, where the reference carries no signal there (a zero-initialised head,
    the convention), at the nearest nodes before it that do: the smallest of them."""
    stack, seen, found = [at], set(), []
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        ratio = ratios[i]
        if ratio is not None:
            found.append(ratio)
        else:
            stack.extend(nodes[i].inputs)
    return min(found, default=None)
