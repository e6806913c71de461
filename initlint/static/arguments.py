"""argparse as a script run with no arguments sees it: every parser answers its defaults.

Full mode runs a script's statements with an empty command line, each parser
answering its defaults and required arguments as None
(``dynamic/scriptrun.py``). From source: ``argparse.ArgumentParser()`` is a
``Parser`` recording each ``add_argument``; ``parse_args()`` (and
``parse_known_args()``) gives a Namespace whose attributes are those defaults,
a string default passed through a builtin ``type`` as argparse does. A parser
handed to code that is not followed, or given an argument that cannot be read,
answers nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .literals import is_constant
from .names import Qual
from .values import UNKNOWN, Args, Instance, ListVal

_CONVERSIONS = {"builtins.int": int, "builtins.float": float, "builtins.str": str, "builtins.bool": bool}
_PARSE = frozenset({"parse_args", "parse_intermixed_args"})
_PARSE_KNOWN = frozenset({"parse_known_args", "parse_known_intermixed_args"})
_GROUPS = frozenset({"add_argument_group", "add_mutually_exclusive_group"})  # they add to their parser
_HARMLESS = frozenset({"print_help", "print_usage", "format_help", "format_usage", "error", "exit"})


@dataclass(frozen=True)
class Argument:
    """One ``add_argument``: its default, its ``type``, and whether it is required."""

    default: Any
    type: Any = None
    required: bool = False


@dataclass(eq=False)
class Parser:
    """An ``argparse.ArgumentParser``: its arguments by destination (the first one added wins)."""

    arguments: dict[str, Argument] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)  # set_defaults(...)
    known: bool = True


def is_parser_class(func: Qual) -> bool:
    return func.name == "argparse.ArgumentParser"


def namespace(args: Args) -> Any:
    """``argparse.Namespace(a=1)``."""
    if args.positional or not args.complete:
        return UNKNOWN
    return Instance(None, dict(args.keywords))


def parser_method(parser: Parser, name: str, args: Args) -> Any:
    """``parser.<name>(*args)``."""
    if name == "add_argument":
        _add_argument(parser, args)
        return UNKNOWN  # the Action: nothing reads it
    if name in _GROUPS:
        return parser
    if name == "set_defaults" and not args.positional and args.complete:
        parser.defaults.update(args.keywords)
        for dest, value in args.keywords.items():  # argparse: they replace the arguments' own defaults
            if dest in parser.arguments:
                parser.arguments[dest] = replace(parser.arguments[dest], default=value)
        return None
    if name in _PARSE:
        return _parsed(parser)
    if name in _PARSE_KNOWN:
        parsed = _parsed(parser)
        return (parsed, ListVal([])) if parsed is not UNKNOWN else UNKNOWN
    if name not in _HARMLESS:
        parser.known = False  # subparsers, parents...: what it answers is no longer known
    return UNKNOWN


def _parsed(parser: Parser) -> Any:
    """The Namespace of a run with no arguments (``dynamic/scriptrun.py`` answers the same)."""
    if not parser.known:
        return UNKNOWN
    values = {}
    for dest, argument in parser.arguments.items():
        value = None if argument.required else argument.default
        if isinstance(value, Qual) and value.name == "argparse.SUPPRESS":
            continue
        values[dest] = _converted(value, argument.type) if isinstance(value, str) else value
    for dest, value in parser.defaults.items():
        values.setdefault(dest, value)
    return Instance(None, values)


def _add_argument(parser: Parser, args: Args) -> None:
    flags, options = args.positional, args.keywords
    if not args.complete or not flags or not all(isinstance(f, str) for f in flags):
        parser.known = False
        return
    dest = options.get("dest", _dest(flags))
    action = options.get("action", "store")
    positional = not flags[0].startswith("-")
    required = options.get("required", positional and options.get("nargs") not in ("?", "*"))
    if not isinstance(dest, str) or not isinstance(action, str) or not isinstance(required, bool):
        parser.known = False
        return
    if action in ("help", "version"):
        return
    implicit = {"store_true": False, "store_false": True}.get(action)
    default = options.get("default", parser.defaults.get(dest, implicit))
    if not (is_constant(default) or isinstance(default, (ListVal, Instance, Qual))):
        default = UNKNOWN
    parser.arguments.setdefault(dest, Argument(default, options.get("type"), required))


def _dest(flags: tuple[Any, ...]) -> str:
    """argparse's destination: the first long option (or the first short one, or the name), dashes as underscores."""
    if not flags[0].startswith("-"):
        return str(flags[0])
    long = [f for f in flags if f.startswith("--")]
    return str(long[0] if long else flags[0]).lstrip("-").replace("-", "_")


def _converted(value: str, kind: Any) -> Any:
    """A string default through the argument's ``type``; kept as it is when the conversion fails, as full mode does."""
    if kind is None:
        return value
    convert = _CONVERSIONS.get(kind.name) if isinstance(kind, Qual) else None
    if convert is None:
        return UNKNOWN  # a function of the file's, a lambda: not run here
    try:
        return convert(value)
    except ValueError:
        return value
