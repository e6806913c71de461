"""Init calls and tensor writes found in source, and the ``ParamInit`` they fold into.

Mirrors what ``record`` observes at run time: the same call texts, effects and
distributions, computed from literal arguments. An argument that is not a
literal makes the written distribution unknown, so no rule judges its scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..shared import theory, writes
from ..shared.facts import DEFAULT, InitStep, ParamInit, Span
from ..shared.knowledge.params import bind
from ..shared.knowledge.values import INIT_FUNCTIONS, TENSOR_WRITES
from ..shared.theory import Distribution
from ..shared.writes import SiteKey, Write, call_text, final_state, site_key
from .literals import is_number
from .values import UNKNOWN

# nn.init functions: (parameters after the tensor, generator left out; their defaults), from the knowledge table.
INIT_SIGNATURES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    name: (f.arguments, f.defaults) for name, f in INIT_FUNCTIONS.items()
}
WRITES = set(TENSOR_WRITES)

# PyTorch's default for Linear and Conv*: what reset_parameters() calls.
_DEFAULT_CALL = "kaiming_uniform_(a=2.23607)"


def fmt(value: Any) -> str:
    """A value as ``record`` shows it in a call: floats to 6 significant digits."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def describe(function: str, arguments: dict[str, Any], written: Callable[[str], str] | None = None) -> str:
    """``kaiming_normal_(mode='fan_out', nonlinearity='relu')``, as full mode writes it;
    an argument whose value is unknown appears as written (``written(name)``, "?" if not given)."""

    def show(name: str, value: Any) -> str:
        if value is not UNKNOWN:
            return fmt(value)
        return written(name) if written is not None else "?"

    return call_text(function, arguments, INIT_SIGNATURES[function][1], show)


@dataclass(frozen=True)
class Origin:
    """How a tensor was made (``torch.randn(o, i) * c``, ``torch.empty(...)``) before any write."""

    dist: Distribution | None
    step: InitStep | None
    shape: tuple[int, ...] | None


@dataclass(eq=False)
class ParamState:
    """One parameter as construction leaves it: its shape and every write, in order."""

    shape: tuple[int, ...] | None
    writes: list[Write] = field(default_factory=list)
    origin: Origin | None = None

    def add(self, write: Write) -> None:
        self.writes.append(write)


def _known_args(arguments: dict[str, Any]) -> bool:
    return all(v is not UNKNOWN for v in arguments.values())


def init_write(function: str, arguments: dict[str, Any], shape: tuple[int, ...] | None, step: InitStep) -> Write:
    """The write ``nn.init.<function>(tensor, **arguments)`` makes on a tensor of ``shape``."""
    effect = "partial" if step.partial else "set"
    if shape is None or not _known_args(arguments):
        return Write(effect, step)
    return writes.init_write(function, arguments, shape, step, effect)


def method_call_text(name: str, positional: tuple[Any, ...], written: Callable[[int], str]) -> str:
    """``.normal_(0, 0.01)``: positional arguments only, as ``record`` shows them (``written(index)``, the
    source text, if not literal)."""
    parts = [fmt(a) if a is not UNKNOWN else written(index) for index, a in enumerate(positional)]
    return f".{name}({', '.join(parts)})"


def method_write(name: str, positional: tuple[Any, ...], keywords: dict[str, Any], step: InitStep) -> Write:
    """The write an in-place tensor method (``w.data.normal_(0, 0.01)``) makes; ``copy_`` of a
    tensor not followed sets unknown values."""
    arguments = bind(TENSOR_WRITES[name].params, positional, keywords)
    return writes.method_write(name, {k: float(v) if is_number(v) else None for k, v in arguments.items()}, step)


def default_weight_write(shape: tuple[int, ...], site: Span | None) -> Write:
    """PyTorch's reset_parameters() for Linear/Conv*: kaiming_uniform_(a=sqrt(5))."""
    step = InitStep(_DEFAULT_CALL, "init.kaiming_uniform_", DEFAULT, site)
    return init_write("kaiming_uniform_", theory.DEFAULT_INIT_ARGS, shape, step)


def default_bias_write(weight_shape: tuple[int, ...], bias_shape: tuple[int, ...], site: Span | None) -> Write:
    """The bias default: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) with torch's fan_in."""
    fan_in = theory.torch_fans(weight_shape).fan_in
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return default_write("uniform_", {"a": -bound, "b": bound}, bias_shape, site)


def default_write(function: str, arguments: dict[str, Any], shape: tuple[int, ...] | None, site: Span | None) -> Write:
    """``nn.init.<function>`` as a torch constructor calls it (made at ``site``, the constructor's call)."""
    step = InitStep(describe(function, arguments), f"init.{function}", DEFAULT, site)
    return init_write(function, arguments, shape, step)


# -- the final state --------------------------------------------------------------------


def noted_sites(state: ParamState) -> set[SiteKey]:
    """The call sites that fully wrote this parameter (as ``record`` counts them)."""
    keys = (site_key(w.step) for w in state.writes if w.effect != "partial")
    return {key for key in keys if key is not None}


def param_init(state: ParamState, generic_sites: set[SiteKey]) -> ParamInit:
    """The final distribution of a parameter and the steps that made it."""
    origin = state.origin
    return final_state(
        state.shape or (),
        origin.dist if origin else None,
        origin.step if origin else None,
        state.writes,
        lambda step: site_key(step) in generic_sites,
    )
