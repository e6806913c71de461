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
class RewriteCall:
    """Replace the init call at ``site`` (an nn.init call or a tensor method) with ``new``."""

    site: Span
    new: NewInit
    applicability: str
    tensor_method: bool = False  # `w.data.normal_(...)` rather than `nn.init.normal_(w, ...)`


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
    new: NewInit
    anchor: Span | None  # the statement that assigned the layers' top-level attribute
    applicability: str

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.targets)


@dataclass(frozen=True)
class NoFix:
    """Why no fix is offered, for the message (one call serving layers that need different inits)."""

    reason: str


FixIntent = RewriteCall | InsertInit | NoFix
