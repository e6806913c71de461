"""Constant folding: Python's operators and pure functions applied to known values.

Anything that is not a plain constant (or that would raise, or explode in size)
folds to ``UNKNOWN``.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any, TypeGuard

from ..shared import theory
from .values import UNKNOWN, ListVal

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_, ast.BitXor: operator.xor,
}  # fmt: skip
_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_, ast.Invert: operator.invert,
}  # fmt: skip
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: operator.contains(b, a),
    ast.NotIn: lambda a, b: not operator.contains(b, a),
}  # fmt: skip

_CONSTANT_TYPES = (int, float, complex, str, bytes, bool, type(None))
_MAX_SIZE = 10_000  # longest string/tuple folding may build (``"x" * 10**9`` stays unknown)


def is_constant(value: Any) -> bool:
    """A plain Python constant, or a tuple of them."""
    if isinstance(value, tuple):
        return all(is_constant(v) for v in value)
    return isinstance(value, _CONSTANT_TYPES)


def is_number(value: Any) -> TypeGuard[float]:
    """An int or a float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _sized(value: Any) -> Any:
    if isinstance(value, (str, bytes, tuple)) and len(value) > _MAX_SIZE:
        return UNKNOWN
    if isinstance(value, int) and value.bit_length() > 4096:
        return UNKNOWN
    return value


def _too_big(op: ast.operator, left: Any, right: Any) -> bool:
    """Whether an integer operation's result would pass the size folding accepts, before computing it.

    0, 1 and -1 stay small whatever the exponent or shift (and Python computes them at once).
    """
    small = isinstance(left, int) and left in (0, 1, -1)
    if isinstance(op, ast.Pow) and is_number(right) and not small:
        bits = left.bit_length() if isinstance(left, int) and not isinstance(left, bool) else 64
        return abs(right) > 4096 or bits * abs(right) > 4096
    if isinstance(op, ast.LShift) and isinstance(right, int) and left != 0:
        return right + (left.bit_length() if isinstance(left, int) else 64) > 4096
    return False


def binary(op: ast.operator, left: Any, right: Any) -> Any:
    fn = _BINARY.get(type(op))
    if fn is None or not (is_constant(left) and is_constant(right)):
        return UNKNOWN
    if _too_big(op, left, right):
        return UNKNOWN  # `1 << 10**9` in a user's file must not exhaust memory
    if isinstance(op, ast.Mult) and isinstance(left, (str, bytes, tuple)) and is_number(right) and right > _MAX_SIZE:
        return UNKNOWN
    try:
        return _sized(fn(left, right))
    except (ArithmeticError, TypeError, ValueError):
        return UNKNOWN


def unary(op: ast.unaryop, value: Any) -> Any:
    fn = _UNARY.get(type(op))
    if fn is None or not is_constant(value):
        return UNKNOWN
    try:
        return fn(value)
    except (ArithmeticError, TypeError, ValueError):
        return UNKNOWN


def compare(op: ast.cmpop, left: Any, right: Any) -> Any:
    """``left op right`` for constants (and ``in`` a known list); identity tests are the caller's."""
    fn = _COMPARE.get(type(op))
    if isinstance(right, ListVal) and isinstance(op, (ast.In, ast.NotIn)) and right.known:
        if not all(is_constant(v) for v in right.items):
            return UNKNOWN
        right = tuple(right.items)
    if fn is None or not (is_constant(left) and is_constant(right)):
        return UNKNOWN
    try:
        return bool(fn(left, right))
    except (TypeError, ValueError):
        return UNKNOWN


def truth(value: Any) -> bool | None:
    """Python truthiness of a constant, or None when it cannot be known."""
    if is_constant(value):
        return bool(value)
    if isinstance(value, ListVal) and value.known:
        return bool(value.items)
    return None


def _calculate_gain(nonlinearity: Any, param: Any = None) -> Any:
    try:
        return theory.torch_gain(nonlinearity, param)
    except (ValueError, TypeError):
        return UNKNOWN


# Pure functions folded when every argument is a constant, by canonical name.
PURE: dict[str, Callable[..., Any]] = {
    **{f"math.{name}": getattr(math, name) for name in (
        "sqrt", "log", "log2", "log10", "exp", "pow", "floor", "ceil", "prod", "isqrt", "gcd",
        "fabs", "cos", "sin", "tan", "tanh", "atan", "erf", "lcm")},
    **{f"numpy.{name}": getattr(math, name) for name in ("sqrt", "log", "exp", "floor", "ceil", "prod")},
    "builtins.abs": abs, "builtins.min": min, "builtins.max": max, "builtins.int": int,
    "builtins.float": float, "builtins.bool": bool, "builtins.round": round, "builtins.str": str,
    "builtins.divmod": divmod, "builtins.pow": pow, "builtins.sum": sum, "builtins.len": len,
    "builtins.tuple": tuple, "builtins.sorted": lambda *a, **k: tuple(sorted(*a, **k)),
    "torch.nn.init.calculate_gain": _calculate_gain,
}  # fmt: skip
PURE_CONSTANTS: dict[str, Any] = {
    "math.pi": math.pi, "math.e": math.e, "math.tau": math.tau, "math.inf": math.inf,
    "numpy.pi": math.pi, "numpy.e": math.e,
}  # fmt: skip


def fold_call(name: str, positional: tuple[Any, ...], keywords: dict[str, Any]) -> Any:
    """A pure function applied to constants; UNKNOWN if it is not one or would raise."""
    fn = PURE.get(name)
    if fn is None or not all(is_constant(v) for v in (*positional, *keywords.values())):
        return UNKNOWN
    try:
        return _sized(fn(*positional, **keywords))
    except (ArithmeticError, TypeError, ValueError):
        return UNKNOWN


def fold_method(
    method: Callable[..., Any], receiver: Any, positional: tuple[Any, ...], keywords: dict[str, Any]
) -> Any:
    """A method of a constant (``"conv".find("Conv")``) applied to constants."""
    try:
        result = method(receiver, *positional, **keywords)
    except (ArithmeticError, TypeError, ValueError):
        return UNKNOWN
    return _sized(tuple(result) if isinstance(result, list) else result)
