"""What analysis learns about a model: plain frozen data, no torch objects.

The worker (or the static analyser) produces these; the rules read them. They
are picklable so they cross the process boundary and can be cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# Where an init came from.
DEFAULT = "default"  # PyTorch's own reset_parameters()
USER = "user"  # a call in the user's code
LIBRARY = "library"  # a call inside an installed package (e.g. transformers)

# Model statuses, as the JSON contract names them.
TRACED = "traced"
PARTIAL = "partial"
STATIC = "static"
SKIPPED = "skipped"
VARIANT = "variant"  # built the same model as another factory of its file: judged as that one
ERROR = "error"
# The detail of a class built inside another checked model: not checked on its own.
BUILDING_BLOCK = "building block of another checked model: judged inside it"


@dataclass(frozen=True)
class Span:
    """A source range: absolute path, 1-based lines and columns (characters)."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Activation:
    """An activation a layer is paired with.

    ``name`` is a key of ``theory.ACTIVATIONS`` for known activations, or the
    class/function name of a custom one (family ``custom``), whose gains were
    measured numerically. ``role`` says how its output is used: ``hidden``
    (feeds further layers), ``output`` (the model's output: a head's
    sigmoid/softmax), ``gate`` (multiplies another tensor, as in SE blocks
    and GLUs).
    """

    name: str
    params: tuple[tuple[str, float], ...] = ()
    second_moment: float = 1.0
    derivative_moment: float = 1.0
    family: str = "identity"
    role: str = "hidden"
    label: str = ""  # as written, e.g. "F.leaky_relu(negative_slope=0.1)"

    @property
    def forward_gain(self) -> float:
        return float(self.second_moment**-0.5)  # float ** float is typed Any (it may be complex); moments are >= 0

    @property
    def backward_gain(self) -> float:
        return float(self.derivative_moment**-0.5)

    @property
    def display(self) -> str:
        return self.label or self.name


IDENTITY = Activation("identity", label="none")
INPUT = Activation("identity", label="input")


@dataclass(frozen=True)
class InitStep:
    """One write to a parameter during construction."""

    call: str  # e.g. "kaiming_normal_(mode='fan_out', nonlinearity='relu')"
    function: str  # nn.init function or tensor method name
    origin: str  # DEFAULT | USER | LIBRARY
    site: Span | None
    library: str | None = None  # package name when origin is LIBRARY
    partial: bool = False  # wrote only part of the tensor (a slice)
    generic: bool = False  # the same call site initialised several parameters
    effect: str = "set"  # set | scale | shift | partial | unknown: what it did to the values
    region: tuple[int, int] | None = None  # elements [start, end) a partial write covered
    value: float | None = None  # the constant a partial write set, if any


@dataclass(frozen=True)
class ParamInit:
    """The final state of one parameter after construction."""

    shape: tuple[int, ...]
    family: str  # a theory.Distribution family, "unknown" or "uninitialized"
    std: float | None
    mean: float | None
    steps: tuple[InitStep, ...]
    gain: float | None = None  # gain the deciding init call assumed (xavier/kaiming/orthogonal)
    mode: str | None = None  # kaiming mode
    measured: bool = False  # std/mean measured from values, not derived from calls

    @property
    def last(self) -> InitStep | None:
        """The step that decided the values: the last full write."""
        full = [s for s in self.steps if s.effect in ("set", "unknown")]
        return full[-1] if full else (self.steps[-1] if self.steps else None)

    @property
    def origin(self) -> str:
        step = self.last
        return step.origin if step else USER  # no recorded write: user code built the values

    @property
    def is_constant(self) -> bool:
        return self.std == 0.0

    @property
    def display(self) -> str:
        step = self.last
        if step is None:
            return "uninitialized" if self.family == "uninitialized" else "unknown"
        if step.origin == DEFAULT:
            return f"PyTorch default {step.call}"
        if step.origin == LIBRARY and step.library:
            return f"{step.call} (set by {step.library}' init)"
        return step.call


@dataclass(frozen=True)
class Link:
    """A path from one weight layer to the next, for depth analysis."""

    target: str
    activation: Activation  # the activation on the way (IDENTITY if none)
    scale: float = 1.0  # constant factors multiplied on the way


@dataclass(frozen=True)
class LayerFacts:
    """A weight layer, its init and its place in the dataflow."""

    name: str  # qualified name from named_modules()
    layer_type: str
    weight: ParamInit
    bias: ParamInit | None
    fan_in: int  # true fans (see theory.true_fans)
    fan_out: int
    site: Span | None  # where the layer was constructed (`nn.Linear(...)`)
    assigned: Span | None = None  # the statement that attached it to its parent (`self.fc = ...`)
    kind: str = "dense"  # dense | conv | conv_transpose | embedding | recurrent | attention | custom
    paired: bool = False  # the dataflow was seen
    downstream: Activation | None = None  # activation the output flows into
    upstream: Activation | None = None  # activation feeding the input
    norm_after: bool = False  # a normalization lies between layer and activation
    norm_before: bool = False
    final: bool = False  # output reaches the model's output with no further layer
    residual_end: bool = False  # output is added to a skip connection
    scale: float = 1.0  # constant factor between the layer and its activation
    successors: tuple[Link, ...] = ()  # next layers in the same unnormalized chain
    # What each call fed, in order: several for a layer called more than once, unpaired when they disagree.
    downstream_calls: tuple[Activation | None, ...] = ()
    layout_known: bool = True  # whether the weight is (out, in): a custom layer's only when probed (or square)
    params: tuple[tuple[str, ParamInit], ...] = ()  # every parameter, for recurrent and attention layers
    extra: tuple[tuple[str, object], ...] = ()  # kind-specific facts (groups, hidden size...)
    # The forward divides the weight by its own scale (weight standardisation, spectral norm): the
    # init's scale has no effect, so no rule judges it
    scale_free: bool = False
    # Layers whose outputs it is multiplied with into attention logits (q with k): judged by the softmax
    logits_with: tuple[str, ...] = ()
    feeds_itself: bool = False  # a hidden-to-hidden weight: its output comes back as its input, step after step
    # Measured in one forward at init on random inputs (full mode, models with real values): the RMS of
    # the layer's input and of its output (before any activation) at its first call
    input_rms: float | None = None
    measured_rms: float | None = None

    def get(self, key: str, default: object = None) -> object:
        return dict(self.extra).get(key, default)


@dataclass(frozen=True)
class SignalNode:
    """One node of a model's dataflow as the signal model reads it (``shared.signal``): its kind (the
    ``shared.graph`` kinds), its inputs (indices of earlier nodes), the layer or activation it is, and
    a constant factor for a scaling."""

    kind: str
    inputs: tuple[int, ...] = ()
    layer: str = ""
    activation: Activation | None = None
    factor: float = 1.0


@dataclass(frozen=True)
class ModelFacts:
    """Everything learnt about one model."""

    path: str  # absolute path of the file defining it
    name: str  # class or factory name
    line: int  # where it is defined
    status: str  # TRACED | PARTIAL | STATIC | SKIPPED | VARIANT | ERROR
    detail: str = ""
    layers: tuple[LayerFacts, ...] = ()
    error: AnalysisProblem | None = None
    # (path, qualname) of every module class inside it: who is a building block
    component_classes: frozenset[tuple[str, str]] = frozenset()
    attributes: tuple[tuple[str, Span], ...] = ()  # where each direct child was assigned (self.fc = ...)
    kind: str = "class"  # class | factory: only a class has an __init__ to insert fixes into
    built_by: str = "no-arguments"  # no-arguments | factory | config | call-site: how it was constructed
    built_at: Span | None = None  # the statement that built it (call-site)
    needs: tuple[str, ...] = ()  # skipped: the constructor arguments it could not be given
    variant_of: str = ""  # variant: the model of its file it builds the same as (``dynamic.variants``)
    signal: tuple[SignalNode, ...] = ()  # its forward's dataflow, every traced part (``shared.signal``)


# How a model was built, when not by its class's own check (``Class()`` or ``Class(Config())``).
BUILT_ELSEWHERE = frozenset({"factory", "config", "call-site"})


@dataclass(frozen=True)
class ModelSpec:
    """A model to build besides a file's classes: a factory or a configured entry."""

    name: str  # as reported: "resnet18", "ResNet(depth=50)"
    attribute: str  # dotted attribute of the module to call
    kwargs: tuple[tuple[str, object], ...] = ()
    line: int = 0
    built_by: str = "factory"  # factory | config | call-site (a script's own construction statement)
    replaces: str = ""  # the class it builds, not checked again on its own (a call site builds it)


class ProblemKind(str, Enum):
    """What went wrong when analysing a file or a model (each kind is reported by one IL9xx rule)."""

    SYNTAX_ERROR = "syntax-error"
    DECODE_ERROR = "decode-error"
    IMPORT_ERROR = "import-error"
    MISSING_DEPENDENCY = "missing-dependency"  # the import failed for a module that is not installed
    SCRIPT_FAILED = "script-failed"  # a script's slice (what builds its models) raised: it is read instead
    CONSTRUCTION_ERROR = "construction-error"
    TIMEOUT = "timeout"
    CRASH = "crash"
    INTERNAL_ERROR = "internal-error"


@dataclass(frozen=True)
class AnalysisProblem:
    """Why a file or a model could not be (fully) analysed."""

    kind: ProblemKind
    message: str
    span: Span | None = None

    def __post_init__(self) -> None:
        # A kind given by its value ("timeout") is converted; an unknown one raises ValueError here,
        # where it is made, instead of being reported as something else later.
        object.__setattr__(self, "kind", ProblemKind(self.kind))


@dataclass(frozen=True)
class FileFacts:
    path: str  # absolute
    models: tuple[ModelFacts, ...] = ()
    problem: AnalysisProblem | None = None  # the whole file failed (syntax, import...)
    digest: str | None = None  # sha256 of the bytes analysed: fixes apply only to exactly these
    # (absolute path, sha256 of the bytes executed) of every project file the analysis loaded,
    # this one included: a cached result is valid only while all of them are unchanged.
    loaded: tuple[tuple[str, str], ...] = ()
    # Why importing the file failed, when its models were then analysed from source instead
    # (their status is static; IL909 says so). None when the file was analysed as asked.
    static_fallback: str | None = None
