"""What a rule wants changed in the source, before any source is read.

Pure data: the planner (``fix.plan``) locates it in the file with libcst.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..shared.facts import Span

SAFE = "safe"
UNSAFE = "unsafe"


@dataclass(frozen=True)
class NewInit:
    """The init to write: ``<prefix>.<function>(<tensor>, mode=..., nonlinearity=..., a=...)``."""

    function: str  # kaiming_normal_ | kaiming_uniform_
    nonlinearity: str  # a torch.nn.init.calculate_gain name
    a: float | None = None  # leaky_relu slope
    mode: str | None = None  # fan_out, kept from the original; None: the default fan_in

    def describe(self) -> str:
        args = [f"mode='{self.mode}'"] if self.mode else []
        args.append(f"nonlinearity='{self.nonlinearity}'")
        if self.a is not None:
            args.append(f"a={self.a:g}")
        return f"{self.function}({', '.join(args)})"


@dataclass(frozen=True)
class GainInit:
    """``normal_(<tensor>, std=<CONSTANT> / math.sqrt(<tensor>[0].numel()))``: an activation's gain that
    ``calculate_gain`` cannot name (GELU, SiLU, Mish), as a named module-level constant; ``<tensor>[0]``
    holds one output's inputs, so the std follows the layer's fan_in whatever its size."""

    constant: str  # SILU_GAIN
    gain: float  # 1 / sqrt(E[f(z)^2]), z ~ N(0, 1)
    activation: str  # as the comment names it: SiLU

    def describe(self) -> str:
        return f"normal_(std={self.constant} / sqrt(fan_in))"


@dataclass(frozen=True)
class SetMode:
    """The same kaiming call, reading the other of torch's fans: the one that equals the fan it meant.

    Every other argument stays as written."""

    mode: str | None  # "fan_out"; None: kaiming's default, fan_in (the argument is dropped)

    def describe(self) -> str:
        return f"mode='{self.mode or 'fan_in'}'"


@dataclass(frozen=True)
class ExplicitInit:
    """An init with its scale written out, for a weight whose fans torch computes wrongly:
    ``normal_(w, std=...)`` or ``uniform_(w, a=..., b=...)``."""

    function: str  # normal_ | uniform_
    arguments: tuple[tuple[str, str], ...]  # (keyword, source expression), in the order written

    def describe(self) -> str:
        return f"{self.function}({', '.join(f'{name}={value}' for name, value in self.arguments)})"


@dataclass(frozen=True)
class Override:
    """An init for one layer that a shared call serves badly: written in ``model.__init__`` right after
    the statement that runs the shared call (the loop, ``self.apply(fn)``, ``helper(self)``)."""

    layer: str  # qualified name, attributes only (``head``, ``decoder.out``): the same for every size
    new: NewInit | GainInit


@dataclass(frozen=True)
class RewriteCall:
    """Replace the init call at ``site`` (an nn.init call or a tensor method) with ``new``; then, in
    ``model``, the ``overrides`` for the layers the new call does not fit."""

    site: Span
    new: NewInit | SetMode | ExplicitInit | GainInit
    applicability: str
    tensor_method: bool = False  # `w.data.normal_(...)` rather than `nn.init.normal_(w, ...)`
    model: str = ""  # the class whose __init__ gets the overrides
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class Target:
    """A layer an inserted init covers, and where the source made it."""

    name: str  # qualified name from named_modules()
    layer_type: str  # its class name, `Linear`
    built: Span | None  # its constructor call, `nn.Linear(...)`: how the file spells the class
    attached: Span | None  # where it joined its parent: `self.fc = ...`, `nn.Sequential(*layers)`


@dataclass(frozen=True)
class InsertInit:
    """Add explicit inits for layers that kept PyTorch's default, right after the statement
    that assigned them (``anchor``): every layer of their kind that statement assigns, so the
    fix holds whatever sizes the model is built with."""

    path: str  # the file defining the model
    model: str  # the class whose source gets the statements
    targets: tuple[Target, ...]
    new: NewInit | GainInit
    anchor: Span | None  # the statement that assigned the layers' top-level attribute
    applicability: str

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets)


@dataclass(frozen=True)
class DeleteStatement:
    """Remove the statement that is the init call at ``site`` (whole lines; ``pass`` where the block
    would be left empty): an init whose values a later one replaces."""

    site: Span
    applicability: str


@dataclass(frozen=True)
class NoFix:
    """Why no fix is offered, for the message (one call serving layers that need different inits)."""

    reason: str


FixIntent = RewriteCall | InsertInit | DeleteStatement | NoFix
