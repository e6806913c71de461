"""What every rule shares: the Rule record with its examples and thresholds, and a model's judged view.

``ModelView`` answers the questions rules ask about a layer: which gain its
activation needs, what std that implies, whether a normalization absorbs a
mistake, what happens to the signal along its unnormalized chain, and whether
the whole model's signal (``shared.signal``) moves with it.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TypeGuard

from ..findings import ERROR, INFO, WARNING
from ..fix.intent import (
    SAFE,
    UNSAFE,
    ExplicitInit,
    FixIntent,
    GainInit,
    InsertInit,
    NewInit,
    NoFix,
    Override,
    RewriteCall,
    SetMode,
)
from ..shared import signal, theory
from ..shared.facts import DEFAULT, IDENTITY, USER, Activation, InitStep, LayerFacts, ModelFacts, Span


@dataclass(frozen=True)
class Threshold:
    """A number rules judge by, set in ``[tool.initlint.thresholds]`` as ``key = value`` (a factor > 1).

    A threshold is defined beside the code that reads it: in the rule's file when
    one rule uses it, here when ``ModelView`` does (several rules). Each rule lists
    the thresholds it depends on (``Rule.thresholds``); the configuration accepts
    exactly those keys, and ``initlint rule CODE`` documents them.
    """

    key: str
    default: float
    doc: str  # one sentence: what the value means


GAIN_TOLERANCE = Threshold("gain-tolerance", 1.10, "An init's gain within this factor of the right one is accepted.")
SCALE_TOLERANCE = Threshold(
    "scale-tolerance",
    1.25,
    "A std within this factor of the variance-preserving one (for a hand-picked std: of the band between "
    "the fan_in and fan_out values) is accepted.",
)
DEEP_FACTOR = Threshold(
    "deep-factor",
    1e2,
    "An unnormalized chain of layers that changes the signal's second moment by more than this factor is a "
    "problem: reported by IL102 and noted in other findings on its layers.",
)
EXTREME_FACTOR = Threshold(
    "extreme-factor",
    1e4,
    "Findings on the layers of an unnormalized chain that changes the signal by more than this factor are errors, "
    "when the whole model's signal moves as far.",
)


@dataclass(frozen=True)
class Settings:
    """The thresholds' values for one run: the configured ones by key, the others at their default."""

    configured: tuple[tuple[str, float], ...] = ()  # (Threshold.key, value)

    @cached_property
    def _values(self) -> dict[str, float]:
        return dict(self.configured)

    def __getitem__(self, threshold: Threshold) -> float:
        return self._values.get(threshold.key, threshold.default)


@dataclass(frozen=True)
class Verdict:
    """One problem a rule found; ``judge`` turns it into a Finding."""

    message: str
    severity: str
    span: Span | None
    layer: LayerFacts | None = None
    parameter: str | None = "weight"
    activation: Activation | None = None
    expected_std: float | None = None
    actual_std: float | None = None
    fix: FixIntent | None = None


@dataclass(frozen=True)
class Expect:
    """One finding an example produces, snapshot style: compared exactly by the example tests.

    ``fix`` is the text the fix puts in place (its edits' contents, joined by
    newlines), None when the finding has no fix; ``severity`` None means the
    rule's usual severity.
    """

    code: str
    line: int
    layers: tuple[str, ...] = ()
    fix: str | None = None
    severity: str | None = None


@dataclass(frozen=True)
class StaticDiffers:
    """What ``--static`` reports on an example instead of its ``expect``, and why.

    ``expect=()`` says static mode cannot decide the example and stays silent.
    """

    why: str
    expect: tuple[Expect, ...] = ()


@dataclass(frozen=True)
class Example:
    """A model source beside its rule, with every finding it must produce, in both modes.

    An INVALID example lists its rule's finding(s) and any other the model rightly
    has; a VALID example usually lists nothing: it must be silent.
    """

    source: str
    expect: tuple[Expect, ...] = ()
    static: StaticDiffers | None = None  # None: static mode reports exactly ``expect`` too

    @property
    def text(self) -> str:
        """The file the example is checked as: ``Expect.line`` counts from its first line."""
        return textwrap.dedent(self.source).lstrip("\n")

    def expected(self, static: bool) -> tuple[Expect, ...]:
        """The findings in one mode: ``--static`` (True) or the default full mode (False)."""
        return self.static.expect if static and self.static is not None else self.expect


LIBRARY_POLICY = (
    "An init set by an installed library's own code (transformers' `_init_weights`, timm's or "
    "torchvision's init functions: a call made from site-packages) is reported as info, whatever its "
    "effect, and the message names the library: you cannot edit that code, only override it. An init "
    "your code chooses is judged as yours, even when it calls a library's helper."
)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str  # the usual severity; the doc says when it is raised or lowered
    summary: str
    what: str
    why: str
    fix_safety: str = "No automatic fix."
    references: tuple[str, ...] = ()
    invalid: tuple[Example, ...] = ()  # models the rule must report, with the exact findings
    valid: tuple[Example, ...] = ()  # ...and models it must not
    thresholds: tuple[Threshold, ...] = ()  # the configurable numbers its verdicts depend on
    check: Callable[[ModelView], Iterable[Verdict]] | None = None

    def doc(self) -> str:
        """The rule's documentation, in ruff's shape."""
        parts = [f"# {self.name} ({self.code})", "", f"Severity: {self.severity}. {self.summary}", "",
                 "## What it does", self.what.strip(), "", "## Why is this bad?", self.why.strip()]  # fmt: skip
        if self.invalid:
            parts += ["", "## Example", "```python", self.invalid[0].source.strip(), "```"]
        if self.valid:
            parts += ["", "## Use instead", "```python", self.valid[0].source.strip(), "```"]
        if self.thresholds:
            parts += ["", "## Options", "In `[tool.initlint.thresholds]`:"]
            parts += [f"- `{t.key}` (default {t.default:g}): {t.doc}" for t in self.thresholds]
        if self.check is not None:  # a rule about a model's layers: whose init it judges
            parts += ["", "## Library code", LIBRARY_POLICY]
        parts += ["", "## Fix safety", self.fix_safety.strip()]
        if self.references:
            parts += ["", "## References", *(f"- {r}" for r in self.references)]
        return "\n".join(parts) + "\n"


# -- the activations' gains -------------------------------------------------------

_TORCH_NAMES = {"identity": "linear", "relu": "relu", "relu6": "relu", "leaky_relu": "leaky_relu",
                "tanh": "tanh", "sigmoid": "sigmoid"}  # fmt: skip


def recommended_gain(act: Activation) -> float:
    """The gain a fix would use: torch's calculate_gain where it is right, else g_fwd.

    SELU is the exception: torch's 3/4 gives up self-normalization; LeCun's
    gain 1 keeps it (Klambauer et al. 2017).
    """
    torch_name = _TORCH_NAMES.get(act.name)
    if torch_name == "leaky_relu":
        return theory.torch_gain("leaky_relu", dict(act.params).get("negative_slope", 0.01))
    if torch_name is not None:
        return theory.torch_gain(torch_name)
    return act.forward_gain


def nonlinearity_of(act: Activation) -> tuple[str, float | None] | None:
    """(``nonlinearity=``, ``a=``) that makes torch use this activation's recommended gain, if any.

    SELU maps to 'linear' (LeCun init); GELU/SiLU and custom activations have
    no torch name, so no fix is offered for them.
    """
    if act.name == "selu":
        return "linear", None
    name = _TORCH_NAMES.get(act.name)
    if name == "leaky_relu":
        return name, dict(act.params).get("negative_slope", 0.01)
    return (name, None) if name else None


def std_for_gain(function: str, gain: float, fan_in: int, fan_out: int, mode: str | None) -> float:
    """The std an init function gives at a gain, with the true fans."""
    if function.startswith("init.xavier"):
        return gain * math.sqrt(2.0 / (fan_in + fan_out))
    if function == "init.orthogonal_":
        return theory.expected_std(gain, max(fan_in, fan_out))
    return theory.expected_std(gain, fan_out if mode == "fan_out" else fan_in)


def fmt(x: float | None) -> str:
    if x is None:
        return "?"
    if x == 0:
        return "0"
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.1e}"


# -- chains -------------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """Layers connected through activations only (no norm, no merge)."""

    layers: tuple[str, ...]
    factor: float  # second moment after the last layer / before the first

    @property
    def consequence(self) -> str:
        n = len(self.layers)
        if self.factor == 0:
            change = "vanishes (below 1e-308, the smallest float)"
        elif self.factor < 1:
            change = f"shrinks to {fmt(self.factor)} of the input's, its RMS to {fmt(math.sqrt(self.factor))}"
        else:
            change = f"grows {fmt(self.factor)}x, its RMS {fmt(math.sqrt(self.factor))}x"
        chain = f"{n} layers ({self.layers[0]} -> {self.layers[-1]})"
        return f"over this unnormalized chain of {chain} the signal's second moment {change}"


JUDGED_KINDS = ("dense", "conv", "conv_transpose")
_MAX_PATHS = 2000


@dataclass(frozen=True)
class _Step:
    """The end of a path being walked: a linked list, so extending a path costs O(1)."""

    name: str
    factor: float
    previous: _Step | None

    def names(self) -> tuple[str, ...]:
        out = []
        step: _Step | None = self
        while step is not None:
            out.append(step.name)
            step = step.previous
        return tuple(reversed(out))


def _has_cycle(layers: dict[str, LayerFacts]) -> bool:
    """Whether the successor links loop (Kahn's algorithm leaves layers unvisited)."""
    indegree = dict.fromkeys(layers, 0)
    for layer in layers.values():
        for link in layer.successors:
            if link.target in indegree:
                indegree[link.target] += 1
    ready = [name for name, n in indegree.items() if n == 0]
    seen = 0
    while ready:
        seen += 1
        for link in layers[ready.pop()].successors:
            if link.target in indegree:
                indegree[link.target] -= 1
                if indegree[link.target] == 0:
                    ready.append(link.target)
    return seen < len(layers)


@dataclass
class ModelView:
    model: ModelFacts
    settings: Settings = field(default_factory=Settings)
    rejudge: bool = True  # fixes are re-judged (False: the view of a fix's outcome, judged once)

    def __post_init__(self) -> None:
        self.layers = {layer.name: layer for layer in self.model.layers}
        self._default_parts: dict[int, Chain] = {}
        self._attribute_sites = dict(self.model.attributes)
        self._assigned_groups: dict[tuple[Span | None, str], list[LayerFacts]] | None = None
        self._by_init_site: dict[Span, list[LayerFacts]] | None = None
        self._rewrites: dict[tuple[Span, NewInit | GainInit, str, bool], FixIntent] = {}  # one per call
        self._judged: list[LayerFacts] | None = None
        self._chains = self._compute_chains()

    def judged(self) -> list[LayerFacts]:
        """Weight layers whose fans and dataflow rules can reason about.

        Custom layers count once their weight layout is known (a probe found
        whether they store (out, in) or (in, out)). A layer called before
        different activations is judged once per activation (and offered no fix).
        """
        if self._judged is None:  # every rule asks
            self._judged = [
                judged
                for layer in self.model.layers
                if (layer.kind in JUDGED_KINDS or layer.kind == "custom" and layer.layout_known)
                and len(layer.weight.shape) >= 2
                and not layer.scale_free
                for judged in self._per_call(layer)
            ]
        return self._judged

    @staticmethod
    def call_activations(layer: LayerFacts) -> list[Activation]:
        """The distinct activations a layer's calls feed (several for a layer called more than once)."""
        return [act for act in dict.fromkeys(layer.downstream_calls) if act is not None]

    def _per_call(self, layer: LayerFacts) -> list[LayerFacts]:
        calls = self.call_activations(layer)
        if layer.paired or len(calls) < 2:
            return [layer]
        return [replace(layer, paired=True, downstream=act) for act in calls]

    def mixed_calls(self, layer: LayerFacts) -> NoFix | None:
        """Why no init can be rewritten for a layer whose calls feed different activations."""
        calls = self.call_activations(layer)
        if len(calls) < 2:
            return None
        shown = " and ".join(act.display for act in calls[:3])
        return NoFix(f"{layer.name} is called before {shown}: no single init fits every call")

    # -- chains ---------------------------------------------------------------------

    def _variance_factor(self, layer: LayerFacts, input_moment: float) -> float | None:
        w = layer.weight
        if w.std is None or w.mean is None or layer.scale_free:
            return None
        return theory.variance_factor(layer.fan_in, theory.Distribution(w.family, w.std, w.mean), input_moment)

    def _compute_chains(self) -> dict[str, Chain]:
        """Each layer's most extreme chain, over at most _MAX_PATHS paths from the chains' starts.

        Paths are linked lists and are searched for cycles only when the layers have
        one, so a 10,000-layer stack is judged in linear time.
        """
        preds: dict[str, int] = {}
        for layer in self.model.layers:
            for link in layer.successors:
                if link.target in self.layers:
                    preds[link.target] = preds.get(link.target, 0) + 1
        cyclic = _has_cycle(self.layers)
        best: dict[str, Chain] = {}
        paths = 0
        for start in self.model.layers:
            if preds.get(start.name) or not start.successors or start.kind not in JUDGED_KINDS:
                continue
            up = start.upstream or IDENTITY
            first = self._variance_factor(start, up.second_moment)
            if first is None:
                continue
            stack: list[_Step] = [_Step(start.name, first, None)]
            while stack and paths < _MAX_PATHS:
                step = stack.pop()
                extended = False
                for link in self.layers[step.name].successors:
                    nxt = self.layers.get(link.target)
                    if nxt is None or nxt.kind not in JUDGED_KINDS or cyclic and nxt.name in step.names():
                        continue
                    v = self._variance_factor(nxt, link.activation.second_moment * link.scale**2)
                    if v is not None:
                        stack.append(_Step(nxt.name, step.factor * v, step))
                        extended = True
                if not extended:
                    paths += 1
                    chain = Chain(step.names(), step.factor)
                    for name in chain.layers:
                        old = best.get(name)
                        if old is None or abs(math.log10(max(chain.factor, 1e-300))) > abs(
                            math.log10(max(old.factor, 1e-300))
                        ):
                            best[name] = chain
        return best

    def default_part(self, chain: Chain) -> Chain:
        """The chain's factor counting only the layers left at PyTorch's default."""
        found = self._default_parts.get(id(chain))  # chains are shared: by identity, not by 10k-name tuples
        if found is not None:
            return found
        factor = 1.0
        for i, name in enumerate(chain.layers):
            layer = self.layers[name]
            if layer.weight.origin != DEFAULT:
                continue
            if i == 0:
                moment = (layer.upstream or IDENTITY).second_moment
            else:
                prev = self.layers[chain.layers[i - 1]]
                link = next(link for link in prev.successors if link.target == name)
                moment = link.activation.second_moment * link.scale**2
            factor *= self._variance_factor(layer, moment) or 1.0
        self._default_parts[id(chain)] = found = Chain(chain.layers, factor)
        return found

    def chain(self, layer: LayerFacts) -> Chain | None:
        chain = self._chains.get(layer.name)
        return chain if chain is not None and len(chain.layers) >= 2 else None

    def is_deep_problem(self, chain: Chain | None) -> TypeGuard[Chain]:
        deep = self.settings[DEEP_FACTOR]
        return chain is not None and not (1 / deep <= chain.factor <= deep)

    def is_extreme(self, chain: Chain | None) -> TypeGuard[Chain]:
        extreme = self.settings[EXTREME_FACTOR]
        return chain is not None and not (1 / extreme <= chain.factor <= extreme)

    def depth_note(self, layer: LayerFacts) -> str:
        chain = self.chain(layer)
        if not self.is_deep_problem(chain):
            return ""
        note = f"; {chain.consequence}"
        if self.measurement_disagrees(chain):
            note += f" (predicted; one forward at init measured {fmt(self.measured_factor(chain))}x)"
        elif self.is_extreme(chain) and self.carried_by_model(chain):
            assert self.signal_deviation is not None  # carried_by_model says so
            note += (
                f"; through the whole model's dataflow (residual adds, norms, a small final layer being the "
                f"convention) its output keeps {fmt(self.signal_deviation.output)}x the second moment "
                f"variance-preserving inits give it"
            )
        return note

    # -- the whole model's signal (``shared.signal``) ------------------------------------------

    @cached_property
    def signal_deviation(self) -> signal.Deviation | None:
        """How the inits move the model's forward signal from the variance-preserving reference, node by
        node through the whole dataflow (None when the dataflow is unknown)."""
        nodes = self.model.signal
        if not nodes:
            return None
        moments = {layer.name: self._layer_moments(layer) for layer in self.model.layers}
        actual = signal.propagate(nodes, lambda name: moments.get(name, (1.0, 1.0))[0])
        reference = signal.propagate(nodes, lambda name: moments.get(name, (1.0, 1.0))[1])
        return signal.deviation(nodes, actual, reference)

    def _layer_moments(self, layer: LayerFacts) -> tuple[float, float]:
        """fan_in * E[w^2] of a layer as initialised, and at its variance-preserving std for the reference;
        a small final layer or residual-branch end is the convention, so the reference keeps it. A layer
        whose scale is unknown or irrelevant (weight-standardised) preserves the signal in both."""
        if layer.fan_in <= 0:
            return 1.0, 1.0
        w = layer.weight
        actual = None if w.std is None else layer.fan_in * (w.std**2 + (w.mean or 0.0) ** 2)
        expected = self.expected_std(layer) if layer.kind in JUDGED_KINDS and layer.scale else None
        preserving = None if expected is None else layer.fan_in * (expected / layer.scale) ** 2
        if actual is None or layer.scale_free:
            kept = preserving if preserving is not None else 1.0
            return kept, kept
        if preserving is None:
            return actual, actual
        return actual, min(actual, preserving) if layer.final or layer.residual_end else preserving

    def carried_by_model(self, chain: Chain) -> bool:
        """Whether the whole model's signal stays within ``extreme-factor`` of the reference where this
        extreme chain predicts it does not: at the output for a collapse (a residual stream or a norm
        carries the signal past a small branch), at every node for an explosion."""
        found = self.signal_deviation
        if found is None:
            return False
        extreme = self.settings[EXTREME_FACTOR]
        return found.largest <= extreme if chain.factor > 1 else found.output >= 1 / extreme

    def in_residual_branch(self, layer: LayerFacts) -> bool:
        """The layer's output, or its chain's, is added to a skip path: a small signal there is the
        convention (GPT-2's scaled projections, layer scale, zero-init residuals), not a collapse."""
        chain = self.chain(layer)
        return layer.residual_end or chain is not None and self.layers[chain.layers[-1]].residual_end

    def measurement_disagrees(self, chain: Chain) -> bool:
        """The forward at init did not show the change the chain predicts (within ``deep-factor``)."""
        measured = self.measured_factor(chain)
        deep = self.settings[DEEP_FACTOR]
        return measured is not None and 1 / deep <= measured <= deep

    # -- context of a layer ---------------------------------------------------------------

    def norm_nearby(self, layer: LayerFacts) -> bool:
        """A normalization follows the layer, or the next layer, before any damage compounds."""
        if layer.norm_after:
            return True
        return bool(layer.successors) and all(
            self.layers[link.target].norm_after for link in layer.successors if link.target in self.layers
        )

    @staticmethod
    def is_smooth(act: Activation | None) -> bool:
        """GELU, SiLU and other activations without a stable gain (low severity)."""
        return act is not None and act.family in (theory.SMOOTH, theory.CUSTOM)

    def targets(self, layer: LayerFacts) -> list[Activation]:
        """The activations a layer's init may be matched to.

        The activation after the layer; when there is none (a linear or final
        layer), the one feeding its input too: under fan_in, He's factor comes
        from the input's activation, so He-ReLU on a logits layer after a ReLU
        is right.
        """
        act = layer.downstream
        if act is None or act.role == "gate" and act.family != theory.RECTIFIER:
            # A product's factors: a sigmoid or tanh gate is judged by its saturation (IL204); q and k
            # times rotary tables, SwiGLU's halves have no gain to keep. A ReLU'd value a gate scales
            # (highway's transform) keeps the ReLU's.
            return []
        if act.name == "identity" or act.role == "output":
            found = [IDENTITY]
            if act.role == "output" and act.name != "identity":
                found.append(act)
            if layer.upstream is not None and layer.upstream.name != "identity":
                found.append(layer.upstream)
            return found
        return [act]

    def expected_std(self, layer: LayerFacts) -> float | None:
        """The variance-preserving std for the layer's activation, with the true fan_in."""
        targets = self.targets(layer)
        if not targets or layer.fan_in <= 0:
            return None
        return theory.expected_std(recommended_gain(targets[0]), layer.fan_in)

    @staticmethod
    def predicted_rms(layer: LayerFacts) -> float | None:
        """The output RMS the init predicts for the measured input: sqrt(rms(x)^2 std(W)^2 fan_in + E[b^2]),
        the weights' mean aside (None when the layer was not measured or a std is unknown)."""
        w, b = layer.weight, layer.bias
        if layer.input_rms is None or w.std is None or layer.fan_in <= 0 or layer.scale_free:
            return None
        bias_moment = 0.0 if b is None else (b.std or 0.0) ** 2 + (b.mean or 0.0) ** 2
        return math.sqrt((layer.input_rms * w.std) ** 2 * layer.fan_in + bias_moment)

    def measured_factor(self, chain: Chain) -> float | None:
        """How the forward at init changed the signal's second moment over the chain, measured: the last
        layer's output over the first one's input (None when not measured)."""
        first, last = self.layers[chain.layers[0]], self.layers[chain.layers[-1]]
        if not first.input_rms or last.measured_rms is None:
            return None
        return (last.measured_rms / first.input_rms) ** 2

    def fan_out_moves_signal(self, layer: LayerFacts) -> bool:
        """Whether kaiming's mode='fan_out' changes this layer's forward signal (IL203): no normalization
        after it, not the last layer, and fan_in and fan_out differ by more than ``scale-tolerance``."""
        if layer.final or layer.fan_in <= 0 or layer.fan_out <= 0 or self.norm_nearby(layer):
            return False
        tolerance = self.settings[SCALE_TOLERANCE]
        return not 1 / tolerance <= math.sqrt(layer.fan_in / layer.fan_out) <= tolerance

    def std_band(self, layer: LayerFacts) -> tuple[float, float] | None:
        """The variance-preserving stds of the layer: for each activation it may be matched to, by
        fan_in (the forward signal), and by fan_out (the backward one) when a normalization follows and
        keeps the forward signal whatever the scale (torchvision's fan_out ResNets) or the layer is the
        last, whose output only the loss reads (DCGAN's 4x4 512->1 discriminator head). None when it
        has no target."""
        backward = layer.fan_out if layer.final or self.norm_nearby(layer) else 0
        fans = [f for f in (layer.fan_in, backward) if f > 0]
        band = [theory.expected_std(recommended_gain(a), f) for a in self.targets(layer) for f in fans]
        return (min(band), max(band)) if band else None

    def accepts_gain(self, layer: LayerFacts, gain: float, mode: str | None) -> bool:
        """Whether an init of this gain fits the layer (IL101's test): within the gain
        tolerance of the recommended gain of one of its target activations (or of
        the backward gain, in fan_out mode)."""
        targets = self.targets(layer)
        accepted = [recommended_gain(a) for a in targets]
        if mode == "fan_out":
            accepted += [a.backward_gain for a in targets]
        tolerance = math.log(self.settings[GAIN_TOLERANCE])
        return any(gain > 0 and g > 0 and abs(math.log(gain / g)) <= tolerance for g in accepted)

    def new_init(self, layer: LayerFacts, family: str, mode: str | None) -> NewInit | GainInit | None:
        """The init that gives the layer its recommended gain: the kaiming call (keeping the init's family
        and mode), He-ReLU's for an activation torch cannot name whose gain is within ``gain-tolerance`` of
        sqrt(2) (GELU, Mish), else ``normal_`` with the gain as a named constant (SiLU)."""
        targets = self.targets(layer)
        if not targets:
            return None
        function = "kaiming_uniform_" if family == "uniform" else "kaiming_normal_"
        kept = mode if mode == "fan_out" else None
        named = nonlinearity_of(targets[0])
        if named is not None:
            return NewInit(function, named[0], named[1], kept)
        act = targets[0]
        if act.family != theory.SMOOTH:
            return None  # a custom activation: its gain is the user's to choose
        gain = recommended_gain(act)
        if abs(math.log(gain / theory.torch_gain("relu"))) <= math.log(self.settings[GAIN_TOLERANCE]):
            return NewInit(function, "relu", None, kept)
        return GainInit(f"{re.sub(r'[^0-9A-Za-z]+', '_', act.name).upper()}_GAIN", round(gain, 4), act.name)

    def rewrite(
        self, layer: LayerFacts, site: Span | None, new: NewInit | GainInit | None, applicability: str
    ) -> FixIntent | None:
        """Rewrite the call at ``site`` for the layers it initialises.

        The call gets the init most of its layers need; a layer that init does not fit gets an override
        after the statement that runs the call (unsafe); where that is impossible (a layer reached only
        by an index, which depends on the constructor's arguments), no fix. Whichever of its layers asks,
        the answer is the same, so the findings of one call agree on one fix. Every fix is re-judged
        (``rejudged``): one that would leave a finding on a layer it changes is not offered.
        """
        if site is None or new is None:
            return None
        mixed = self.mixed_calls(layer)
        if mixed is not None:
            return mixed
        method = layer.weight.last is not None and layer.weight.last.function.startswith("Tensor.")
        key = (site, new, applicability, method)
        if key not in self._rewrites:  # the call's other layers ask the same: it is planned (and re-judged) once
            self._rewrites[key] = self._rewrite(layer, site, new, applicability, method)
        return self._rewrites[key]

    def _rewrite(
        self, layer: LayerFacts, site: Span, new: NewInit | GainInit, applicability: str, method: bool
    ) -> FixIntent:
        sharing = [other for other in self.initialised_at(site) if other.kind in JUDGED_KINDS] or [layer]
        mode = new.mode if isinstance(new, NewInit) else None
        family = "uniform" if isinstance(new, NewInit) and new.function == "kaiming_uniform_" else "normal"
        needs = [self.new_init(other, family, mode) for other in sharing]
        named = [n for n in needs if n is not None]
        # By how many layers need it, then in the layers' order: any layer's finding gets the same fix.
        candidates = sorted(dict.fromkeys([*named, new]), key=lambda n: -named.count(n))
        reason = ""
        for candidate in candidates:
            # A layer that needs this very init is no misfit: what is left (torch's fans) is IL202's to fix.
            misfits = [(o, n) for o, n in zip(sharing, needs) if n != candidate and not self.fits(o, candidate)]
            if not misfits:
                return self.rejudged(RewriteCall(site, candidate, applicability, tensor_method=method))
            reason = self._override_problem(misfits)
            if not reason:
                overrides = tuple(Override(o.name, n) for o, n in misfits if n is not None)
                fix = RewriteCall(site, candidate, UNSAFE, method, self.model.name, overrides)
                return self.rejudged(fix)
        return NoFix(reason)

    def _override_problem(self, misfits: list[tuple[LayerFacts, NewInit | GainInit | None]]) -> str:
        """Why the layers the call's new init does not fit cannot get overrides ("" when they can)."""
        shown = ", ".join(o.name for o, _ in misfits[:3]) + (", ..." if len(misfits) > 3 else "")
        need = f"need{'s' if len(misfits) == 1 else ''}"
        if self.model.kind != "class":
            return f"this call also initialises {shown}, which {need} a different init: split it by layer"
        for other, wanted in misfits:
            if wanted is None or any(part.isdigit() for part in other.name.split(".")):
                return (
                    f"this call also initialises {shown}, which {need} a different init and cannot be "
                    f"named for every constructor argument: split it by layer (or activation) before fixing"
                )
        return ""

    def fits(self, layer: LayerFacts, new: NewInit | GainInit) -> bool:
        """Whether the init is right for the layer by IL101's and IL201's judgment: its gain (or, for a
        final projection, its std within ``FINAL_TOLERANCE``) and its std with the fans it reads."""
        if not layer.paired or not self.targets(layer):
            return True
        if isinstance(new, GainInit):
            return self._std_fits(layer, new.gain / math.sqrt(max(1, _torch_fan_in(layer))))
        gain = theory.torch_gain(new.nonlinearity, new.a)
        std = gain / math.sqrt(max(1, _torch_fan(layer, new.mode)))
        if self.accepts_gain(layer, gain, new.mode):
            return self._std_fits(layer, std) or layer.final
        projection = layer.final and self.targets(layer)[0].name == "identity"
        expected = self.expected_std(layer)
        return projection and expected is not None and 1 / FINAL_TOLERANCE <= std / expected <= FINAL_TOLERANCE

    def _std_fits(self, layer: LayerFacts, std: float) -> bool:
        band = self.std_band(layer)
        tolerance = self.settings[SCALE_TOLERANCE]
        return band is None or band[0] / tolerance <= std * abs(layer.scale) <= band[1] * tolerance

    def rejudged(self, fix: RewriteCall | InsertInit) -> FixIntent:
        """The fix if the rules, run again on the facts it would produce (each layer's std from the fans
        the new init reads), find nothing on the layers it changes; else why it is not offered."""
        if not self.rejudge or isinstance(fix.new, (SetMode, ExplicitInit)):
            return fix
        changed: dict[str, NewInit | GainInit]
        if isinstance(fix, InsertInit):
            site, changed = fix.anchor, {t.name: fix.new for t in fix.targets}
        else:
            site, changed = fix.site, {o.name: fix.new for o in self.initialised_at(fix.site)}
            changed.update({o.layer: o.new for o in fix.overrides})
        layers = tuple(
            _with_init(layer, changed[layer.name], site) if layer.name in changed else layer
            for layer in self.model.layers
        )
        after = ModelView(replace(self.model, layers=_unmeasured(layers)), self.settings, rejudge=False)
        from . import MODEL_RULES  # the catalogue imports this module

        for rule in MODEL_RULES:
            assert rule.check is not None
            for verdict in rule.check(after):
                if rule.code == "IL202" and isinstance(verdict.fix, RewriteCall):
                    continue  # torch's fans: the next run's IL202 fix writes the true ones
                if verdict.layer is not None and verdict.layer.name in changed:
                    return NoFix(
                        f"after {fix.new.describe()} {rule.code} would still report {verdict.layer.name}: "
                        f"split the call by layer"
                    )
        return fix

    def initialised_at(self, site: Span) -> list[LayerFacts]:
        """The layers whose deciding init is the call at ``site`` (indexed once: a loop may init 10,000)."""
        if self._by_init_site is None:
            self._by_init_site = {}
            for other in self.model.layers:
                if other.weight.last is not None and other.weight.last.site is not None:
                    self._by_init_site.setdefault(other.weight.last.site, []).append(other)
        return self._by_init_site.get(site, [])

    def attribute_site(self, layer: LayerFacts) -> Span | None:
        """Where the model assigned the attribute that holds the layer (``self.body = ...``)."""
        return self._attribute_sites.get(layer.name.split(".")[0])

    def assigned_together(self, layer: LayerFacts) -> list[LayerFacts]:
        """The layers of this layer's kind that the statement assigning it assigned."""
        if self._assigned_groups is None:
            self._assigned_groups = {}
            for other in self.model.layers:
                key = (self.attribute_site(other), other.kind)
                self._assigned_groups.setdefault(key, []).append(other)
        return self._assigned_groups.get((self.attribute_site(layer), layer.kind), [layer])

    def severity(self, base: str, layer: LayerFacts, act: Activation | None, absorbed: bool = False) -> str:
        """The base severity, lowered where harmless, raised where the chain is extreme (unless the
        forward measured at init shows no such change)."""
        chain = self.chain(layer)
        if self.is_extreme(chain) and not self.measurement_disagrees(chain) and not self.carried_by_model(chain):
            return ERROR
        if absorbed or self.is_smooth(act):
            return INFO
        return base


# How far a final projection's std may be from the right one before its gain matters (IL101).
FINAL_TOLERANCE = 1.5


def _torch_fan(layer: LayerFacts, mode: str | None) -> int:
    """The fan torch's kaiming reads in ``mode`` (torch's, not the true one: see IL202)."""
    fans = theory.torch_fans(layer.weight.shape)
    return fans.fan_out if mode == "fan_out" else fans.fan_in


def _torch_fan_in(layer: LayerFacts) -> int:
    return theory.torch_fans(layer.weight.shape).fan_in


def _with_init(layer: LayerFacts, new: NewInit | GainInit, site: Span | None) -> LayerFacts:
    """The layer as the new init leaves it: its std from the fans that init reads."""
    w = layer.weight
    if isinstance(new, GainInit):
        family, gain, mode = "normal", None, None
        std = new.gain / math.sqrt(max(1, _torch_fan_in(layer)))
        function = "init.normal_"
    else:
        family = "uniform" if new.function == "kaiming_uniform_" else "normal"
        gain, mode = theory.torch_gain(new.nonlinearity, new.a), new.mode
        std = gain / math.sqrt(max(1, _torch_fan(layer, new.mode)))
        function = f"init.{new.function}"
    step = InitStep(new.describe(), function, USER, site)
    weight = replace(w, family=family, std=std, mean=0.0, steps=(step,), gain=gain, mode=mode, measured=False)
    return replace(layer, weight=weight)


def _unmeasured(layers: tuple[LayerFacts, ...]) -> tuple[LayerFacts, ...]:
    """The layers without the forward measured at init: it measured the inits before the fix."""
    return tuple(replace(layer, input_rms=None, measured_rms=None) for layer in layers)


def judged_activation_label(layer: LayerFacts) -> str:
    act = layer.downstream
    if act is None:
        return "?"
    if act.name == "identity":
        return "no activation (final layer)" if layer.final else "no activation"
    return act.display


__all__ = [
    "Rule",
    "Example",
    "Expect",
    "StaticDiffers",
    "Threshold",
    "GAIN_TOLERANCE",
    "SCALE_TOLERANCE",
    "DEEP_FACTOR",
    "EXTREME_FACTOR",
    "Verdict",
    "Settings",
    "ModelView",
    "Chain",
    "recommended_gain",
    "std_for_gain",
    "fmt",
    "ERROR",
    "WARNING",
    "INFO",
    "nonlinearity_of",
    "judged_activation_label",
    "SAFE",
]
