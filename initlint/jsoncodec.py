"""Frozen dataclasses to JSON and back, the shape checked against the type hints on read.

The cache stores what analysis learnt as plain JSON: reading an entry can
never run code (as unpickling can), and an entry of the wrong shape (another
version's, a truncated or planted one) raises ``ShapeError``, which the
cache treats as a miss.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from functools import lru_cache
from typing import Any, TypeVar

T = TypeVar("T")


class ShapeError(ValueError):
    """The JSON does not have the shape the type asks for."""


def dumps(value: object) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))


def loads(text: str | bytes, kind: Any) -> Any:
    """The value of type ``kind`` that ``text`` encodes; ShapeError when it does not."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ShapeError(f"not JSON: {error}") from error
    return _decode(data, kind, "$")


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, frozenset):
        return sorted((_plain(v) for v in value), key=repr)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot encode {type(value).__name__}")


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(data: object, kind: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if kind is Any or kind is object:  # a free-form scalar (LayerFacts.extra values)
        if data is None or isinstance(data, (str, int, float, bool)):
            return data
        raise ShapeError(f"{where}: expected a scalar")
    if kind is type(None):
        if data is None:
            return None
        raise ShapeError(f"{where}: expected null")
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(kind):
            try:
                return _decode(data, option, where)
            except ShapeError:
                continue
        raise ShapeError(f"{where}: matches no type of {kind}")
    if origin in (tuple, frozenset):
        if not isinstance(data, list):
            raise ShapeError(f"{where}: expected a list")
        args = typing.get_args(kind)
        if origin is frozenset or (len(args) == 2 and args[1] is Ellipsis):
            items = [_decode(item, args[0], f"{where}[{i}]") for i, item in enumerate(data)]
        elif len(args) == len(data):
            items = [_decode(item, arg, f"{where}[{i}]") for i, (item, arg) in enumerate(zip(data, args))]
        else:
            raise ShapeError(f"{where}: expected {len(args)} items")
        return frozenset(items) if origin is frozenset else tuple(items)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _decode_dataclass(data, kind, where)
    return _decode_scalar(data, kind, where)


def _decode_dataclass(data: object, kind: type, where: str) -> Any:
    if not isinstance(data, dict):
        raise ShapeError(f"{where}: expected an object for {kind.__name__}")
    hints = _hints(kind)
    names = [f.name for f in dataclasses.fields(kind) if f.init]
    if set(data) != set(names):
        raise ShapeError(f"{where}: {kind.__name__} fields differ")
    return kind(**{name: _decode(data[name], hints[name], f"{where}.{name}") for name in names})


def _decode_scalar(data: object, kind: Any, where: str) -> Any:
    if kind is float and isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    if kind is int and isinstance(data, int) and not isinstance(data, bool):
        return data
    if kind in (str, bool) and type(data) is kind:
        return data
    raise ShapeError(f"{where}: expected {getattr(kind, '__name__', kind)}")
