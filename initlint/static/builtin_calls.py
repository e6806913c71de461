"""Python builtins the interpreter runs itself: range, len, zip, enumerate, isinstance, getattr...

Pure ones (abs, min, math.sqrt...) fold in ``literals``; these need the
interpreter, to list a container's items or resolve an attribute.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from . import literals
from .names import Qual
from .objects import ModuleObj
from .values import UNKNOWN, Args, DictVal, ListVal

if TYPE_CHECKING:
    from .interp import Interpreter

MAX_RANGE = 10_000


def _range(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    if (
        args.complete
        and not args.keywords
        and all(isinstance(v, int) for v in args.positional)
        and 1 <= len(args.positional) <= 3
    ):
        try:
            values = range(*args.positional)
        except ValueError:
            return UNKNOWN
        return tuple(values) if len(values) <= MAX_RANGE else UNKNOWN
    return UNKNOWN


def _len(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    if len(args.positional) != 1:
        return UNKNOWN
    items = interp.iterate(args.positional[0])
    return len(items) if items is not None else UNKNOWN


def _enumerate(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    items = interp.iterate(args.positional[0]) if args.positional else None
    start = args.positional[1] if len(args.positional) > 1 else args.keywords.get("start", 0)
    if items is None or not isinstance(start, int):
        return UNKNOWN
    return tuple((start + i, item) for i, item in enumerate(items))


def _zip(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    lists = [interp.iterate(v) for v in args.positional]
    if not args.complete or any(items is None for items in lists):
        return UNKNOWN
    return tuple(zip(*lists))


def _list(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    if not args.positional:
        return ListVal([])
    items = interp.iterate(args.positional[0])
    return ListVal(items) if items is not None else ListVal([], known=False)


def _tuple(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    if not args.positional:
        return ()
    items = interp.iterate(args.positional[0])
    return tuple(items) if items is not None else UNKNOWN


def _reversed(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    items = interp.iterate(args.positional[0]) if len(args.positional) == 1 else None
    return tuple(reversed(items)) if items is not None else UNKNOWN


def _dict(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    result = DictVal(dict(args.keywords), known=args.complete)
    if args.positional:
        pairs = interp.iterate(args.positional[0])
        if isinstance(args.positional[0], DictVal) and args.positional[0].known:
            result.items.update(args.positional[0].items)
        elif pairs is not None and all(
            isinstance(p, tuple) and len(p) == 2 and literals.is_constant(p[0]) for p in pairs
        ):
            result.items.update(dict(pairs))
        else:
            result.known = False
    return result


def _isinstance(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    if len(args.positional) != 2:
        return UNKNOWN
    return interp.isinstance_of(*args.positional)


def _getattr(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    if len(args.positional) in (2, 3) and isinstance(args.positional[1], str):
        return interp.attribute(args.positional[0], args.positional[1], node)
    return interp.unknown_selection(args.positional[0], node) if args.positional else UNKNOWN


def _hasattr(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    if len(args.positional) == 2 and isinstance(args.positional[0], ModuleObj) and isinstance(args.positional[1], str):
        module, name = args.positional
        if name in module.attrs or name in module.children or name in module.params:
            return True
    return UNKNOWN


def _setattr(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    if len(args.positional) == 3 and isinstance(args.positional[1], str):
        interp.set_attribute(args.positional[0], args.positional[1], args.positional[2], node)
        return None
    return interp.call_unknown(Qual("builtins.setattr"), args, node)


def _type(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    if len(args.positional) == 1 and isinstance(args.positional[0], ModuleObj):
        return args.positional[0].cls
    return UNKNOWN


def _nothing(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    return None


def _ordered_dict(interp: Interpreter, args: Args, node: ast.Call) -> Any:
    return _dict(interp, args, node)


BUILTIN_CALLS = {
    "builtins.range": _range, "builtins.len": _len, "builtins.enumerate": _enumerate, "builtins.zip": _zip,
    "builtins.list": _list, "builtins.tuple": _tuple, "builtins.reversed": _reversed, "builtins.dict": _dict,
    "builtins.isinstance": _isinstance, "builtins.getattr": _getattr, "builtins.hasattr": _hasattr,
    "builtins.setattr": _setattr, "builtins.type": _type, "builtins.print": _nothing,
    "collections.OrderedDict": _ordered_dict, "warnings.warn": _nothing,
}  # fmt: skip
